package network

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestPlan(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	existing := append(Builtin(), Network{Name: "one", Driver: "bridge", Bridge: "berth1", Subnet: p("10.89.1.0/24")})
	for _, tc := range []struct {
		name       string
		o          CreateOptions
		routes     []netip.Prefix
		wantBridge string
		wantSubnet string
		wantGW     string
		wantErr    string
	}{
		{name: "two", wantBridge: "berth2", wantSubnet: "10.89.2.0/24", wantGW: "10.89.2.1"},
		{name: "skips-host-routes", routes: []netip.Prefix{p("10.89.2.0/23"), p("0.0.0.0/0")}, wantBridge: "berth2", wantSubnet: "10.89.4.0/24", wantGW: "10.89.4.1"},
		{name: "given", o: CreateOptions{Subnet: p("172.30.0.0/16"), Gateway: a("172.30.0.254")}, wantBridge: "berth2", wantSubnet: "172.30.0.0/16", wantGW: "172.30.0.254"},
		{name: "one", wantErr: "already exists"},
		{name: "bridge", wantErr: "built in"},
		{name: "bad/name", wantErr: "invalid network name"},
		{name: "overlap", o: CreateOptions{Subnet: p("10.89.0.0/16")}, wantErr: "overlaps network bridge's 10.89.0.0/24"},
		{name: "overlap-route", o: CreateOptions{Subnet: p("192.168.1.0/24")}, routes: []netip.Prefix{p("192.168.0.0/16")}, wantErr: "overlaps the host's route to 192.168.0.0/16"},
		{name: "hostbits", o: CreateOptions{Subnet: p("172.30.0.5/16")}, wantErr: "did you mean 172.30.0.0/16"},
		{name: "small", o: CreateOptions{Subnet: p("172.30.0.0/31")}, wantErr: "/8 to /30"},
		{name: "v6", o: CreateOptions{Subnet: p("fd00::/64")}, wantErr: "IPv4"},
		{name: "gw-outside", o: CreateOptions{Subnet: p("172.30.0.0/24"), Gateway: a("172.31.0.1")}, wantErr: "not a host address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Plan(tc.name, tc.o, existing, tc.routes)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Plan: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Bridge != tc.wantBridge || n.Subnet.String() != tc.wantSubnet || n.Gateway.String() != tc.wantGW || !n.IsUser() {
				t.Errorf("Plan: %+v, want bridge %s subnet %s gateway %s", n, tc.wantBridge, tc.wantSubnet, tc.wantGW)
			}
		})
	}
}

func TestBuiltinIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range Builtin() {
		if len(n.ID) != 64 || seen[n.ID[:12]] {
			t.Errorf("network %s: ID %s is not 64 hex digits, or its short form is taken", n.Name, n.ID)
		}
		seen[n.ID[:12]] = true
	}
}

func TestStore(t *testing.T) {
	s := NewStore(t.TempDir())
	a, err := s.Create("front", CreateOptions{Internal: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create("back", CreateOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Bridge == b.Bridge || a.Subnet.Overlaps(b.Subnet) || len(a.ID) != 64 {
		t.Errorf("two networks share a bridge or subnet: %+v %+v", a, b)
	}
	if _, err := s.Create("front", CreateOptions{}, nil); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second create of front: %v", err)
	}
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range all {
		names = append(names, n.Name)
	}
	if strings.Join(names, " ") != "bridge host none back front" {
		t.Errorf("List: %q", names)
	}
	got, err := s.Get(a.ID[:6])
	if err != nil || got.Name != "front" || !got.Internal {
		t.Errorf("Get by ID prefix: %+v, %v", got, err)
	}
	if _, err := s.Get("nothere"); !errdefs.IsNotFound(err) {
		t.Errorf("Get nothere: %v", err)
	}
	if _, err := s.Remove("bridge", nil); !errdefs.IsInvalid(err) {
		t.Errorf("Remove bridge: %v", err)
	}
	busy := errdefs.ErrConflict
	if _, err := s.Remove("front", func(Network) error { return busy }); err != busy {
		t.Errorf("Remove of a network in use: %v", err)
	}
	if _, err := s.Remove("front", func(Network) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("front"); !errdefs.IsNotFound(err) {
		t.Errorf("front after Remove: %v", err)
	}
	// Names are not hex, so no ID prefix can match them by chance.
	// The freed bridge and subnet are reused.
	c, err := s.Create("third", CreateOptions{}, nil)
	if err != nil || c.Bridge != a.Bridge || c.Subnet != a.Subnet {
		t.Errorf("c: %+v %v, want a's bridge and subnet", c, err)
	}
}
