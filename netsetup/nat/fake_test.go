package nat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// fakeConn is a recording, stateful stand-in for *nftables.Conn: changes
// are queued and applied by Flush, like the kernel's transactions.
type fakeConn struct {
	tables  map[string]bool
	chains  []*nftables.Chain
	rules   map[string][]*nftables.Rule
	pending []func()
	handle  uint64
	flushes int
}

func newFake() *fakeConn {
	return &fakeConn{tables: map[string]bool{}, rules: map[string][]*nftables.Rule{}}
}

func (f *fakeConn) AddTable(t *nftables.Table) *nftables.Table {
	f.pending = append(f.pending, func() { f.tables[t.Name] = true })
	return t
}

func (f *fakeConn) DelTable(t *nftables.Table) {
	f.pending = append(f.pending, func() {
		delete(f.tables, t.Name)
		f.chains, f.rules = nil, map[string][]*nftables.Rule{}
	})
}

func (f *fakeConn) AddChain(c *nftables.Chain) *nftables.Chain {
	f.pending = append(f.pending, func() {
		if !slices.ContainsFunc(f.chains, func(x *nftables.Chain) bool { return x.Name == c.Name }) {
			f.chains = append(f.chains, c)
		}
	})
	return c
}

func (f *fakeConn) FlushChain(c *nftables.Chain) {
	f.pending = append(f.pending, func() { delete(f.rules, c.Name) })
}

func (f *fakeConn) DelChain(c *nftables.Chain) {
	f.pending = append(f.pending, func() {
		if len(f.rules[c.Name]) > 0 {
			panic("nftables: delete of a chain that still has rules")
		}
		f.chains = slices.DeleteFunc(f.chains, func(x *nftables.Chain) bool { return x.Name == c.Name })
	})
}

func (f *fakeConn) InsertRule(r *nftables.Rule) *nftables.Rule {
	f.pending = append(f.pending, func() {
		f.handle++
		c := *r
		c.Handle = f.handle
		f.rules[r.Chain.Name] = append([]*nftables.Rule{&c}, f.rules[r.Chain.Name]...)
	})
	return r
}

func (f *fakeConn) AddRule(r *nftables.Rule) *nftables.Rule {
	f.pending = append(f.pending, func() {
		f.handle++
		c := *r
		c.Handle = f.handle
		f.rules[r.Chain.Name] = append(f.rules[r.Chain.Name], &c)
	})
	return r
}

func (f *fakeConn) DelRule(r *nftables.Rule) error {
	if r.Handle == 0 {
		return fmt.Errorf("rule without handle")
	}
	f.pending = append(f.pending, func() {
		f.rules[r.Chain.Name] = slices.DeleteFunc(f.rules[r.Chain.Name], func(x *nftables.Rule) bool { return x.Handle == r.Handle })
	})
	return nil
}

func (f *fakeConn) ListTablesOfFamily(nftables.TableFamily) ([]*nftables.Table, error) {
	var out []*nftables.Table
	for n := range f.tables {
		out = append(out, &nftables.Table{Name: n, Family: nftables.TableFamilyIPv4})
	}
	return out, nil
}

func (f *fakeConn) ListChainsOfTableFamily(nftables.TableFamily) ([]*nftables.Chain, error) {
	return slices.Clone(f.chains), nil
}

func (f *fakeConn) GetRules(t *nftables.Table, c *nftables.Chain) ([]*nftables.Rule, error) {
	return slices.Clone(f.rules[c.Name]), nil
}

func (f *fakeConn) Flush() error {
	for _, op := range f.pending {
		op()
	}
	f.pending = nil
	f.flushes++
	return nil
}

// dump renders the fake's state as text, chain by chain, one rule a line.
func (f *fakeConn) dump() string {
	var b strings.Builder
	for _, c := range f.chains {
		fmt.Fprintf(&b, "chain %s\n", c.Name)
		for _, r := range f.rules[c.Name] {
			fmt.Fprintf(&b, "  %s\n", render(r))
		}
	}
	return b.String()
}

// render prints a rule's expressions in a compact nft-like notation;
// the data a cmp compares is shown as what the register was loaded with.
func render(r *nftables.Rule) string {
	var parts []string
	loaded := ""
	for _, e := range r.Exprs {
		switch e := e.(type) {
		case *expr.Meta:
			loaded = map[expr.MetaKey]string{expr.MetaKeyIIFNAME: "iifname", expr.MetaKeyOIFNAME: "oifname", expr.MetaKeyL4PROTO: "l4proto"}[e.Key]
		case *expr.Payload:
			loaded = map[[2]uint32]string{{uint32(expr.PayloadBaseNetworkHeader), 12}: "ip saddr", {uint32(expr.PayloadBaseNetworkHeader), 16}: "ip daddr", {uint32(expr.PayloadBaseTransportHeader), 2}: "th dport"}[[2]uint32{uint32(e.Base), e.Offset}]
		case *expr.Ct:
			loaded = map[expr.CtKey]string{expr.CtKeySTATE: "ct state", expr.CtKeySTATUS: "ct status"}[e.Key]
		case *expr.Fib:
			loaded = "fib daddr type"
		case *expr.Bitwise:
			if strings.HasPrefix(loaded, "ct") {
				loaded += fmt.Sprintf(" & %#x", binary.NativeEndian.Uint32(e.Mask))
			} else {
				ones := 0
				for _, m := range e.Mask {
					for ; m != 0; m <<= 1 {
						ones++
					}
				}
				loaded += fmt.Sprintf("/%d", ones)
			}
		case *expr.Cmp:
			op := map[expr.CmpOp]string{expr.CmpOpEq: "==", expr.CmpOpNeq: "!="}[e.Op]
			parts = append(parts, fmt.Sprintf("%s %s %s", loaded, op, value(loaded, e.Data)))
		case *expr.Range:
			parts = append(parts, fmt.Sprintf("%s %s-%s", loaded, value(loaded, e.FromData), value(loaded, e.ToData)))
		case *expr.Immediate:
			parts = append(parts, fmt.Sprintf("r%d=%s", e.Register, value(map[int]string{4: "ip", 2: "port"}[len(e.Data)], e.Data)))
		case *expr.NAT:
			s := "dnat addr=r1"
			if e.RegProtoMin != 0 {
				s += fmt.Sprintf(" port=r%d", e.RegProtoMin)
			}
			parts = append(parts, s)
		case *expr.Masq:
			parts = append(parts, "masquerade")
		case *expr.Verdict:
			v := map[expr.VerdictKind]string{expr.VerdictAccept: "accept", expr.VerdictDrop: "drop", expr.VerdictJump: "jump"}[e.Kind]
			parts = append(parts, strings.TrimSpace(v+" "+e.Chain))
		default:
			parts = append(parts, fmt.Sprintf("%T", e))
		}
	}
	return strings.Join(parts, " ") + " # " + Comment(r)
}

func value(loaded string, d []byte) string {
	switch {
	case strings.HasSuffix(loaded, "ifname"):
		return strings.TrimRight(string(d), "\x00")
	case loaded == "l4proto":
		return map[byte]string{unix.IPPROTO_TCP: "tcp", unix.IPPROTO_UDP: "udp"}[d[0]]
	case loaded == "th dport" || loaded == "port":
		return fmt.Sprint(binary.BigEndian.Uint16(d))
	case strings.HasPrefix(loaded, "ip"):
		a, _ := netip.AddrFromSlice(d)
		return a.String()
	case loaded == "fib daddr type" && binary.NativeEndian.Uint32(d) == unix.RTN_LOCAL:
		return "local"
	}
	return fmt.Sprintf("%#x", d)
}
