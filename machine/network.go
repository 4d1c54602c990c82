package machine

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Networks a container can have (--network).
const (
	NetworkBridge = "bridge" // the default bridge, DefaultBridge
	NetworkNone   = "none"   // loopback only
	NetworkHost   = "host"   // the host's network namespace
)

// validNetworkName is Docker's rule for network names.
var validNetworkName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// NetworkContainerPrefix starts --network container:OTHER: the
// container shares OTHER's network namespace (its record keeps OTHER's
// ID after the prefix).
const NetworkContainerPrefix = "container:"

// SharedNetwork returns OTHER of --network container:OTHER.
func SharedNetwork(network string) (string, bool) {
	return strings.CutPrefix(network, NetworkContainerPrefix)
}

// IsUserNetwork tells whether --network names a user network (one made
// by `berth network create`) rather than bridge, none, host or another
// container's.
func IsUserNetwork(network string) bool {
	switch network {
	case "", NetworkBridge, NetworkNone, NetworkHost:
		return false
	}
	_, shared := SharedNetwork(network)
	return !shared
}

// ParseAddHost reads Docker's --add-host NAME:IP (or NAME=IP); the IP
// may be "host-gateway", the address of the network's gateway on the
// host. Errors wrap errdefs.ErrInvalid.
func ParseAddHost(s string) (name, ip string, err error) {
	i := strings.IndexAny(s, "=:")
	if i <= 0 {
		return "", "", invalidf("invalid argument %q for --add-host: want NAME:IP", s)
	}
	name, ip = s[:i], strings.Trim(s[i+1:], "[]")
	if ip != HostGateway {
		if _, err := netip.ParseAddr(ip); err != nil {
			return "", "", invalidf("invalid IP address %q in --add-host %q", ip, s)
		}
	}
	if strings.ContainsAny(name, " \t\n/") {
		return "", "", invalidf("invalid host name %q in --add-host", name)
	}
	return name, ip, nil
}

// ConnectedNetwork is a network a container was connected to besides
// its own (`berth network connect --alias --ip NETWORK CONTAINER`).
type ConnectedNetwork struct {
	Name    string
	Aliases []string `json:",omitempty"`
	IP      string   `json:",omitempty"`
}

// HostGateway in --add-host stands for the gateway of the container's
// network (the host's address on it).
const HostGateway = "host-gateway"

// DefaultBridge is the bridge of the default network, and DefaultSubnet
// its addresses; the first is the gateway, on the host.
const DefaultBridge = "berth0"

// DefaultSubnet is the default network's subnet.
var DefaultSubnet = netip.MustParsePrefix("10.89.0.0/24")

// PortMapping is one -p: HostIP:HostPort → ContainerPort (Count ports
// from there), for Proto.
type PortMapping struct {
	HostIP        string `json:"HostIp"`
	HostPort      uint16 `json:"HostPort"`
	ContainerPort uint16 `json:"ContainerPort"`
	Count         uint16 `json:"Count"`
	Proto         string `json:"Proto"`
}

// String is Docker's form: 0.0.0.0:8080->80/tcp.
func (p PortMapping) String() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	host, ctr := strconv.Itoa(int(p.HostPort)), strconv.Itoa(int(p.ContainerPort))
	if p.Count > 1 {
		host += "-" + strconv.Itoa(int(p.HostPort)+int(p.Count)-1)
		ctr += "-" + strconv.Itoa(int(p.ContainerPort)+int(p.Count)-1)
	}
	return fmt.Sprintf("%s:%s->%s/%s", ip, host, ctr, p.Proto)
}

// ParsePublish reads Docker's -p [IP:]HOST:CONTAINER[/tcp|udp], with
// equal ranges (8000-8001:80-81), and [IP::]CONTAINER: HostPort 0, a free
// host port picked when the container is created (one container port
// only). Errors wrap errdefs.ErrInvalid.
func ParsePublish(spec string) (PortMapping, error) {
	bad := func(why string) (PortMapping, error) {
		return PortMapping{}, invalidf("invalid port %q: %s; want [IP:]HOST:CONTAINER[/tcp|udp] or [IP::]CONTAINER[/tcp|udp]", spec, why)
	}
	p := PortMapping{Proto: "tcp"}
	rest := spec
	if s, proto, ok := strings.Cut(spec, "/"); ok {
		if proto != "tcp" && proto != "udp" {
			return bad("protocol " + proto)
		}
		rest, p.Proto = s, proto
	}
	hostPart, ctrPart := "", rest
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		hostPart, ctrPart = rest[:i], rest[i+1:]
	}
	if j := strings.LastIndex(hostPart, ":"); j >= 0 {
		ip := strings.Trim(hostPart[:j], "[]")
		addr, err := netip.ParseAddr(ip)
		if err != nil || !addr.Is4() {
			return bad("host address " + ip + " is not an IPv4 address")
		}
		p.HostIP, hostPart = addr.String(), hostPart[j+1:]
	}
	c0, c1, err := portRange(ctrPart)
	if err != nil {
		return bad("container port: " + err.Error())
	}
	if hostPart == "" {
		if c1 != c0 {
			return bad("a container range needs a host range")
		}
		p.ContainerPort, p.Count = c0, 1
		return p, nil
	}
	h0, h1, err := portRange(hostPart)
	if err != nil {
		return bad("host port: " + err.Error())
	}
	if h1-h0 != c1-c0 {
		return bad("the host and container ranges differ in size")
	}
	p.HostPort, p.ContainerPort, p.Count = h0, c0, h1-h0+1
	return p, nil
}

func portRange(s string) (uint16, uint16, error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.ParseUint(a, 10, 16)
	if err != nil || lo == 0 {
		return 0, 0, fmt.Errorf("%q is not a port", a)
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(b, 10, 16); err != nil || hi < lo {
			return 0, 0, fmt.Errorf("%q is not a port range", s)
		}
	}
	return uint16(lo), uint16(hi), nil
}

// ExposedPorts are the ports of an image's EXPOSE ("80/tcp", "53/udp",
// "8080") that no mapping in published covers, sorted, as mappings
// without a host port.
func ExposedPorts(exposed map[string]struct{}, published []PortMapping) ([]PortMapping, error) {
	var out []PortMapping
	for spec := range exposed {
		port, proto, _ := strings.Cut(spec, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 || (proto != "tcp" && proto != "udp") {
			return nil, invalidf("the image exposes %q, which is not PORT[/tcp|udp]", spec)
		}
		covered := false
		for _, p := range published {
			if p.Proto == proto && uint16(n) >= p.ContainerPort && uint16(n) < p.ContainerPort+max(p.Count, 1) {
				covered = true
			}
		}
		if !covered {
			out = append(out, PortMapping{ContainerPort: uint16(n), Count: 1, Proto: proto})
		}
	}
	slices.SortFunc(out, func(a, b PortMapping) int {
		if a.ContainerPort != b.ContainerPort {
			return int(a.ContainerPort) - int(b.ContainerPort)
		}
		return strings.Compare(a.Proto, b.Proto)
	})
	return out, nil
}
