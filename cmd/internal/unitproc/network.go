package unitproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/nsinit"
	"github.com/berth/berth/machine/systemd"
	"github.com/berth/berth/netsetup/ipam"
	"github.com/berth/berth/netsetup/link"
	"github.com/berth/berth/netsetup/nat"
	"github.com/berth/berth/netsetup/network"
	"github.com/berth/berth/netsetup/ports"
	"github.com/google/nftables"
)

// Networks (netsetup): the default bridge berth0 and the user networks
// of `berth network create`, each a bridge with leases under
// /var/lib/berth/networks/<bridge>, its definition under
// /var/lib/berth/networks/defs, and its rules in the nftables table
// "ip berth". `berth __init` allocates the container's address before it
// forks the container, attaches the container's network namespace
// afterwards and before the command runs; `__cleanup` removes its port
// rules and releases the lease. The veth pair goes away with the
// namespace. A user network also has a DNS responder (netsetup/dns),
// socket-activated by systemd on its gateway address.

// NetworksDir is where networks keep their state.
func NetworksDir(root string) string { return filepath.Join(root, "networks") }

// NetworkStore is the networks' store, the default bridge network on the
// subnet of berth.toml (network.DefaultSubnet when that is unreadable:
// NetworkStoreChecked says why, where it matters).
func NetworkStore(root string) *network.Store {
	s, _ := NetworkStoreChecked(root)
	return s
}

// NetworkStoreChecked is networkStore, with berth.toml's error.
func NetworkStoreChecked(root string) (*network.Store, error) {
	s := network.NewStore(filepath.Join(NetworksDir(root), "defs"))
	subnet, err := defaultSubnet()
	if err != nil {
		return s, err
	}
	return s.WithDefaultSubnet(subnet), nil
}

// ContainerNetwork returns the bridge network rec joins; ok is false
// for --network none and host.
func ContainerNetwork(root string, rec *machine.Container) (n network.Network, ok bool, err error) {
	name := rec.Options.Network
	if _, shared := machine.SharedNetwork(name); shared {
		return network.Network{}, false, nil
	}
	switch name {
	case machine.NetworkNone, machine.NetworkHost:
		return network.Network{}, false, nil
	case "":
		name = network.Bridge
	}
	store, err := NetworkStoreChecked(root)
	if err != nil {
		return network.Network{}, false, err
	}
	n, err = store.Get(name)
	if err != nil {
		return network.Network{}, false, err
	}
	return n, true, nil
}

// allocateAddress leases the container's address on n (--ip when given).
func allocateAddress(root string, rec *machine.Container, n network.Network) (netip.Addr, error) {
	a := ipam.New(ipam.NewDiskStore(NetworksDir(root)))
	var want netip.Addr
	if rec.Options.IP != "" {
		want, _ = netip.ParseAddr(rec.Options.IP)
	}
	addr, err := a.Allocate(n.Bridge, rec.ID, n.Subnet, want)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: %w", n.Name, err)
	}
	return addr, nil
}

// connect makes sure n's bridge and rules exist (under a lock, as other
// containers start at the same time), puts the container whose PID 1 is
// pid on it with addr, publishes its ports, and makes sure a user
// network's DNS responder listens.
func connect(root string, rec *machine.Container, n network.Network, pid int, addr netip.Addr) (err error) {
	if err := os.MkdirAll(NetworksDir(root), 0o700); err != nil {
		return err
	}
	lock, err := fsutil.LockFile(filepath.Join(NetworksDir(root), n.Bridge+".lock"), true)
	if err != nil {
		return err
	}
	conn, err := nftables.New()
	if err != nil {
		lock.Unlock()
		return fmt.Errorf("nftables: %w", err)
	}
	err = setupBridge(conn, n)
	lock.Unlock()
	if err != nil {
		return err
	}
	hostIf, err := link.AttachContainer(n.Bridge, rec.ID, fmt.Sprintf("/proc/%d/ns/net", pid), "eth0",
		netip.PrefixFrom(addr, n.Subnet.Bits()), n.Gateway)
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	defer func() {
		if err != nil {
			link.DetachContainer(hostIf)
		}
	}()
	var ports []nat.Port
	for _, p := range rec.Options.Publish {
		np := nat.Port{Proto: p.Proto, HostPort: p.HostPort, ContainerIP: addr, ContainerPort: p.ContainerPort, Count: p.Count}
		if p.HostIP != "" {
			np.HostIP = netip.MustParseAddr(p.HostIP)
		}
		ports = append(ports, np)
	}
	if len(ports) > 0 {
		if err := claimPorts(root, rec.ID, ports); err != nil {
			return err
		}
		if err := nat.AddPorts(conn, rec.ID, ports); err != nil {
			return fmt.Errorf("publish ports: %w", err)
		}
	}
	if n.IsUser() {
		if err := ensureDNS(root, n); err != nil {
			return fmt.Errorf("network %s: name service: %w", n.Name, err)
		}
	}
	return nil
}

func setupBridge(conn *nftables.Conn, n network.Network) error {
	if err := link.EnsureBridge(n.Bridge, netip.PrefixFrom(n.Gateway, n.Subnet.Bits())); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := link.EnableForwarding(); err != nil {
		return err
	}
	if err := link.EnableRouteLocalnet(n.Bridge); err != nil {
		return err
	}
	if err := nat.EnsureBase(conn, n.Bridge, n.Subnet, n.Internal); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	return nil
}

// Disconnect removes the container's port rules, deletes its veth (the
// kernel would, once its namespace is gone, but asynchronously: a
// container removed right after must leave no link) and releases its
// lease on n; all are idempotent.
func Disconnect(root string, rec *machine.Container, n network.Network) error {
	nft := &lastingNft{}
	defer nft.close()
	return disconnectWith(root, rec, n, nft)
}

// disconnectWith is disconnect with the nftables connection nft, which
// the caller closes: the rules are gone once their deletion is
// committed, but closing a netlink socket that deleted rules waits for
// an RCU grace period (5 to 15 ms here), so __cleanup closes it only
// once the container's record says it ended.
func disconnectWith(root string, rec *machine.Container, n network.Network, nft *lastingNft) error {
	var errs []string
	if err := link.DetachContainer(link.HostIfName(rec.ID)); err != nil {
		errs = append(errs, err.Error())
	}
	if len(rec.Options.Publish) > 0 {
		if conn, err := nft.conn(); err == nil {
			if err := nat.RemovePorts(conn, rec.ID); err != nil {
				errs = append(errs, err.Error())
			}
		} else {
			errs = append(errs, err.Error())
		}
		if err := PortStore(root).Release(rec.ID); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := ipam.New(ipam.NewDiskStore(NetworksDir(root))).Release(n.Bridge, rec.ID); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("network %s: %s", n.Name, strings.Join(errs, "; "))
	}
	return nil
}

// PortStore holds the host ports containers have claimed.
func PortStore(root string) *ports.Store {
	return ports.NewStore(filepath.Join(NetworksDir(root), "ports"))
}

// claimPorts claims the host ports of a container's published ports: a
// port another container publishes, or one a host process listens on,
// is refused with Docker's message before the command starts. A claim
// whose container is gone or has exited (its cleanup never ran) is
// taken over.
func claimPorts(root, id string, published []nat.Port) error {
	var want []ports.Port
	for _, p := range published {
		for i := uint16(0); i < max(p.Count, 1); i++ {
			want = append(want, ports.Port{Proto: p.Proto, IP: p.HostIP, Num: p.HostPort + i})
		}
	}
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return err
	}
	stale := func(owner string) bool {
		rec, err := cs.Load(owner)
		return err != nil || rec.State.Status == machine.StatusExited
	}
	if err := PortStore(root).Claim(id, want, stale); err != nil {
		return err
	}
	for _, p := range want {
		if err := HostPortFree(p); err != nil {
			PortStore(root).Release(id)
			return err
		}
	}
	return nil
}

// HostPortFree binds the port for a moment: a host process that listens
// on it would never see its traffic once berth DNATs it away.
func HostPortFree(p ports.Port) error {
	ip := "0.0.0.0"
	if p.IP.IsValid() {
		ip = p.IP.String()
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(int(p.Num)))
	var err error
	if p.Proto == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("cannot publish %s: %w", p, err)
	}
	return nil
}

// AttachExtra connects the running container (its PID 1 is pid) to one
// more user network as ifName: a lease (c.IP when given), the bridge and
// its rules, the veth without a default route, and the DNS responder.
// On failure the lease is released.
func AttachExtra(root string, rec *machine.Container, c machine.ConnectedNetwork, pid int, ifName string) (err error) {
	n, err := NetworkStore(root).Get(c.Name)
	if err != nil {
		return err
	}
	a := ipam.New(ipam.NewDiskStore(NetworksDir(root)))
	var want netip.Addr
	if c.IP != "" {
		want, _ = netip.ParseAddr(c.IP)
	}
	addr, err := a.Allocate(n.Bridge, rec.ID, n.Subnet, want)
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	defer func() {
		if err != nil {
			a.Release(n.Bridge, rec.ID)
		}
	}()
	lock, err := fsutil.LockFile(filepath.Join(NetworksDir(root), n.Bridge+".lock"), true)
	if err != nil {
		return err
	}
	conn, err := nftables.New()
	if err == nil {
		err = setupBridge(conn, n)
	}
	lock.Unlock()
	if err != nil {
		return err
	}
	hostIf, err := link.AttachExtra(n.Bridge, rec.ID, fmt.Sprintf("/proc/%d/ns/net", pid), ifName, netip.PrefixFrom(addr, n.Subnet.Bits()))
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := ensureDNS(root, n); err != nil {
		link.DetachContainer(hostIf)
		return fmt.Errorf("network %s: name service: %w", n.Name, err)
	}
	return nil
}

// releaseExtra releases the leases of the networks a container was
// connected to (its veths went with its namespace).
func releaseExtra(root string, rec *machine.Container) error {
	var errs []error
	for _, c := range rec.Options.Connected {
		n, err := NetworkStore(root).Get(c.Name)
		if err != nil {
			continue // removed: its leases went with it
		}
		errs = append(errs, link.DetachContainer(link.ExtraHostIfName(rec.ID, n.Bridge)))
		errs = append(errs, ipam.New(ipam.NewDiskStore(NetworksDir(root))).Release(n.Bridge, rec.ID))
	}
	return errors.Join(errs...)
}

// DNSUnit is the socket unit of n's DNS responder.
func DNSUnit(n network.Network) string { return "berth-dns-" + n.Name + ".socket" }

// ensureDNS makes systemd listen on n's gateway, port 53, for
// `berth __dns` (see netsetup/dns).
func ensureDNS(root string, n network.Network) error {
	exe, err := CLIPath()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := systemd.Connect(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	addr := netip.AddrPortFrom(n.Gateway, 53).String()
	return m.EnsureSocket(ctx, DNSUnit(n), "berth DNS of network "+n.Name,
		[]systemd.Listen{{Kind: "Datagram", Address: addr}, {Kind: "Stream", Address: addr}},
		[]machine.Property{
			{Name: "Description", Value: "berth DNS of network " + n.Name},
			{Name: "ExecStart", Value: machine.ExecCommand{Path: exe, Argv: []string{exe, "--root", root, "__dns", n.Name}}},
			{Name: "CollectMode", Value: "inactive-or-failed"},
		})
}

// resolvConf is the container's /etc/resolv.conf: on a user network the
// network's DNS responder (then --dns servers, tried when it does not
// answer); --dns servers; the host's own with --network host; else the
// host's resolvers. The host's search and options lines are kept.
func resolvConf(rec *machine.Container, n network.Network, onNet bool) string {
	if rec.Options.Network == machine.NetworkHost && len(rec.Options.DNS) == 0 {
		b, _ := os.ReadFile("/etc/resolv.conf")
		return string(b)
	}
	var servers []string
	if onNet && n.IsUser() {
		servers = append(servers, n.Gateway.String())
	}
	servers = append(servers, rec.Options.DNS...)
	host := hostResolvConf()
	if len(servers) == 0 {
		return host
	}
	var b strings.Builder
	for _, l := range strings.Split(host, "\n") {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "search" || f[0] == "options" || f[0] == "domain") {
			b.WriteString(l + "\n")
		}
	}
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	return b.String()
}

// sharedNetwork sets cfg up to join the network namespace of the
// container whose network rec shares (--network container:OTHER), with
// OTHER's address and resolver configuration. OTHER must be running.
func sharedNetwork(cs *machine.Containers, rec *machine.Container, cfg *nsinit.Config) error {
	otherID, _ := machine.SharedNetwork(rec.Options.Network)
	other, err := cs.Load(otherID)
	if err != nil {
		return fmt.Errorf("network container:%s: %w", otherID, err)
	}
	if !other.IsRunning() {
		return fmt.Errorf("cannot join network of a non running container: %s: %w", other.Name, errdefs.ErrConflict)
	}
	cfg.NetNS = fmt.Sprintf("/proc/%d/ns/net", other.State.Pid)
	cfg.Address = other.State.IPAddress
	if b, err := os.ReadFile(filepath.Join(cs.Dir(other.ID), "resolv.conf")); err == nil {
		cfg.ResolvConf = string(b)
	}
	return nil
}

// extraHosts turns --add-host into /etc/hosts lines; host-gateway is the
// gateway of the container's network (the default bridge's without one).
func extraHosts(rec *machine.Container, n network.Network, onNet bool) []string {
	gw := network.DefaultSubnet.Addr().Next()
	if subnet, err := defaultSubnet(); err == nil {
		gw = subnet.Addr().Next()
	}
	if onNet {
		gw = n.Gateway
	}
	var out []string
	for _, h := range rec.Options.ExtraHosts {
		name, ip, err := machine.ParseAddHost(h)
		if err != nil {
			continue // validated at create
		}
		if ip == machine.HostGateway {
			ip = gw.String()
		}
		out = append(out, ip+"\t"+name)
	}
	return out
}

// hostResolvConf is the host's resolver configuration for containers:
// systemd-resolved's stub (127.0.0.53) is not reachable from a
// container's network, so its list of upstream servers is used then.
func hostResolvConf() string {
	for _, p := range []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		stub := false
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "nameserver" && strings.HasPrefix(f[1], "127.") {
				stub = true
			}
		}
		if !stub {
			return string(b)
		}
	}
	return ""
}

// lastingNft is one nftables connection (one netlink socket for every
// request), opened on first use.
type lastingNft struct{ c *nftables.Conn }

func (l *lastingNft) conn() (*nftables.Conn, error) {
	if l.c == nil {
		c, err := nftables.New(nftables.AsLasting())
		if err != nil {
			return nil, fmt.Errorf("nftables: %w", err)
		}
		l.c = c
	}
	return l.c, nil
}

func (l *lastingNft) close() {
	if l.c != nil {
		l.c.CloseLasting()
		l.c = nil
	}
}
