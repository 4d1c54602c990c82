package nat

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

var subnet = netip.MustParsePrefix("10.88.0.1/16")

func check(t *testing.T, got, want string) {
	t.Helper()
	want = strings.TrimLeft(want, "\n")
	if got != want {
		t.Errorf("rule set:\n%s\nwant:\n%s", got, want)
	}
}

const baseDump = `
chain ports
chain prerouting
  fib daddr type == local jump ports # berth base
chain output
  fib daddr type == local jump ports # berth base
chain postrouting
  ip saddr/16 == 10.88.0.0 oifname != berth0 masquerade # berth bridge berth0
  iifname == berth0 oifname == berth0 ct status & 0x20 != 0x00000000 masquerade # berth bridge berth0
  ip saddr/8 == 127.0.0.0 oifname == berth0 masquerade # berth bridge berth0
chain forward-berth0
  oifname == berth0 ct state & 0x6 != 0x00000000 accept # berth bridge berth0
  oifname == berth0 ct status & 0x20 != 0x00000000 accept # berth bridge berth0
  iifname == berth0 oifname == berth0 accept # berth bridge berth0
  oifname == berth0 drop # berth bridge berth0
  iifname == berth0 accept # berth bridge berth0
`

func TestEnsureBase(t *testing.T) {
	f := newFake()
	if err := EnsureBase(f, "berth0", subnet, false); err != nil {
		t.Fatal(err)
	}
	check(t, f.dump(), baseDump)
	// Idempotent: a second call finds the rules as it would write them
	// and makes no transaction at all (every container start calls it).
	if err := EnsureBase(f, "berth0", subnet, false); err != nil {
		t.Fatal(err)
	}
	check(t, f.dump(), baseDump)
	if f.flushes != 1 {
		t.Errorf("%d transactions, want 1: the second call had nothing to do", f.flushes)
	}
	// A rule gone (someone's `nft delete rule`), or one changed: the
	// bridge's rules are written again, in one transaction, as they were.
	for i, spoil := range []func(){
		func() { f.rules["forward-berth0"] = f.rules["forward-berth0"][1:] },
		func() {
			r := *f.rules["postrouting"][0]
			r.Exprs = r.Exprs[:len(r.Exprs)-1]
			f.rules["postrouting"][0] = &r
		},
		func() { f.rules["prerouting"] = nil },
	} {
		spoil()
		if err := EnsureBase(f, "berth0", subnet, false); err != nil {
			t.Fatal(err)
		}
		check(t, f.dump(), baseDump)
		if want := 2 + i; f.flushes != want {
			t.Errorf("spoiled rule set %d: %d transactions, want %d", i, f.flushes, want)
		}
	}
	// The same bridge made internal: its rules change.
	fi := newFake()
	EnsureBase(fi, "berth0", subnet, false)
	if err := EnsureBase(fi, "berth0", subnet, true); err != nil {
		t.Fatal(err)
	}
	if d := fi.dump(); fi.flushes != 2 || strings.Contains(d, "oifname != berth0 masquerade") {
		t.Errorf("made internal: %d transactions, rules:\n%s", fi.flushes, d)
	}
	// A second bridge adds its own rules and chain, keeps the first's.
	if err := EnsureBase(f, "br1", netip.MustParsePrefix("10.89.0.0/24"), false); err != nil {
		t.Fatal(err)
	}
	d := f.dump()
	if !strings.Contains(d, "chain forward-br1\n  oifname == br1 ct state") || !strings.Contains(d, "ip saddr/24 == 10.89.0.0 oifname != br1 masquerade") ||
		!strings.HasPrefix(d, strings.TrimLeft(baseDump[:strings.Index(baseDump, "chain forward")], "\n")) {
		t.Errorf("after second bridge:\n%s", d)
	}
	for _, bad := range []string{"", "a-very-long-bridge-name"} {
		if err := EnsureBase(newFake(), bad, subnet, false); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("bridge %q: %v", bad, err)
		}
	}
}

func TestPortRules(t *testing.T) {
	ctr := netip.MustParseAddr("10.88.0.2")
	tests := []struct {
		name string
		port Port
		want string
	}{
		{"single", Port{Proto: "tcp", HostPort: 8080, ContainerIP: ctr, ContainerPort: 80},
			"l4proto == tcp th dport == 8080 r1=10.88.0.2 r2=80 dnat addr=r1 port=r2 # berth container c1"},
		{"host ip", Port{Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, ContainerIP: ctr, ContainerPort: 80},
			"ip daddr == 127.0.0.1 l4proto == tcp th dport == 8080 r1=10.88.0.2 r2=80 dnat addr=r1 port=r2 # berth container c1"},
		{"udp", Port{Proto: "udp", HostPort: 53, ContainerIP: ctr, ContainerPort: 5353},
			"l4proto == udp th dport == 53 r1=10.88.0.2 r2=5353 dnat addr=r1 port=r2 # berth container c1"},
		{"range kept", Port{Proto: "tcp", HostPort: 8000, ContainerIP: ctr, ContainerPort: 8000, Count: 3},
			"l4proto == tcp th dport 8000-8002 r1=10.88.0.2 dnat addr=r1 # berth container c1"},
		{"range shifted", Port{Proto: "tcp", HostIP: netip.MustParseAddr("192.0.2.1"), HostPort: 9000, ContainerIP: ctr, ContainerPort: 8000, Count: 2},
			"ip daddr == 192.0.2.1 l4proto == tcp th dport == 9000 r1=10.88.0.2 r2=8000 dnat addr=r1 port=r2 # berth container c1\n" +
				"ip daddr == 192.0.2.1 l4proto == tcp th dport == 9001 r1=10.88.0.2 r2=8001 dnat addr=r1 port=r2 # berth container c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := PortRules("c1", []Port{tt.port})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				if r.Chain.Name != ChainPorts || r.Table.Name != TableName {
					t.Errorf("rule in %s/%s", r.Table.Name, r.Chain.Name)
				}
				got = append(got, render(r))
			}
			check(t, strings.Join(got, "\n"), tt.want)
		})
	}
	for _, bad := range []Port{
		{Proto: "sctp", HostPort: 1, ContainerIP: ctr, ContainerPort: 1},
		{Proto: "tcp", HostPort: 0, ContainerIP: ctr, ContainerPort: 1},
		{Proto: "tcp", HostPort: 65535, ContainerIP: ctr, ContainerPort: 65535, Count: 2},
		{Proto: "tcp", HostPort: 1, ContainerPort: 1},
		{Proto: "tcp", HostIP: netip.MustParseAddr("::1"), HostPort: 1, ContainerIP: ctr, ContainerPort: 1},
	} {
		if _, err := PortRules("c1", []Port{bad}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", bad, err)
		}
	}
}

func TestAddRemovePorts(t *testing.T) {
	f := newFake()
	if err := EnsureBase(f, "berth0", subnet, false); err != nil {
		t.Fatal(err)
	}
	a, b := netip.MustParseAddr("10.88.0.2"), netip.MustParseAddr("10.88.0.3")
	if err := AddPorts(f, "aaa", []Port{{Proto: "tcp", HostPort: 80, ContainerIP: a, ContainerPort: 80}, {Proto: "udp", HostPort: 53, ContainerIP: a, ContainerPort: 53}}); err != nil {
		t.Fatal(err)
	}
	if err := AddPorts(f, "bbb", []Port{{Proto: "tcp", HostPort: 81, ContainerIP: b, ContainerPort: 80}}); err != nil {
		t.Fatal(err)
	}
	// Adding again replaces, never duplicates.
	if err := AddPorts(f, "aaa", []Port{{Proto: "tcp", HostPort: 80, ContainerIP: a, ContainerPort: 80}}); err != nil {
		t.Fatal(err)
	}
	ports := func() string {
		var s []string
		for _, r := range f.rules[ChainPorts] {
			s = append(s, render(r))
		}
		return strings.Join(s, "\n")
	}
	// The latest container's rules come first (it wins a port taken over
	// from one whose cleanup has not removed its rule yet).
	check(t, ports(), "l4proto == tcp th dport == 80 r1=10.88.0.2 r2=80 dnat addr=r1 port=r2 # berth container aaa\n"+
		"l4proto == tcp th dport == 81 r1=10.88.0.3 r2=80 dnat addr=r1 port=r2 # berth container bbb")
	// A container's own rules keep their order.
	if err := AddPorts(f, "aaa", []Port{{Proto: "tcp", HostPort: 80, ContainerIP: a, ContainerPort: 80}, {Proto: "udp", HostPort: 53, ContainerIP: a, ContainerPort: 53}}); err != nil {
		t.Fatal(err)
	}
	if got := ports(); !strings.HasPrefix(got, "l4proto == tcp th dport == 80 r1=10.88.0.2") || !strings.Contains(got, "dport == 53") ||
		strings.Index(got, "dport == 53") > strings.Index(got, "dport == 81") {
		t.Errorf("two ports of aaa, then bbb's:\n%s", got)
	}
	if err := AddPorts(f, "aaa", []Port{{Proto: "tcp", HostPort: 80, ContainerIP: a, ContainerPort: 80}}); err != nil {
		t.Fatal(err)
	}
	if err := RemovePorts(f, "aaa"); err != nil {
		t.Fatal(err)
	}
	check(t, ports(), "l4proto == tcp th dport == 81 r1=10.88.0.3 r2=80 dnat addr=r1 port=r2 # berth container bbb")
	if err := RemovePorts(f, "aaa"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	// Nothing but port rules changed.
	if err := RemovePorts(f, "bbb"); err != nil {
		t.Fatal(err)
	}
	check(t, f.dump(), baseDump)
	if err := Teardown(f); err != nil {
		t.Fatal(err)
	}
	if f.dump() != "" || len(f.tables) != 0 {
		t.Fatalf("after teardown:\n%s", f.dump())
	}
	if err := Teardown(f); err != nil {
		t.Fatalf("second teardown: %v", err)
	}
	if err := RemovePorts(f, "aaa"); err != nil {
		t.Fatalf("remove without table: %v", err)
	}
}

// TestInternalAndRemoveBridge: an internal network has no masquerade and
// drops what would leave it; RemoveBridge takes exactly one bridge's
// rules and chain away.
func TestInternalAndRemoveBridge(t *testing.T) {
	f := newFake()
	if err := EnsureBase(f, "berth0", subnet, false); err != nil {
		t.Fatal(err)
	}
	if err := EnsureBase(f, "berth1", netip.MustParsePrefix("10.89.1.0/24"), true); err != nil {
		t.Fatal(err)
	}
	d := f.dump()
	if strings.Contains(d, "oifname != berth1 masquerade") {
		t.Errorf("internal network masquerades:\n%s", d)
	}
	fwd := d[strings.Index(d, "chain forward-berth1"):]
	if !strings.Contains(fwd, "iifname == berth1 drop") || strings.Contains(fwd, "iifname == berth1 accept") {
		t.Errorf("internal network's forward chain:\n%s", fwd)
	}
	if err := RemoveBridge(f, "berth1"); err != nil {
		t.Fatal(err)
	}
	check(t, f.dump(), baseDump)
	n := f.flushes
	if err := RemoveBridge(f, "berth1"); err != nil || f.flushes != n {
		t.Errorf("second RemoveBridge: %v, %d transactions", err, f.flushes-n)
	}
}
