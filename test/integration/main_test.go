package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

// helperEnv selects a helper mode of this test binary (see TestMain),
// used as a payload inside transient units.
const helperEnv = "BERTH_IT_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
	case "alloc":
		os.Exit(allocate(100 << 20))
	default:
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", os.Getenv(helperEnv))
		os.Exit(2)
	}
	if testutil.InTestbed() {
		comm, _ := os.ReadFile("/proc/1/comm")
		fmt.Printf("integration: running inside testbed %q, PID 1 is %s", os.Getenv("BERTH_TESTBED"), comm)
		if strings.TrimSpace(string(comm)) != "systemd" {
			fmt.Println("integration: PID 1 is not systemd: the testbed is broken")
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// allocate touches n bytes of memory, so that a memory limit below n
// kills the process, and exits 0 when it survives.
func allocate(n int) int {
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	fmt.Printf("allocated %d bytes\n", len(b))
	return 0
}

// binary returns the path of a built artefact that the Makefile names in
// the environment (BERTH_BIN, BERTH_IMAGES).
func binary(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run the integration tests with `make test-integration`", env)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return abs
}
