package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/machine/nsinit"
	"github.com/spf13/cobra"
)

// Health checks without a daemon: a container with a check gets, when
// its __init has started it, a transient timer of its own
// (UNIT-health.timer, BindsTo= the container's unit, so it ends with
// it) that runs `berth __health ID` every interval; that records the
// result in the container's State.Health, as Docker keeps it, and writes
// a health_status event when the status changes.

func newHealthCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__health ID",
		Short:  "Run a container's health check once and record it (its health timer runs this)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return checkHealth(g, args[0])
		},
	}
}

// healthOutputMax is how much of a check's output is kept, as Docker.
const healthOutputMax = 4096

// checkHealth runs the check of container id once, in the container, and
// records the result.
func checkHealth(g *globalOptions, id string) error {
	cs, err := machine.OpenContainers(g.root)
	if err != nil {
		return err
	}
	rec, err := cs.Load(id)
	if err != nil || !rec.IsRunning() || rec.Options.Healthcheck == nil {
		return nil // ended, or removed: its timer ends with its unit
	}
	if err := nsinit.ReexecReadOnly(); err != nil {
		return err
	}
	hc := rec.Options.Healthcheck.WithDefaults()
	res := runCheck(cs, rec, hc)
	var changed bool
	var status string
	_, err = cs.Update(id, func(r *machine.Container) error {
		if !r.IsRunning() || r.State.Pid != rec.State.Pid {
			return errNotRunning
		}
		if r.State.Health == nil {
			r.State.Health = &machine.Health{Status: machine.HealthStarting}
		}
		changed = r.State.Health.Record(hc, r.State.StartedAt, res)
		status = r.State.Health.Status
		return nil
	})
	if errors.Is(err, errNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	if changed {
		emit("health_status: "+status, append(containerFields(rec), journal.Field{Name: "BERTH_HEALTH", Value: status})...)
	}
	if readyWhenHealthy(rec) {
		return healthReadiness(rec, hc, status, changed, res)
	}
	return nil
}

var errNotRunning = errors.New("not running")

// runCheck runs the check's command in the container with its timeout.
func runCheck(cs *machine.Containers, rec *machine.Container, hc machine.Healthcheck) machine.HealthResult {
	res := machine.HealthResult{Start: time.Now().UTC(), ExitCode: -1}
	defer func() { res.End = time.Now().UTC() }()
	argv, err := hc.Argv()
	if err != nil {
		res.Output = err.Error()
		return res
	}
	spec, err := cs.Spec(rec.ID)
	if err != nil {
		res.Output = err.Error()
		return res
	}
	r, w, err := os.Pipe()
	if err != nil {
		res.Output = err.Error()
		return res
	}
	defer r.Close()
	o := nsinit.ExecOptions{
		Pid: rec.State.Pid, Args: argv, Env: spec.Process.Env, Cwd: spec.Process.Cwd,
		User: spec.Process.User, NoNewPrivileges: spec.Process.NoNewPrivileges, Stdout: w, Stderr: w,
	}
	if spec.Process.Capabilities != nil {
		o.Bounding = spec.Process.Capabilities.Bounding
	}
	if spec.Linux != nil {
		if o.SeccompFilter, err = machine.ExecSeccompFilter(spec.Linux.Seccomp); err != nil {
			res.Output = err.Error()
			return res
		}
	}
	p, err := nsinit.Exec(o)
	w.Close()
	var se *nsinit.StartError
	if errors.As(err, &se) {
		res.ExitCode, res.Output = se.Code, se.Error()
		return res
	}
	if err != nil {
		res.Output = err.Error()
		return res
	}
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, healthOutputMax))
		io.Copy(io.Discard, r)
		out <- string(b)
	}()
	timer := time.AfterFunc(hc.Timeout, func() { p.Signal(syscall.SIGKILL) })
	st, err := p.Wait()
	timedOut := !timer.Stop()
	res.Output = <-out
	switch {
	case timedOut:
		res.ExitCode, res.Output = -1, fmt.Sprintf("Health check exceeded timeout (%s)", hc.Timeout)
	case err != nil:
		res.Output = err.Error()
	default:
		res.ExitCode = st.ExitCode()
	}
	return res
}

// waitHealthy waits until the container id is healthy: the
// ExecStartPre that units written by berth before its services' units
// became ready when healthy (healthready.go) run for `depends_on`
// condition "healthy"; kept for the units `berth up --persist` left in
// /etc/systemd/system until the next `berth up` rewrites them.
func waitHealthy(ctx context.Context, cs *machine.Containers, id string) error {
	for {
		rec, err := cs.Load(id)
		if err != nil {
			return err
		}
		if rec.Options.Healthcheck == nil {
			return fmt.Errorf("container %s has no health check to wait for: %w", rec.Name, errdefs.ErrInvalid)
		}
		if rec.IsRunning() && rec.State.Health != nil && rec.State.Health.Status == machine.HealthHealthy {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container %s is not healthy: %w", rec.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func newWaitHealthyCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__wait-healthy ID",
		Short:  "Wait until a container is healthy (an app's depends_on condition healthy)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cs, err := machine.OpenContainers(g.root)
			if err != nil {
				return err
			}
			return waitHealthy(c.Context(), cs, args[0])
		},
	}
}
