package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth/berth/internal/fsutil"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/netsetup/ipam"
	"github.com/berth/berth/netsetup/link"
	"github.com/berth/berth/netsetup/nat"
	"github.com/google/nftables"
)

// The default network (netsetup): the bridge berth0 on DefaultSubnet,
// leases under /var/lib/berth/networks, and the nftables table "ip berth".
// `berth __init` allocates the container's address before it forks the
// container, attaches the container's network namespace afterwards and
// before the command runs; `__cleanup` removes its port rules and
// releases the lease. The veth pair goes away with the namespace.

func onBridge(rec *machine.Container) bool {
	return rec.Options.Network == "" || rec.Options.Network == machine.NetworkBridge
}

func networksDir(root string) string { return filepath.Join(root, "networks") }

// allocateAddress leases the container's address on the default network.
func allocateAddress(root string, rec *machine.Container) (netip.Addr, error) {
	a := ipam.New(ipam.NewDiskStore(networksDir(root)))
	addr, err := a.Allocate(machine.DefaultBridge, rec.ID, machine.DefaultSubnet, netip.Addr{})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: %w", machine.DefaultBridge, err)
	}
	return addr, nil
}

// connect makes sure the bridge and its rules exist (under a lock, as
// other containers start at the same time), puts the container whose
// PID 1 is pid on it with addr, and publishes its ports.
func connect(root string, rec *machine.Container, pid int, addr netip.Addr) (err error) {
	if err := os.MkdirAll(networksDir(root), 0o700); err != nil {
		return err
	}
	lock, err := fsutil.LockFile(filepath.Join(networksDir(root), machine.DefaultBridge+".lock"), true)
	if err != nil {
		return err
	}
	conn, err := nftables.New()
	if err != nil {
		lock.Unlock()
		return fmt.Errorf("nftables: %w", err)
	}
	gw := ipam.Gateway(machine.DefaultSubnet)
	err = setupBridge(conn, gw)
	lock.Unlock()
	if err != nil {
		return err
	}
	hostIf, err := link.AttachContainer(machine.DefaultBridge, rec.ID, fmt.Sprintf("/proc/%d/ns/net", pid), "eth0",
		netip.PrefixFrom(addr, machine.DefaultSubnet.Bits()), gw)
	if err != nil {
		return fmt.Errorf("network %s: %w", machine.DefaultBridge, err)
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
		if err := nat.AddPorts(conn, rec.ID, ports); err != nil {
			return fmt.Errorf("publish ports: %w", err)
		}
	}
	return nil
}

func setupBridge(conn *nftables.Conn, gw netip.Addr) error {
	if err := link.EnsureBridge(machine.DefaultBridge, netip.PrefixFrom(gw, machine.DefaultSubnet.Bits())); err != nil {
		return fmt.Errorf("network %s: %w", machine.DefaultBridge, err)
	}
	if err := link.EnableForwarding(); err != nil {
		return err
	}
	if err := link.EnableRouteLocalnet(machine.DefaultBridge); err != nil {
		return err
	}
	if err := nat.EnsureBase(conn, machine.DefaultBridge, machine.DefaultSubnet); err != nil {
		return fmt.Errorf("network %s: %w", machine.DefaultBridge, err)
	}
	return nil
}

// disconnect removes the container's port rules and releases its lease;
// both are idempotent.
func disconnect(root string, rec *machine.Container) error {
	var errs []string
	if len(rec.Options.Publish) > 0 {
		if conn, err := nftables.New(); err == nil {
			if err := nat.RemovePorts(conn, rec.ID); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if err := ipam.New(ipam.NewDiskStore(networksDir(root))).Release(machine.DefaultBridge, rec.ID); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("network %s: %s", machine.DefaultBridge, strings.Join(errs, "; "))
	}
	return nil
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
