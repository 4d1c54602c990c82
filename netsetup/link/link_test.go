package link

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

// The links themselves are tested as root in netsetup (TestRootNetwork),
// inside a throw-away network namespace.

func TestHostIfName(t *testing.T) {
	if got := HostIfName("6141cdf013546e1e1dc319c7c55c523a"); got != "vb6141cdf0" {
		t.Fatalf("got %s", got)
	}
}

func TestInvalidInput(t *testing.T) {
	if err := EnableRouteLocalnet("../all"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("route_localnet path escape: %v", err)
	}
	if err := EnsureBridge("b", netip.MustParsePrefix("fd00::1/64")); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("IPv6 gateway: %v", err)
	}
	if _, err := AttachContainer("b", "short", "/nonexistent", "eth0", netip.MustParsePrefix("10.0.0.2/24"), netip.MustParseAddr("10.0.0.1")); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("short ID: %v", err)
	}
}

func TestExtraHostIfName(t *testing.T) {
	for _, tc := range []struct{ id, bridge, want string }{
		{"0123456789abcdef", "berth1", "vb01234567n1"},
		{"0123456789abcdef", "berth254", "vb01234567n254"},
		{"0123456789abcdef", "berth123456", "vb01234567n3456"},
	} {
		got := ExtraHostIfName(tc.id, tc.bridge)
		if got != tc.want || len(got) >= 16 || got == HostIfName(tc.id) {
			t.Errorf("ExtraHostIfName(%s, %s) = %q, want %q (under 16 bytes, not the primary's)", tc.id, tc.bridge, got, tc.want)
		}
	}
}

func TestMACFor(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"10.89.0.2", "02:42:0a:59:00:02"},
		{"172.17.0.3", "02:42:ac:11:00:03"}, // Docker's for the same address
		{"10.89.255.254", "02:42:0a:59:ff:fe"},
	}
	for _, tt := range tests {
		if got := MACFor(netip.MustParseAddr(tt.addr)).String(); got != tt.want {
			t.Errorf("MACFor(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}
