package testutil

import (
	"os"
	"testing"
)

// InTestbed reports whether the process runs inside a berth testbed.
func InTestbed() bool { return os.Getenv("BERTH_TESTBED") != "" }

// RequiresRoot skips t unless it runs as root (or fails it inside the
// testbed, where root is always expected).
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InTestbed() {
		t.Fatal("inside the testbed but not root")
	}
	t.Skip("needs root: run as root, or with make test-integration")
}

// RequiresTestbed skips t outside the testbed, saying how to run it.
func RequiresTestbed(t testing.TB) {
	t.Helper()
	if !InTestbed() {
		t.Skip("integration test: needs real systemd; run it with `make test-integration` (boots contrib/testbed)")
	}
}
