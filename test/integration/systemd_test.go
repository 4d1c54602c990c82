package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// runTransient runs a transient oneshot service over D-Bus and returns
// its properties once it has finished. RemainAfterExit keeps the unit
// (and its exit status) loaded after a clean exit; a failed unit stays
// loaded anyway. Both are stopped and reset afterwards.
func runTransient(t *testing.T, name string, props ...sd.Property) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := sd.NewSystemConnectionContext(ctx)
	if err != nil {
		t.Fatalf("connect to systemd over D-Bus: %v", err)
	}
	defer conn.Close()
	props = append(props, sd.PropType("oneshot"), sd.PropRemainAfterExit(true))
	done := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(ctx, name, "fail", props, done); err != nil {
		t.Fatalf("StartTransientUnit %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := sd.NewSystemConnectionContext(context.Background())
		if err == nil {
			conn.StopUnitContext(context.Background(), name, "replace", nil)
			conn.ResetFailedUnitContext(context.Background(), name)
			conn.Close()
		}
	})
	// A oneshot's start job ends when its process does: "done" or "failed".
	select {
	case res := <-done:
		if res != "done" && res != "failed" {
			t.Fatalf("start job of %s: %s", name, res)
		}
	case <-ctx.Done():
		t.Fatalf("%s did not finish in 60s", name)
	}
	p, err := conn.GetUnitTypePropertiesContext(ctx, name, "Service")
	if err != nil {
		t.Fatalf("properties of %s: %v", name, err)
	}
	u, err := conn.GetUnitPropertiesContext(ctx, name)
	if err != nil {
		t.Fatalf("properties of %s: %v", name, err)
	}
	for k, v := range u {
		p[k] = v
	}
	return p
}

// TestTransientUnitMemoryMax proves the testbed gives real systemd with
// enforced resource limits: a process that allocates 100 MB is killed
// under MemoryMax=32M and survives under MemoryMax=256M.
func TestTransientUnitMemoryMax(t *testing.T) {
	testutil.RequiresTestbed(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit    uint64
		wantCode int32 // ExecMainCode: 1 CLD_EXITED, 2 CLD_KILLED
		wantStat int32
	}{
		{32 << 20, 2, 9},  // killed by SIGKILL
		{256 << 20, 1, 0}, // exited 0
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("MemoryMax=%dM", tt.limit>>20), func(t *testing.T) {
			name := fmt.Sprintf("berth-it-mem-%d-%d.service", tt.limit>>20, time.Now().UnixNano())
			p := runTransient(t, name,
				sd.PropDescription("berth integration: MemoryMax"),
				sd.PropExecStart([]string{self}, false),
				sd.Property{Name: "Environment", Value: godbus.MakeVariant([]string{helperEnv + "=alloc"})},
				sd.Property{Name: "MemoryMax", Value: godbus.MakeVariant(tt.limit)},
				sd.Property{Name: "MemorySwapMax", Value: godbus.MakeVariant(uint64(0))},
			)
			if got := p["MemoryMax"]; got != tt.limit {
				t.Errorf("MemoryMax = %v, want %d", got, tt.limit)
			}
			code, stat := p["ExecMainCode"], p["ExecMainStatus"]
			if code != tt.wantCode || stat != tt.wantStat {
				t.Errorf("allocating 100 MB under MemoryMax=%dM: ExecMainCode=%v ExecMainStatus=%v (Result=%v), want %d/%d",
					tt.limit>>20, code, stat, p["Result"], tt.wantCode, tt.wantStat)
			}
		})
	}
}

// TestTestbedIsolation checks what the tests rely on: systemd-machined
// answers on the bus, and /var/lib/berth is not on the overlay root (so
// overlayfs works there).
func TestTestbedIsolation(t *testing.T) {
	testutil.RequiresTestbed(t)
	ctx := context.Background()
	conn, err := godbus.ConnectSystemBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var machines [][]any
	obj := conn.Object("org.freedesktop.machine1", "/org/freedesktop/machine1")
	if err := obj.CallWithContext(ctx, "org.freedesktop.machine1.Manager.ListMachines", 0).Store(&machines); err != nil {
		t.Fatalf("machined ListMachines: %v", err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	fsType := ""
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 8 && f[4] == "/var/lib/berth" {
			for i, x := range f {
				if x == "-" && i+1 < len(f) {
					fsType = f[i+1]
				}
			}
		}
	}
	if fsType == "" || fsType == "overlay" {
		t.Errorf("/var/lib/berth is %q, want its own non-overlay mount", fsType)
	}
}
