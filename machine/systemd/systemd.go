package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// Manager talks to the system manager (PID 1).
type Manager struct {
	conn *sd.Conn
}

// ErrNoSystemd explains what berth needs when systemd cannot be reached.
var ErrNoSystemd = fmt.Errorf("cannot reach systemd over D-Bus: berth needs a host where systemd is PID 1 (for tests, contrib/testbed boots one): %w", errdefs.ErrUnavailable)

// Booted reports whether systemd is the init system here
// (sd_booted(3)); ErrNoSystemd when it is not.
func Booted() error {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return ErrNoSystemd
	}
	return nil
}

// Connect connects to systemd over the system bus.
func Connect(ctx context.Context) (*Manager, error) {
	if err := Booted(); err != nil {
		return nil, err
	}
	// One bus connection for calls and signals (go-systemd dials two by
	// default: each costs a connect, an authentication and a Hello).
	var bus *godbus.Conn
	conn, err := sd.NewConnection(func() (*godbus.Conn, error) {
		if bus != nil {
			return bus, nil
		}
		c, err := godbus.SystemBusPrivate(godbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.Hello(); err != nil {
			c.Close()
			return nil, err
		}
		bus = c
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoSystemd, err)
	}
	return &Manager{conn: conn}, nil
}

// ConnectDirect connects to systemd over its private socket
// (/run/systemd/private) rather than the bus: root only, with no bus
// daemon in between, so it still works during a shutdown once
// dbus.service has stopped. It suits calls to systemd's Manager; it
// carries no signals from other services.
func ConnectDirect(ctx context.Context) (*Manager, error) {
	if err := Booted(); err != nil {
		return nil, err
	}
	conn, err := sd.NewSystemdConnectionContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoSystemd, err)
	}
	return &Manager{conn: conn}, nil
}

// Close closes the bus connection.
func (m *Manager) Close() { m.conn.Close() }

// jobError turns a job result other than "done" into an error. The
// results are systemd's (org.freedesktop.systemd1(5), JobRemoved):
// canceled, timeout, failed, dependency, skipped.
func jobError(op, unit, result string) error {
	if result == "done" {
		return nil
	}
	return fmt.Errorf("%s %s: job %s (see: systemctl status %s; journalctl -u %s)", op, unit, result, unit, unit)
}

// wait waits for a job's result or the context's end.
func wait(ctx context.Context, op, unit string, ch <-chan string) error {
	select {
	case res := <-ch:
		return jobError(op, unit, res)
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", op, unit, ctx.Err())
	}
}

// StartTransient creates and starts the transient unit name with props
// and waits for the start job. Job mode "fail": a unit of that name that
// is already loaded is an error of class ErrAlreadyExists, never replaced.
func (m *Manager) StartTransient(ctx context.Context, name string, props []machine.Property) error {
	dprops := make([]sd.Property, 0, len(props))
	for _, p := range props {
		v, err := variant(p.Value)
		if err != nil {
			return fmt.Errorf("start %s: property %s: %w", name, p.Name, err)
		}
		dprops = append(dprops, sd.Property{Name: p.Name, Value: v})
	}
	ch := make(chan string, 1)
	if _, err := m.conn.StartTransientUnitContext(ctx, name, "fail", dprops, ch); err != nil {
		var de godbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.UnitExists" {
			return fmt.Errorf("start %s: unit exists: %w", name, errdefs.ErrAlreadyExists)
		}
		return fmt.Errorf("start %s: %w", name, err)
	}
	return wait(ctx, "start", name, ch)
}

// Attach moves process pid into unit's cgroup, as the unit's own.
func (m *Manager) Attach(ctx context.Context, unit string, pid int) error {
	if err := m.conn.AttachProcessesToUnit(ctx, unit, "/", []uint32{uint32(pid)}); err != nil {
		return fmt.Errorf("attach process %d to %s: %w", pid, unit, err)
	}
	return nil
}

// Reload makes systemd read unit files again (systemctl daemon-reload).
func (m *Manager) Reload(ctx context.Context) error {
	if err := m.conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	return nil
}

// Start starts the unit name (one from a unit file) and waits for the
// start job.
func (m *Manager) Start(ctx context.Context, name string) error {
	ch := make(chan string, 1)
	if _, err := m.conn.StartUnitContext(ctx, name, "replace", ch); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return wait(ctx, "start", name, ch)
}

// Stop stops unit name and waits for the stop job; a unit that is not
// loaded is already stopped.
func (m *Manager) Stop(ctx context.Context, name string) error {
	ch := make(chan string, 1)
	if _, err := m.conn.StopUnitContext(ctx, name, "replace", ch); err != nil {
		var de godbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit" {
			return nil
		}
		return fmt.Errorf("stop %s: %w", name, err)
	}
	return wait(ctx, "stop", name, ch)
}

// Kill sends sig to the unit's main process (whom "main"), or to every
// process of it ("all").
func (m *Manager) Kill(ctx context.Context, name, whom string, sig syscall.Signal) error {
	err := m.conn.KillUnitWithTarget(ctx, name, sd.Who(whom), int32(sig))
	var de godbus.Error
	if errors.As(err, &de) && (de.Name == "org.freedesktop.systemd1.NoSuchUnit" || de.Name == "org.freedesktop.DBus.Error.UnknownObject") {
		return fmt.Errorf("kill %s: not running: %w", name, errdefs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	return nil
}

// ResetFailed forgets a failed unit's state so its name can be reused.
func (m *Manager) ResetFailed(ctx context.Context, name string) error {
	err := m.conn.ResetFailedUnitContext(ctx, name)
	var de godbus.Error
	if err != nil && !(errors.As(err, &de) && (de.Name == "org.freedesktop.systemd1.NoSuchUnit" ||
		de.Name == "org.freedesktop.systemd1.LoadFailed")) {
		return fmt.Errorf("reset-failed %s: %w", name, err)
	}
	return nil
}

// Status is what berth reads of a unit.
type Status struct {
	LoadState, ActiveState, SubState, Result string
	MainPID                                  uint32
	// ExecMainCode is a CLD_* code (1 exited, 2 killed, 3 dumped) and
	// ExecMainStatus the exit status or the signal.
	ExecMainCode, ExecMainStatus int32
	ControlGroup, Slice          string
	Delegate                     bool
	// Transient is false for a unit loaded from a unit file.
	Transient           bool
	MemoryMax, TasksMax uint64
	CPUQuotaPerSecUSec  uint64
}

// Unit reads the status of unit name; LoadState "not-found" for a unit
// systemd does not know.
func (m *Manager) Unit(ctx context.Context, name string) (Status, error) {
	u, err := m.conn.GetUnitPropertiesContext(ctx, name)
	if err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", name, err)
	}
	s, err := m.conn.GetUnitTypePropertiesContext(ctx, name, "Service")
	if err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", name, err)
	}
	st := Status{}
	str := func(mp map[string]any, k string) string { v, _ := mp[k].(string); return v }
	st.LoadState, st.ActiveState, st.SubState = str(u, "LoadState"), str(u, "ActiveState"), str(u, "SubState")
	st.Result, st.ControlGroup, st.Slice = str(s, "Result"), str(s, "ControlGroup"), str(s, "Slice")
	st.MainPID, _ = s["MainPID"].(uint32)
	st.ExecMainCode, _ = s["ExecMainCode"].(int32)
	st.ExecMainStatus, _ = s["ExecMainStatus"].(int32)
	st.Delegate, _ = s["Delegate"].(bool)
	st.Transient, _ = u["Transient"].(bool)
	st.MemoryMax, _ = s["MemoryMax"].(uint64)
	st.TasksMax, _ = s["TasksMax"].(uint64)
	st.CPUQuotaPerSecUSec, _ = s["CPUQuotaPerSecUSec"].(uint64)
	return st, nil
}

// StopRequested reports whether a stop of unit was asked for and is
// under way: a stop or restart job of it is queued or running
// (systemctl stop or restart, berth stop, machinectl terminate, a
// shutdown). A main process that ended on its own leaves no job (a
// restart under Restart= is queued only after RestartSec).
func (m *Manager) StopRequested(ctx context.Context, unit string) (bool, error) {
	jobs, err := m.conn.ListJobsContext(ctx)
	if err != nil {
		return false, fmt.Errorf("jobs of %s: %w", unit, err)
	}
	return stopJob(jobs, unit), nil
}

// stopJob reports whether jobs hold a stop or restart job of unit.
func stopJob(jobs []sd.JobStatus, unit string) bool {
	for _, j := range jobs {
		if j.Unit == unit && (j.JobType == "stop" || j.JobType == "restart") {
			return true
		}
	}
	return false
}

// execTuple is the D-Bus a(sasb) element of ExecStart= and friends.
// The bool is systemd's "-" prefix: true ignores the command's failure
// (go-systemd's PropExecStart calls it uncleanIsFailure, which it is not).
type execTuple struct {
	Path          string
	Args          []string
	IgnoreFailure bool
}

// variant converts a machine.Property value to the D-Bus variant systemd
// expects for it.
func variant(v any) (godbus.Variant, error) {
	switch x := v.(type) {
	case string, bool, uint64, int32, uint32, []string, [][]byte:
		return godbus.MakeVariant(x), nil
	case machine.ExitStatusSet:
		st := struct{ Statuses, Signals []int32 }{x.Statuses, x.Signals}
		if st.Statuses == nil {
			st.Statuses = []int32{}
		}
		if st.Signals == nil {
			st.Signals = []int32{}
		}
		return godbus.MakeVariant(st), nil
	case []machine.DeviceRule:
		// DeviceAllow= (a(ss)).
		out := make([]struct{ Path, Permissions string }, len(x))
		for i, r := range x {
			out[i].Path, out[i].Permissions = r.Path, r.Permissions
		}
		return godbus.MakeVariant(out), nil
	case machine.ExecCommand:
		return godbus.MakeVariant([]execTuple{{x.Path, x.Argv, x.IgnoreFailure}}), nil
	case []machine.ExecCommand:
		out := make([]execTuple, len(x))
		for i, c := range x {
			out[i] = execTuple{c.Path, c.Argv, c.IgnoreFailure}
		}
		return godbus.MakeVariant(out), nil
	}
	return godbus.Variant{}, fmt.Errorf("unsupported value type %T: %w", v, errdefs.ErrInvalid)
}
