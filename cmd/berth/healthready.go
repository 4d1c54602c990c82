package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/machine/systemd"
)

// An app's service with a health check is ready when healthy: its unit
// (Type=notify) becomes active only when the check first passes, so
// that systemd starts the services ordered after it (After=, which
// depends_on gives) once it is healthy, and `systemctl start` returns
// then, with no berth process waiting. __init hands systemd the
// container's PID 1 (MAINPID=) without READY=1; the check, which runs in
// the health timer's unit, sends READY=1 on behalf of that PID
// (systemd.NotifyAs): systemd takes it as the unit's main process's.
// A container that turns unhealthy before it was ever healthy fails its
// unit's start: the check says so in the unit's journal and stops the
// container as its ExecStop would (the stop signal, the stop timeout,
// SIGKILL). The unit's TimeoutStartSec (unitgen's healthStartTimeout)
// is the backstop, for a check that never runs.

// healthReadiness acts on one check of a container whose unit is ready
// when healthy: READY=1 while it is healthy (systemd ignores it once the
// unit is active), and a failed start when it turned unhealthy while its
// unit was still starting.
func healthReadiness(rec *machine.Container, hc machine.Healthcheck, status string, changed bool, res machine.HealthResult) error {
	pid := rec.State.Pid
	switch {
	case status == machine.HealthHealthy:
		return systemd.NotifyAs(pid, "READY=1\nSTATUS=healthy", systemd.SystemNotifySocket)
	case changed:
		systemd.NotifyAs(pid, "STATUS="+status, systemd.SystemNotifySocket)
	}
	if !changed || status != machine.HealthUnhealthy {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := systemd.Connect(ctx)
	if err != nil {
		return err
	}
	st, err := m.Unit(ctx, rec.Unit)
	m.Close()
	if err != nil || st.ActiveState != "activating" || int(st.MainPID) != pid {
		return err // ready before (healthy once), or gone
	}
	msg := fmt.Sprintf("container %s is unhealthy (%d checks failed in a row, the last: exit %d: %s): %s fails to start",
		rec.Name, hc.Retries, res.ExitCode, strings.TrimSpace(res.Output), rec.Unit)
	// In the container's unit's journal (journalctl -u UNIT matches
	// OBJECT_SYSTEMD_UNIT= of root's messages) as in the check's.
	if err := journal.Send(journal.Field{Name: "MESSAGE", Value: "berth: " + msg}, journal.Field{Name: "PRIORITY", Value: "3"},
		journal.Field{Name: "SYSLOG_IDENTIFIER", Value: "berth"}, journal.Field{Name: "OBJECT_SYSTEMD_UNIT", Value: rec.Unit}); err != nil {
		fmt.Fprintf(os.Stderr, "berth: %s\n", msg)
	}
	stopUnready(rec)
	return nil
}

// stopUnready stops the container of a unit that cannot become ready,
// as the unit's ExecStop would: its stop signal, then SIGKILL after its
// stop timeout. systemd sees the main process end while the unit
// starts: the start fails (and the restart policy applies).
func stopUnready(rec *machine.Container) {
	pid, start := rec.State.Pid, rec.State.PidStart
	same := func() bool {
		s, err := machine.ProcStartTime(pid)
		return err == nil && s == start
	}
	if !same() {
		return
	}
	sig := syscall.Signal(15)
	if s, err := machine.ParseSignal(rec.StopSignal); err == nil {
		sig = s
	}
	syscall.Kill(pid, sig)
	deadline := time.Now().Add(rec.StopTimeout)
	for rec.StopTimeout < 0 || time.Now().Before(deadline) {
		if !same() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if same() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
