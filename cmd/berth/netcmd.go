package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/systemd"
	"github.com/berth/berth/netsetup/dns"
	"github.com/berth/berth/netsetup/ipam"
	"github.com/berth/berth/netsetup/link"
	"github.com/berth/berth/netsetup/nat"
	"github.com/berth/berth/netsetup/network"
	"github.com/coreos/go-systemd/v22/activation"
	"github.com/google/nftables"
	"github.com/spf13/cobra"
	"github.com/vishvananda/netlink"
)

// networkRow is a network as `network ls` and `network inspect` show it
// (Docker's field names).
type networkRow struct {
	ID       string            `json:"Id"`
	Name     string            `json:"Name"`
	Driver   string            `json:"Driver"`
	Scope    string            `json:"Scope"`
	Internal bool              `json:"Internal"`
	Created  time.Time         `json:"Created"`
	IPAM     map[string]any    `json:"IPAM"`
	Options  map[string]string `json:"Options"`
	Labels   map[string]string `json:"Labels"`
	// Containers: ID → name and address, of the running ones.
	Containers map[string]map[string]string `json:"Containers"`
}

func (r networkRow) ShortID() string { return r.ID[:12] }

func toRow(root string, n network.Network, withContainers bool) networkRow {
	r := networkRow{ID: n.ID, Name: n.Name, Driver: n.Driver, Scope: "local", Internal: n.Internal, Created: n.Created,
		Labels: n.Labels, Options: map[string]string{}, IPAM: map[string]any{"Driver": "default", "Config": []any{}}}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	if n.Bridge != "" {
		r.Options["com.docker.network.bridge.name"] = n.Bridge
		r.IPAM["Config"] = []map[string]string{{"Subnet": n.Subnet.String(), "Gateway": n.Gateway.String()}}
	}
	if withContainers {
		r.Containers = map[string]map[string]string{}
		if n.Bridge != "" {
			cs, _ := machine.OpenContainers(root)
			leases, _ := ipam.New(ipam.NewDiskStore(networksDir(root))).List(n.Bridge)
			for _, l := range leases {
				c := map[string]string{"IPv4Address": netip.PrefixFrom(l.Addr, n.Subnet.Bits()).String()}
				if cs != nil {
					if rec, err := cs.Load(l.Owner); err == nil {
						c["Name"] = rec.Name
					}
				}
				r.Containers[l.Owner] = c
			}
		}
	}
	return r
}

// hostRoutes are the destinations of the host's IPv4 routes that are not
// berth's own bridges', which a new network's subnet must not overlap.
func hostRoutes() []netip.Prefix {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil && strings.HasPrefix(l.Attrs().Name, "berth") {
			continue
		}
		if p, err := netip.ParsePrefix(r.Dst.String()); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func newNetworkCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	var subnet, gateway, driver string
	var internal, ignore bool
	var labels []string
	create := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network: a bridge of its own, NAT to the outside (unless --internal), and names resolved between its containers",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var o network.CreateOptions
			var err error
			if driver != "" && driver != "bridge" {
				return usageError{fmt.Errorf("network driver %q is not supported: berth has bridge networks", driver)}
			}
			if subnet != "" {
				if o.Subnet, err = netip.ParsePrefix(subnet); err != nil {
					return usageError{fmt.Errorf("invalid subnet %q: %v", subnet, err)}
				}
			}
			if gateway != "" {
				if o.Subnet == (netip.Prefix{}) {
					return usageError{errors.New("--gateway needs --subnet")}
				}
				if o.Gateway, err = netip.ParseAddr(gateway); err != nil {
					return usageError{fmt.Errorf("invalid gateway %q: %v", gateway, err)}
				}
			}
			o.Internal = internal
			if len(labels) > 0 {
				o.Labels = map[string]string{}
				for _, l := range labels {
					k, v, _ := strings.Cut(l, "=")
					o.Labels[k] = v
				}
			}
			store, err := networkStoreChecked(g.root)
			if err != nil {
				return usageError{err}
			}
			n, err := store.Create(args[0], o, hostRoutes())
			if ignore && errdefs.IsAlreadyExists(err) {
				return nil // podman's --ignore: an app's network oneshot
			}
			if errdefs.IsInvalid(err) || errdefs.IsAlreadyExists(err) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			emitNetwork("create", n)
			fmt.Fprintln(c.OutOrStdout(), n.ID)
			return nil
		},
	}
	create.Flags().StringVar(&subnet, "subnet", "", "Subnet in CIDR format (default: the next free 10.89.N.0/24)")
	create.Flags().StringVar(&gateway, "gateway", "", "IPv4 gateway for the subnet (default: its first address)")
	create.Flags().BoolVar(&internal, "internal", false, "Restrict external access to the network")
	create.Flags().StringVarP(&driver, "driver", "d", "bridge", "Driver to manage the network (bridge)")
	create.Flags().StringArrayVar(&labels, "label", nil, "Set metadata on a network")
	create.Flags().BoolVar(&ignore, "ignore", false, "Do nothing, successfully, if the network exists")

	var quiet, noTrunc bool
	var format string
	var filters []string
	ls := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			filter, err := parseObjectFilter("networks", filters, networkFilterKeys)
			if err != nil {
				return usageError{err}
			}
			all, err := filteredNetworks(g.root, filter)
			if err != nil {
				return err
			}
			def := "{{.ShortID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
			if noTrunc {
				def = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
			}
			if quiet {
				format = "{{.ShortID}}"
				if noTrunc {
					format = "{{.ID}}"
				}
			}
			f, err := newFormatter(c.OutOrStdout(), format, def, map[string]string{"ShortID": "NETWORK ID", "ID": "NETWORK ID"})
			if err != nil {
				return err
			}
			for _, n := range all {
				if err := f.row(toRow(g.root, n, false)); err != nil {
					return err
				}
			}
			return f.flush()
		},
	}
	ls.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Filter output based on conditions provided: name, id, label, driver, dangling, type (builtin|custom)")
	ls.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	ls.Flags().BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	ls.Flags().StringVar(&format, "format", "", "Format output: table, json, 'table TEMPLATE' or a Go template")

	var iformat string
	inspect := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var objs []any
			var errs []error
			for _, ref := range args {
				n, err := networkStore(g.root).Get(ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				b, _ := json.Marshal(toRow(g.root, n, true))
				var m map[string]any
				json.Unmarshal(b, &m)
				objs = append(objs, m)
			}
			if err := printInspect(c, objs, iformat); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	inspect.Flags().StringVarP(&iformat, "format", "f", "", "Format output using a Go template, or json")

	rm := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks; one a container is attached to is refused",
		Args:    minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var errs []error
			for _, ref := range args {
				if _, err := removeNetwork(g.root, ref); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), ref)
			}
			return errors.Join(errs...)
		},
	}
	var pruneForce bool
	prune := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all user networks no container uses",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if !pruneForce && !confirm(c, "WARNING! This will remove all custom networks not used by at least one container.") {
				return nil
			}
			removed, err := pruneNetworks(g.root)
			if err != nil {
				return err
			}
			if len(removed) > 0 {
				fmt.Fprintln(c.OutOrStdout(), "Deleted Networks:")
				for _, n := range removed {
					fmt.Fprintln(c.OutOrStdout(), n)
				}
			}
			return nil
		},
	}
	prune.Flags().BoolVarP(&pruneForce, "force", "f", false, "Do not prompt for confirmation")
	var aliases []string
	var ip string
	connect := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to one more user network (now if it runs, and at every start)",
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			return connectNetwork(h, args[0], args[1], machine.ConnectedNetwork{Aliases: aliases, IP: ip})
		},
	}
	connect.Flags().StringArrayVar(&aliases, "alias", nil, "Add a network-scoped alias for the container")
	connect.Flags().StringVar(&ip, "ip", "", "IPv4 address on the network")
	var dforce bool
	disconnect := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network it was connected to",
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			return disconnectNetwork(h, args[0], args[1], dforce)
		},
	}
	disconnect.Flags().BoolVarP(&dforce, "force", "f", false, "Do not error if the container is not connected")
	c.AddCommand(create, ls, inspect, rm, prune, connect, disconnect)
	return c
}

// connectNetwork records that the container joins network too and, if
// it runs, attaches it at once (as eth1, eth2…). The container's own
// network (--network) stays its first, with the default route.
func connectNetwork(h *host, netRef, ctrRef string, cn machine.ConnectedNetwork) error {
	rec, err := h.cs.Lookup(ctrRef)
	if err != nil {
		return err
	}
	n, err := networkStore(h.g.root).Get(netRef)
	if err != nil {
		return err
	}
	if !n.IsUser() {
		return usageError{fmt.Errorf("berth connects containers to user networks only, not to %s", n.Name)}
	}
	if rec.Options.Network == machine.NetworkHost || rec.Options.Network == machine.NetworkNone {
		return usageError{fmt.Errorf("container %s has network mode %s: it cannot be connected to another network", rec.Name, rec.Options.Network)}
	}
	if _, shared := machine.SharedNetwork(rec.Options.Network); shared {
		return usageError{fmt.Errorf("container %s shares another container's network: it cannot be connected to another network", rec.Name)}
	}
	if cn.IP != "" {
		a, err := netip.ParseAddr(cn.IP)
		if err != nil || !n.Subnet.Contains(a) {
			return usageError{fmt.Errorf("--ip %s is not an address of network %s's subnet %s", cn.IP, n.Name, n.Subnet)}
		}
	}
	cn.Name = n.Name
	var index int
	rec, err = h.cs.Update(rec.ID, func(r *machine.Container) error {
		if r.Options.Network == n.Name {
			return fmt.Errorf("container %s is already on network %s: %w", r.Name, n.Name, errdefs.ErrConflict)
		}
		for _, x := range r.Options.Connected {
			if x.Name == n.Name {
				return fmt.Errorf("container %s is already connected to network %s: %w", r.Name, n.Name, errdefs.ErrConflict)
			}
		}
		r.Options.Connected = append(r.Options.Connected, cn)
		index = len(r.Options.Connected)
		return nil
	})
	if err != nil {
		return err
	}
	if !rec.IsRunning() {
		return nil
	}
	root, _ := filepath.Abs(h.g.root)
	if err := attachExtra(root, rec, cn, rec.State.Pid, fmt.Sprintf("eth%d", index)); err != nil {
		h.cs.Update(rec.ID, func(r *machine.Container) error {
			r.Options.Connected = slices.DeleteFunc(r.Options.Connected, func(x machine.ConnectedNetwork) bool { return x.Name == n.Name })
			return nil
		})
		return err
	}
	return nil
}

// disconnectNetwork undoes connectNetwork.
func disconnectNetwork(h *host, netRef, ctrRef string, force bool) error {
	rec, err := h.cs.Lookup(ctrRef)
	if err != nil {
		return err
	}
	n, err := networkStore(h.g.root).Get(netRef)
	if err != nil {
		return err
	}
	if rec.Options.Network == n.Name || (n.Name == network.Bridge && rec.Options.Network == "") {
		return usageError{fmt.Errorf("%s is container %s's own network (--network): it stays until the container is removed", n.Name, rec.Name)}
	}
	found := false
	rec, err = h.cs.Update(rec.ID, func(r *machine.Container) error {
		before := len(r.Options.Connected)
		r.Options.Connected = slices.DeleteFunc(r.Options.Connected, func(x machine.ConnectedNetwork) bool { return x.Name == n.Name })
		found = len(r.Options.Connected) != before
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		if force {
			return nil
		}
		return fmt.Errorf("container %s is not connected to network %s: %w", rec.Name, n.Name, errdefs.ErrNotFound)
	}
	root, _ := filepath.Abs(h.g.root)
	return detachExtra(root, rec, n.Name)
}

// pruneNetworks removes the user networks no container uses and
// returns their names.
func pruneNetworks(root string) ([]string, error) {
	all, err := networkStore(root).List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range all {
		if !n.IsUser() {
			continue
		}
		if _, err := removeNetwork(root, n.Name); err == nil {
			removed = append(removed, n.Name)
		} else if !errdefs.IsConflict(err) {
			return removed, err
		}
	}
	return removed, nil
}

// removeNetwork removes a user network that no container uses (running
// or not: a stopped container would not start again without it), with
// its bridge, rules and DNS responder.
func removeNetwork(root, ref string) (network.Network, error) {
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return network.Network{}, err
	}
	n, err := networkStore(root).Remove(ref, func(n network.Network) error {
		recs, err := cs.List()
		if err != nil {
			return err
		}
		var users []string
		for _, r := range recs {
			if r.Options.Network == n.Name || r.Options.Network == n.ID ||
				slices.ContainsFunc(r.Options.Connected, func(c machine.ConnectedNetwork) bool { return c.Name == n.Name }) {
				users = append(users, r.Name)
			}
		}
		if len(users) > 0 {
			return fmt.Errorf("error while removing network: network %s is in use by container(s) %s: %w", n.Name, strings.Join(users, ", "), errdefs.ErrConflict)
		}
		if leases, _ := ipam.New(ipam.NewDiskStore(networksDir(root))).List(n.Bridge); len(leases) > 0 {
			return fmt.Errorf("error while removing network: network %s has active endpoints: %w", n.Name, errdefs.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if m, err := systemd.Connect(ctx); err == nil {
		unit := dnsUnit(n)
		errs = append(errs, m.Stop(ctx, unit), m.Stop(ctx, strings.TrimSuffix(unit, ".socket")+".service"))
		m.ResetFailed(ctx, unit)
		m.Close()
	}
	if conn, err := nftables.New(); err == nil {
		errs = append(errs, nat.RemoveBridge(conn, n.Bridge))
	}
	errs = append(errs, link.DeleteBridge(n.Bridge))
	os.RemoveAll(filepath.Join(networksDir(root), n.Bridge))
	os.Remove(filepath.Join(networksDir(root), n.Bridge+".lock"))
	emitNetwork("destroy", n)
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	return n, nil
}

func newDNSCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__dns NETWORK",
		Short:  "Answer DNS queries on a user network (started by its socket unit)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return serveDNS(g.root, args[0])
		},
	}
}

// dnsIdle is how long the DNS responder waits for a query before it
// exits; systemd starts it again on the next one.
const dnsIdle = 60 * time.Second

// serveDNS answers for network name on the sockets systemd passes.
func serveDNS(root, name string) error {
	n, err := networkStore(root).Get(name)
	if err != nil {
		return err
	}
	var pc net.PacketConn
	var ln net.Listener
	for _, f := range activation.Files(true) {
		if c, err := net.FilePacketConn(f); err == nil {
			pc = c
		} else if l, err := net.FileListener(f); err == nil {
			ln = l
		}
		f.Close()
	}
	if pc == nil && ln == nil {
		return fmt.Errorf("__dns %s: no sockets from systemd (run by %s)", name, dnsUnit(n))
	}
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return err
	}
	lookup := netLookup(root, n, cs)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return dns.Serve(ctx, pc, ln, lookup, dns.Upstream(hostNameservers(), 2*time.Second), dnsIdle)
}

// netLookup answers for the responder of network n: a name is looked up
// on every user network the asking container is on (n first, so that the
// address is one it can reach from where it asked), as Docker's embedded
// DNS does; a client that is no container of n gets n's names only.
// NAME.NETWORK asks one network.
func netLookup(root string, n network.Network, cs *machine.Containers) dns.Lookup {
	leases := ipam.New(ipam.NewDiskStore(networksDir(root)))
	store := networkStore(root)
	onNet := func(m network.Network, q string) []netip.Addr {
		ls, err := leases.List(m.Bridge)
		if err != nil {
			return nil
		}
		var out []netip.Addr
		for _, l := range ls {
			rec, err := cs.Load(l.Owner)
			if err != nil {
				continue
			}
			names := []string{rec.Name, machine.ShortID(rec.ID)}
			if rec.Options.Network == m.Name {
				names = append(names, rec.Options.NetworkAliases...)
			}
			for _, c := range rec.Options.Connected {
				if c.Name == m.Name {
					names = append(names, c.Aliases...)
				}
			}
			if slices.ContainsFunc(names, func(nm string) bool { return strings.EqualFold(nm, q) }) {
				out = append(out, l.Addr)
			}
		}
		return out
	}
	return func(q string, client netip.Addr) []netip.Addr {
		nets := []network.Network{n}
		if client.IsValid() {
			if owner, err := leases.Owner(n.Bridge, client); err == nil && owner != "" {
				if rec, err := cs.Load(owner); err == nil {
					var names []string
					if rec.Options.Network != n.Name && machine.IsUserNetwork(rec.Options.Network) {
						names = append(names, rec.Options.Network)
					}
					for _, c := range rec.Options.Connected {
						if c.Name != n.Name {
							names = append(names, c.Name)
						}
					}
					for _, name := range names {
						if m, err := store.Get(name); err == nil {
							nets = append(nets, m)
						}
					}
				}
			}
		}
		for _, m := range nets {
			if base, ok := strings.CutSuffix(q, "."+strings.ToLower(m.Name)); ok {
				return onNet(m, base)
			}
		}
		for _, m := range nets {
			if addrs := onNet(m, q); len(addrs) > 0 {
				return addrs
			}
		}
		return nil
	}
}

// hostNameservers are the host's resolvers that a process on the host
// can reach (systemd-resolved's stub included).
func hostNameservers() []netip.AddrPort {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []netip.AddrPort
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, netip.AddrPortFrom(a, 53))
			}
		}
	}
	return out
}

// filteredNetworks are the networks that pass filter.
func filteredNetworks(root string, filter objectFilter) ([]network.Network, error) {
	all, err := networkStore(root).List()
	if err != nil || len(filter) == 0 {
		return all, err
	}
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return nil, err
	}
	recs, err := cs.List()
	if err != nil {
		return nil, err
	}
	used := usedNetworks(recs)
	var out []network.Network
	for _, n := range all {
		if filter.match(networkFilterable(n, used)) {
			out = append(out, n)
		}
	}
	return out, nil
}
