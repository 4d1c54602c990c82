package integration

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/systemd"
)

// TestManagerTransientUnit drives machine/systemd against the testbed's
// systemd: a delegated unit in machine.slice with limits, a second start
// of the same name refused, kill of the main process recorded as a
// signal exit, reset-failed freeing the name, and stop.
func TestManagerTransientUnit(t *testing.T) {
	testutil.RequiresTestbed(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := systemd.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	name := fmt.Sprintf("berth-it-%d.service", time.Now().UnixNano())
	props := []machine.Property{
		{Name: "Description", Value: "berth integration: manager"},
		{Name: "Slice", Value: "machine.slice"},
		{Name: "Delegate", Value: true},
		{Name: "MemoryMax", Value: uint64(64 << 20)},
		{Name: "TasksMax", Value: uint64(20)},
		{Name: "CPUQuotaPerSecUSec", Value: uint64(500000)},
		{Name: "ExecStart", Value: machine.ExecCommand{Path: "/bin/sleep", Argv: []string{"sleep", "300"}}},
	}
	if err := m.StartTransient(ctx, name, props); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(context.Background(), name); m.ResetFailed(context.Background(), name) })

	st, err := m.Unit(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if st.ActiveState != "active" || st.Slice != "machine.slice" || !st.Delegate || st.MainPID == 0 ||
		st.MemoryMax != 64<<20 || st.TasksMax != 20 || st.CPUQuotaPerSecUSec != 500000 {
		t.Errorf("unit status %+v", st)
	}
	if err := m.StartTransient(ctx, name, props); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second start of %s: %v, want ErrAlreadyExists", name, err)
	}

	if err := m.Kill(ctx, name, "main", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for st.ActiveState != "failed" && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		st, _ = m.Unit(ctx, name)
	}
	if st.ActiveState != "failed" || st.ExecMainCode != 2 || st.ExecMainStatus != int32(syscall.SIGKILL) || st.Result != "signal" {
		t.Errorf("after kill -9: %+v, want failed by signal 9", st)
	}
	if err := m.ResetFailed(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := m.StartTransient(ctx, name, props); err != nil {
		t.Fatalf("start after reset-failed: %v", err)
	}
	if err := m.Stop(ctx, name); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Unit(ctx, name); st.ActiveState == "active" {
		t.Errorf("still active after stop: %+v", st)
	}
	if err := m.Kill(ctx, "berth-it-nonexistent.service", "main", syscall.SIGTERM); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("kill of an unknown unit: %v, want ErrNotFound", err)
	}
}
