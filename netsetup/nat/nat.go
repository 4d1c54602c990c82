package nat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// TableName is berth's own nftables table (family ip). berth never
// touches another table.
const TableName = "berth"

// Chain names in the table.
const (
	ChainPrerouting  = "prerouting"  // nat, dstnat: jump to ports for local destinations
	ChainOutput      = "output"      // nat, dstnat: the same for the host's own traffic
	ChainPostrouting = "postrouting" // nat, srcnat: masquerade, hairpin, localhost
	ChainPorts       = "ports"       // regular chain: one DNAT rule per published port (range)
	forwardPrefix    = "forward-"    // filter, forward: one base chain per bridge
)

// Conn is the part of *nftables.Conn that berth uses. Changes are
// buffered and sent as one transaction by Flush; the List/Get calls read
// the kernel's state at once.
type Conn interface {
	AddTable(t *nftables.Table) *nftables.Table
	DelTable(t *nftables.Table)
	AddChain(c *nftables.Chain) *nftables.Chain
	FlushChain(c *nftables.Chain)
	DelChain(c *nftables.Chain)
	AddRule(r *nftables.Rule) *nftables.Rule
	InsertRule(r *nftables.Rule) *nftables.Rule
	DelRule(r *nftables.Rule) error
	ListTablesOfFamily(family nftables.TableFamily) ([]*nftables.Table, error)
	ListChainsOfTableFamily(family nftables.TableFamily) ([]*nftables.Chain, error)
	GetRules(t *nftables.Table, c *nftables.Chain) ([]*nftables.Rule, error)
	Flush() error
}

var _ Conn = (*nftables.Conn)(nil)

// Port is one published port or range: HostIP:HostPort..HostPort+Count-1
// → ContainerIP:ContainerPort..ContainerPort+Count-1.
type Port struct {
	Proto         string     // "tcp" or "udp"
	HostIP        netip.Addr // zero: every address of the host
	HostPort      uint16
	ContainerIP   netip.Addr
	ContainerPort uint16
	Count         uint16 // ports in the range; 0 or 1: one port
}

func (p Port) String() string {
	n := max(p.Count, 1)
	host := fmt.Sprint(p.HostPort)
	ctr := fmt.Sprint(p.ContainerPort)
	if n > 1 {
		host += fmt.Sprintf("-%d", int(p.HostPort)+int(n)-1)
		ctr += fmt.Sprintf("-%d", int(p.ContainerPort)+int(n)-1)
	}
	if p.HostIP.IsValid() {
		host = p.HostIP.String() + ":" + host
	}
	return fmt.Sprintf("%s→%s:%s/%s", host, p.ContainerIP, ctr, p.Proto)
}

func (p Port) validate() error {
	n := max(p.Count, 1)
	switch {
	case p.Proto != "tcp" && p.Proto != "udp":
		return fmt.Errorf("port %s: protocol must be tcp or udp: %w", p, errdefs.ErrInvalid)
	case p.HostIP.IsValid() && !p.HostIP.Is4():
		return fmt.Errorf("port %s: only IPv4 host addresses are supported: %w", p, errdefs.ErrInvalid)
	case !p.ContainerIP.Is4():
		return fmt.Errorf("port %s: container address must be IPv4: %w", p, errdefs.ErrInvalid)
	case p.HostPort == 0 || p.ContainerPort == 0:
		return fmt.Errorf("port %s: port 0: %w", p, errdefs.ErrInvalid)
	case int(p.HostPort)+int(n)-1 > 65535 || int(p.ContainerPort)+int(n)-1 > 65535:
		return fmt.Errorf("port %s: range past 65535: %w", p, errdefs.ErrInvalid)
	}
	return nil
}

// Comments (rule UserData, shown by nft) that tag berth's rules, so that
// removal deletes exactly one owner's rules.
func containerTag(id string) string  { return "berth container " + id }
func bridgeTag(bridge string) string { return "berth bridge " + bridge }

const baseTag = "berth base"

func comment(s string) []byte { return userdata.AppendString(nil, userdata.TypeComment, s) }

// Comment returns the comment a rule was tagged with, or "".
func Comment(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}

// Table returns berth's table. Family ip: berth's networks are IPv4
// (netsetup/ipam allocates IPv4 only), an ip table needs no nfproto
// guard before matching IPv4 headers, and its NAT works on every kernel
// with nf_tables; IPv6 will get a table ip6 berth of its own.
func Table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
}

func policy(p nftables.ChainPolicy) *nftables.ChainPolicy { return &p }

// chains returns the base chains of the table and the ports chain.
func chains(t *nftables.Table) []*nftables.Chain {
	return []*nftables.Chain{
		{Name: ChainPorts, Table: t},
		{Name: ChainPrerouting, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		{Name: ChainOutput, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		{Name: ChainPostrouting, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
	}
}

// ForwardChain returns the forward filter chain of bridge. Each bridge
// has its own base chain: an accept in one base chain does not end
// another's, so bridge A's "accept what leaves A" cannot override bridge
// B's "drop what enters B uninvited", whatever the order they were
// created in. Its policy is accept: berth never drops traffic that is not
// its own.
func ForwardChain(t *nftables.Table, bridge string) *nftables.Chain {
	return &nftables.Chain{
		Name: forwardPrefix + bridge, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter,
		Policy: policy(nftables.ChainPolicyAccept),
	}
}

// BaseRules returns the rules EnsureBase installs for bridge with subnet,
// by chain name, in order: the rule set as data. An internal network
// (`berth network create --internal`) has no way out: no masquerade, and
// what would leave the bridge for another interface is dropped.
func BaseRules(bridge string, subnet netip.Prefix, internal bool) map[string][]*nftables.Rule {
	t := Table()
	subnet = subnet.Masked()
	tag := comment(bridgeTag(bridge))
	rule := func(chain string, e ...expr.Any) *nftables.Rule {
		return &nftables.Rule{Table: t, Chain: &nftables.Chain{Name: chain, Table: t}, Exprs: e, UserData: tag}
	}
	masq := &expr.Masq{}
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	fwd := forwardPrefix + bridge
	rules := map[string][]*nftables.Rule{
		ChainPostrouting: {
			// Hairpin: a container reached a published port through a
			// host address and was DNATed back into the bridge; without
			// masquerade the peer would answer it directly, from an
			// address it never spoke to.
			rule(ChainPostrouting, join(matchIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge), matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), matchCtStatus(ctStatusDstNAT), masq)...),
			// The host's own traffic from 127.0.0.0/8 DNATed to a
			// published port (output chain): the container cannot answer
			// a loopback source. Needs route_localnet=1 on the bridge
			// (link.EnableRouteLocalnet) for the packet to be routed at all.
			rule(ChainPostrouting, join(matchSaddr(netip.MustParsePrefix("127.0.0.0/8")), matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), masq)...),
		},
		fwd: {
			// Replies to connections the containers opened.
			rule(fwd, join(matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), matchCtState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), accept)...),
			// Published ports.
			rule(fwd, join(matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), matchCtStatus(ctStatusDstNAT), accept)...),
			// Within the bridge network (routed, e.g. hairpin).
			rule(fwd, join(matchIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge), matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), accept)...),
			// Nothing else enters the network: not other bridges, not
			// other hosts routing to the subnet.
			rule(fwd, join(matchIf(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), &expr.Verdict{Kind: expr.VerdictDrop})...),
		},
	}
	if internal {
		// Nothing leaves it either.
		rules[fwd] = append(rules[fwd], rule(fwd, join(matchIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge), &expr.Verdict{Kind: expr.VerdictDrop})...))
		return rules
	}
	// Outbound: from the subnet, leaving by another interface.
	rules[ChainPostrouting] = append([]*nftables.Rule{rule(ChainPostrouting, join(matchSaddr(subnet), matchIf(expr.MetaKeyOIFNAME, expr.CmpOpNeq, bridge), masq)...)}, rules[ChainPostrouting]...)
	// Everything that leaves it.
	rules[fwd] = append(rules[fwd], rule(fwd, join(matchIf(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge), accept)...))
	return rules
}

// jumpRule sends traffic for a local address to the ports chain
// (prerouting: from outside and from containers; output: from the host,
// 127.0.0.1 included).
func jumpRule(t *nftables.Table, chain string) *nftables.Rule {
	return &nftables.Rule{
		Table: t, Chain: &nftables.Chain{Name: chain, Table: t}, UserData: comment(baseTag),
		Exprs: []expr.Any{
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutilNative32(unix.RTN_LOCAL)},
			&expr.Verdict{Kind: expr.VerdictJump, Chain: ChainPorts},
		},
	}
}

// PortRules returns the DNAT rules of one container's ports, in order.
// A range whose host and container ports are equal is one rule that
// rewrites the address only (the port is kept); a shifted range is one
// rule per port, since nftables' port-range NAT picks any port of the
// range rather than keeping the offset.
func PortRules(containerID string, ports []Port) ([]*nftables.Rule, error) {
	if containerID == "" || len(containerID) > 100 {
		return nil, fmt.Errorf("container ID %q: %w", containerID, errdefs.ErrInvalid)
	}
	t := Table()
	ch := &nftables.Chain{Name: ChainPorts, Table: t}
	tag := comment(containerTag(containerID))
	var rules []*nftables.Rule
	for _, p := range ports {
		if err := p.validate(); err != nil {
			return nil, err
		}
		n := max(p.Count, 1)
		if n == 1 || p.HostPort == p.ContainerPort {
			rules = append(rules, &nftables.Rule{Table: t, Chain: ch, UserData: tag, Exprs: dnat(p, p.HostPort, n, n == 1)})
			continue
		}
		for i := range n {
			q := p
			q.HostPort, q.ContainerPort = p.HostPort+i, p.ContainerPort+i
			rules = append(rules, &nftables.Rule{Table: t, Chain: ch, UserData: tag, Exprs: dnat(q, q.HostPort, 1, true)})
		}
	}
	return rules, nil
}

func dnat(p Port, from, n uint16, setPort bool) []expr.Any {
	var e []expr.Any
	if p.HostIP.IsValid() {
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.HostIP.AsSlice()})
	}
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	e = append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
	if n == 1 {
		e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(from)})
	} else {
		e = append(e, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: be16(from), ToData: be16(from + n - 1)})
	}
	e = append(e, &expr.Immediate{Register: 1, Data: p.ContainerIP.AsSlice()})
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, Specified: true}
	if setPort {
		e = append(e, &expr.Immediate{Register: 2, Data: be16(p.ContainerPort)})
		nat.RegProtoMin = 2
	}
	return append(e, nat)
}

// EnsureBase makes the table, its chains and bridge's rules exist, in one
// transaction. It is idempotent: bridge's rules (tagged with its name) are
// replaced, other bridges' and the containers' port rules are kept.
func EnsureBase(conn Conn, bridge string, subnet netip.Prefix, internal bool) error {
	if bridge == "" || len(bridge) >= unix.IFNAMSIZ {
		return fmt.Errorf("bridge name %q: %w", bridge, errdefs.ErrInvalid)
	}
	if !subnet.Addr().Is4() {
		return fmt.Errorf("subnet %s: only IPv4: %w", subnet, errdefs.ErrInvalid)
	}
	t := Table()
	exists, err := tableExists(conn)
	if err != nil {
		return err
	}
	existing := map[string][]*nftables.Rule{}
	if exists {
		cs, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return fmt.Errorf("nftables: list chains: %w", err)
		}
		want := map[string]bool{ChainPrerouting: true, ChainOutput: true, ChainPostrouting: true, forwardPrefix + bridge: true}
		for _, c := range cs {
			if c.Table.Name != TableName || !want[c.Name] {
				continue
			}
			rs, err := conn.GetRules(t, &nftables.Chain{Name: c.Name, Table: t})
			if err != nil {
				return fmt.Errorf("nftables: list rules of %s: %w", c.Name, err)
			}
			existing[c.Name] = rs
		}
	}
	base := BaseRules(bridge, subnet, internal)
	if exists && upToDate(existing, base, bridge) {
		// Every container start calls this: a rule set that is already
		// what it would write is left alone, with no transaction.
		return nil
	}
	conn.AddTable(t)
	for _, c := range chains(t) {
		conn.AddChain(c)
	}
	conn.AddChain(ForwardChain(t, bridge))
	for _, c := range []string{ChainPrerouting, ChainOutput} {
		if !hasTag(existing[c], baseTag) {
			conn.AddRule(jumpRule(t, c))
		}
	}
	tag := bridgeTag(bridge)
	for _, rs := range existing {
		for _, r := range rs {
			if Comment(r) == tag {
				if err := conn.DelRule(r); err != nil {
					return fmt.Errorf("nftables: delete rule %d: %w", r.Handle, err)
				}
			}
		}
	}
	for _, c := range []string{ChainPostrouting, forwardPrefix + bridge} {
		for _, r := range base[c] {
			conn.AddRule(r)
		}
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: ensure table %s for bridge %s: %w", TableName, bridge, err)
	}
	return nil
}

// AddPorts publishes a container's ports: it replaces the container's
// rules (if any) with ports, in one transaction, so a retry is harmless;
// they go first in the ports chain, in order.
// EnsureBase must have run first.
func AddPorts(conn Conn, containerID string, ports []Port) error {
	rules, err := PortRules(containerID, ports)
	if err != nil {
		return err
	}
	if err := delContainerRules(conn, containerID); err != nil {
		return err
	}
	// At the head of the chain: a container that took over a port whose
	// last owner has ended wins at once, before that owner's cleanup has
	// removed its rule (it does so after it has reported the end).
	for i := len(rules) - 1; i >= 0; i-- {
		conn.InsertRule(rules[i])
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: publish ports of %s: %w", containerID, err)
	}
	return nil
}

// RemovePorts deletes exactly the rules tagged with containerID. Removing
// what is not there (no rules, no table) is not an error.
func RemovePorts(conn Conn, containerID string) error {
	if containerID == "" {
		return fmt.Errorf("empty container ID: %w", errdefs.ErrInvalid)
	}
	exists, err := tableExists(conn)
	if err != nil || !exists {
		return err
	}
	if err := delContainerRules(conn, containerID); err != nil {
		return err
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: remove ports of %s: %w", containerID, err)
	}
	return nil
}

// delContainerRules queues the deletion of containerID's port rules.
func delContainerRules(conn Conn, containerID string) error {
	exists, err := tableExists(conn)
	if err != nil || !exists {
		return err
	}
	t := Table()
	rs, err := conn.GetRules(t, &nftables.Chain{Name: ChainPorts, Table: t})
	if err != nil {
		return fmt.Errorf("nftables: list rules of %s: %w", ChainPorts, err)
	}
	tag := containerTag(containerID)
	for _, r := range rs {
		if Comment(r) == tag {
			if err := conn.DelRule(r); err != nil {
				return fmt.Errorf("nftables: delete rule %d: %w", r.Handle, err)
			}
		}
	}
	return nil
}

// RemoveBridge deletes bridge's rules and forward chain, in one
// transaction, and keeps everything else. Idempotent.
func RemoveBridge(conn Conn, bridge string) error {
	exists, err := tableExists(conn)
	if err != nil || !exists {
		return err
	}
	t := Table()
	cs, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("nftables: list chains: %w", err)
	}
	tag := bridgeTag(bridge)
	queued := false
	for _, c := range cs {
		if c.Table.Name != TableName {
			continue
		}
		if c.Name == forwardPrefix+bridge {
			fc := &nftables.Chain{Name: c.Name, Table: t}
			conn.FlushChain(fc)
			conn.DelChain(fc)
			queued = true
			continue
		}
		rs, err := conn.GetRules(t, &nftables.Chain{Name: c.Name, Table: t})
		if err != nil {
			return fmt.Errorf("nftables: list rules of %s: %w", c.Name, err)
		}
		for _, r := range rs {
			if Comment(r) == tag {
				if err := conn.DelRule(r); err != nil {
					return fmt.Errorf("nftables: delete rule %d: %w", r.Handle, err)
				}
				queued = true
			}
		}
	}
	if !queued {
		return nil
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: remove bridge %s: %w", bridge, err)
	}
	return nil
}

// Teardown deletes berth's table and everything in it. Idempotent.
func Teardown(conn Conn) error {
	exists, err := tableExists(conn)
	if err != nil || !exists {
		return err
	}
	conn.DelTable(Table())
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete table %s: %w", TableName, err)
	}
	return nil
}

func tableExists(conn Conn) (bool, error) {
	ts, err := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, t := range ts {
		if t.Name == TableName {
			return true, nil
		}
	}
	return false, nil
}

// upToDate reports whether existing (the rules of the table's chains,
// by chain) has the jump rules and exactly bridge's base rules, in
// order, expression for expression. A rule read back that does not
// compare equal to the one built (however it differs) makes it false,
// and EnsureBase writes the rules again: it can cost a transaction,
// never a rule.
func upToDate(existing, base map[string][]*nftables.Rule, bridge string) bool {
	for _, c := range []string{ChainPrerouting, ChainOutput} {
		if !hasTag(existing[c], baseTag) {
			return false
		}
	}
	tag := bridgeTag(bridge)
	for _, c := range []string{ChainPostrouting, forwardPrefix + bridge} {
		rs, ok := existing[c]
		if !ok {
			return false
		}
		var mine []*nftables.Rule
		for _, r := range rs {
			if Comment(r) == tag {
				mine = append(mine, r)
			}
		}
		if len(mine) != len(base[c]) {
			return false
		}
		for i, r := range mine {
			if !reflect.DeepEqual(r.Exprs, base[c][i].Exprs) {
				return false
			}
		}
	}
	return true
}

func hasTag(rs []*nftables.Rule, tag string) bool {
	for _, r := range rs {
		if Comment(r) == tag {
			return true
		}
	}
	return false
}

// Expression helpers.

const ctStatusDstNAT = 1 << 5 // IPS_DST_NAT

func join(parts ...any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		switch v := p.(type) {
		case []expr.Any:
			out = append(out, v...)
		case expr.Any:
			out = append(out, v)
		}
	}
	return out
}

func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

func matchIf(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

func matchSaddr(p netip.Prefix) []expr.Any {
	mask := netipMask(p.Bits())
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

func matchCtState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutilNative32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func matchCtStatus(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutilNative32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func netipMask(bits int) []byte {
	m := ^uint32(0) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return binary.BigEndian.AppendUint32(nil, m)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func binaryutilNative32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
