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
