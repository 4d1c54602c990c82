package link

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// HostIfName returns the host side name of a container's veth:
// "vb" and the first 8 hex digits of its ID.
func HostIfName(containerID string) string {
	if len(containerID) > 8 {
		containerID = containerID[:8]
	}
	return "vb" + containerID
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func notFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// EnsureBridge makes the bridge name exist with the address gateway (for
// example 10.88.0.1/16) and up. Idempotent; a link of that name that is
// not a bridge is an ErrConflict. A bridge it created is deleted again if
// a later step fails.
func EnsureBridge(name string, gateway netip.Prefix) (err error) {
	if !gateway.Addr().Is4() {
		return fmt.Errorf("bridge %s: gateway %s must be IPv4: %w", name, gateway, errdefs.ErrInvalid)
	}
	l, err := netlink.LinkByName(name)
	switch {
	case notFound(err):
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", name, err)
		}
		if l, err = netlink.LinkByName(name); err != nil {
			return fmt.Errorf("bridge %s: %w", name, err)
		}
		created := l
		defer func() {
			if err != nil {
				netlink.LinkDel(created)
			}
		}()
	case err != nil:
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	if _, ok := l.(*netlink.Bridge); !ok {
		return fmt.Errorf("link %s exists and is a %s, not a bridge: %w", name, l.Type(), errdefs.ErrConflict)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("bridge %s: list addresses: %w", name, err)
	}
	have := false
	for _, a := range addrs {
		if p, ok := netip.AddrFromSlice(a.IP); ok {
			ones, _ := a.Mask.Size()
			have = have || netip.PrefixFrom(p.Unmap(), ones) == gateway
		}
	}
	if !have {
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: ipnet(gateway)}); err != nil {
			return fmt.Errorf("bridge %s: add address %s: %w", name, gateway, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("bridge %s: up: %w", name, err)
	}
	return nil
}

// DeleteBridge deletes the bridge; a missing one is not an error.
func DeleteBridge(name string) error {
	l, err := netlink.LinkByName(name)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

// AttachContainer connects the network namespace at netnsPath (for
// example /proc/PID/ns/net) to bridge: a veth pair whose host side
// HostIfName(containerID) is a port of bridge and up, and whose peer is
// made in the namespace as ifName, given addr (and the MAC address
// MACFor(addr)), set up, with a default route via gateway; lo is set up
// too. It returns the host side's
// name. On failure nothing is left: deleting the host side deletes the
// peer wherever it is.
func AttachContainer(bridge, containerID, netnsPath, ifName string, addr netip.Prefix, gateway netip.Addr) (hostIf string, err error) {
	if len(containerID) < 8 {
		return "", fmt.Errorf("container ID %q: too short: %w", containerID, errdefs.ErrInvalid)
	}
	if !gateway.Is4() {
		return "", fmt.Errorf("attach %s: gateway %s must be IPv4: %w", containerID, gateway, errdefs.ErrInvalid)
	}
	return attach(bridge, containerID, HostIfName(containerID), netnsPath, ifName, addr, gateway)
}

// ExtraHostIfName is the host side of a container's veth on a network it
// was connected to besides its own (`berth network connect`): "vb", 8 hex
// digits of its ID, "n" and the digits of the bridge's name (berthN).
func ExtraHostIfName(containerID, bridge string) string {
	if len(containerID) > 8 {
		containerID = containerID[:8]
	}
	suffix := strings.TrimLeft(bridge, "abcdefghijklmnopqrstuvwxyz")
	if len(suffix) > 4 {
		suffix = suffix[len(suffix)-4:]
	}
	return "vb" + containerID + "n" + suffix
}

// AttachExtra is AttachContainer for a second (third…) network: the host
// side is ExtraHostIfName, and the container gets no default route
// through it (its own network keeps that).
func AttachExtra(bridge, containerID, netnsPath, ifName string, addr netip.Prefix) (hostIf string, err error) {
	if len(containerID) < 8 {
		return "", fmt.Errorf("container ID %q: too short: %w", containerID, errdefs.ErrInvalid)
	}
	hostIf = ExtraHostIfName(containerID, bridge)
	return attach(bridge, containerID, hostIf, netnsPath, ifName, addr, netip.Addr{})
}

// attach does AttachContainer's work with the names given; an invalid
// gateway adds no default route.
func attach(bridge, containerID, hostIf, netnsPath, ifName string, addr netip.Prefix, gateway netip.Addr) (string, error) {
	if !addr.Addr().Is4() || (gateway.IsValid() && !gateway.Is4()) {
		return "", fmt.Errorf("attach %s: address %s and gateway %s must be IPv4: %w", containerID, addr, gateway, errdefs.ErrInvalid)
	}
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return "", fmt.Errorf("attach %s: bridge %s: %w", containerID, bridge, err)
	}
	target, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return "", fmt.Errorf("attach %s: open %s: %w", containerID, netnsPath, err)
	}
	defer target.Close()

	// One request makes both ends: the host's, up and a port of the
	// bridge, and the container's, made in its namespace under its final
	// name with a MAC address made from its IPv4 address (as Docker's: an
	// address leased again to a new container keeps its MAC, so the
	// host's and other containers' neighbour caches stay right; a random
	// MAC left them pointing at the old container's for seconds, and
	// DNATed traffic to the new one went nowhere). Making the peer in
	// place, not moving it, spares the kernel a namespace move per
	// container, which cost several milliseconds.
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: hostIf, MTU: br.Attrs().MTU, MasterIndex: br.Attrs().Index, Flags: net.FlagUp},
		PeerName:         ifName,
		PeerNamespace:    netlink.NsFd(int(target)),
		PeerHardwareAddr: MACFor(addr.Addr()),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		if l, lerr := netlink.LinkByName(hostIf); lerr == nil {
			netlink.LinkDel(l) // made, then the bridge refused it
		}
		return "", fmt.Errorf("attach %s: create veth %s (%s in %s): %w", containerID, hostIf, ifName, netnsPath, err)
	}
	success := false
	defer func() {
		if !success {
			if l, err := netlink.LinkByName(hostIf); err == nil {
				netlink.LinkDel(l)
			}
		}
	}()
	err = Do(target, func() error {
		l, err := netlink.LinkByName(ifName)
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: ipnet(addr)}); err != nil {
			return fmt.Errorf("%s: add address %s: %w", ifName, addr, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("%s up: %w", ifName, err)
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return fmt.Errorf("lo up: %w", err)
		}
		if !gateway.IsValid() {
			return nil
		}
		route := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: gateway.AsSlice(), Dst: ipnet(netip.MustParsePrefix("0.0.0.0/0"))}
		if err := netlink.RouteAdd(route); err != nil {
			return fmt.Errorf("default route via %s: %w", gateway, err)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("attach %s: in %s: %w", containerID, netnsPath, err)
	}
	success = true
	return hostIf, nil
}

// DetachContainer deletes the host side of a container's veth, and with
// it the peer in the container. A missing link is not an error (the
// kernel deletes the pair itself when the namespace dies).
func DetachContainer(hostIf string) error {
	l, err := netlink.LinkByName(hostIf)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detach %s: %w", hostIf, err)
	}
	if _, ok := l.(*netlink.Veth); !ok {
		return fmt.Errorf("detach %s: a %s, not a veth: %w", hostIf, l.Type(), errdefs.ErrConflict)
	}
	if err := netlink.LinkDel(l); err != nil && !notFound(err) {
		return fmt.Errorf("detach %s: %w", hostIf, err)
	}
	return nil
}

// Do runs f in the network namespace ns on a goroutine of its own that
// locks its OS thread and never unlocks it: when the goroutine ends, the
// runtime ends the thread, so no thread in a foreign namespace is ever
// reused. ns stays open for the caller to close. Goroutines that f starts
// do not run in ns.
func Do(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread dies with this goroutine.
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// EnableForwarding sets net.ipv4.ip_forward=1 in the caller's network
// namespace. It turns on IPv4 routing between every interface of that
// namespace (it also resets the per-interface forwarding settings to 1),
// not only berth's bridges: what berth forwards is then restricted by its
// forward chains (netsetup/nat), and the host's own firewall still
// applies. It does not touch IPv6.
func EnableForwarding() error {
	return writeSysctl("/proc/sys/net/ipv4/ip_forward")
}

// EnableRouteLocalnet sets net.ipv4.conf.<bridge>.route_localnet=1: the
// kernel then routes packets with a 127.0.0.0/8 source out of the bridge,
// which a published port reached on 127.0.0.1 needs (the output chain
// DNATs it to the container, postrouting masquerades the loopback
// source). It affects that bridge only.
func EnableRouteLocalnet(bridge string) error {
	if bridge == "" || filepath.Base(bridge) != bridge || bridge == ".." {
		return fmt.Errorf("bridge name %q: %w", bridge, errdefs.ErrInvalid)
	}
	return writeSysctl(filepath.Join("/proc/sys/net/ipv4/conf", bridge, "route_localnet"))
}

func writeSysctl(path string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == "1\n" {
		return nil
	}
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("sysctl %s: %w", path, err)
	}
	return nil
}

// MACFor is the MAC address of a container's interface with the IPv4
// address a: 02:42 (locally administered, unicast, Docker's prefix)
// followed by the address's four bytes.
func MACFor(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}
