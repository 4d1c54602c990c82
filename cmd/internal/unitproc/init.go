package unitproc

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/console"
	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/machine/nsinit"
	"github.com/berth/berth/machine/systemd"
)

// Init is the unit's first main process: it starts the
// container's PID 1 in new namespaces, records it, registers it with
// machined, hands it to systemd (MAINPID=, READY=1), lets it exec the
// command and exits.
func Init(stateRoot, id string) error {
	passed := systemd.ListenFDs() // a -t container's terminal, on a restart (tty.go)
	// The bus connection for machined, made while the container is set up.
	machined := systemd.DialMachined()
	defer machined.Close()
	cs, err := machine.OpenContainers(stateRoot)
	if err != nil {
		return exitWith(nsinit.ExitSetup, err)
	}
	rec, err := cs.Load(id)
	if err != nil {
		return exitWith(nsinit.ExitSetup, err)
	}
	spec, err := cs.Spec(id)
	if err != nil {
		return exitWith(nsinit.ExitSetup, err)
	}
	dir := cs.Dir(id)
	cfg := &nsinit.Config{
		Spec:          spec,
		LowerDirs:     rec.LowerDirs,
		Upper:         filepath.Join(dir, "upper"),
		Work:          filepath.Join(dir, "work"),
		Rootfs:        filepath.Join(dir, "rootfs"),
		StateDir:      dir,
		LogIdentifier: machine.ShortID(id),
		Unit:          rec.Unit,
		HostDevices:   rec.Options.Privileged,
		CopyUp:        copyUpTargets(rec),
		DeviceSources: deviceSources(rec), // userns.go
	}
	// The seccomp filter compiles (half a millisecond for Docker's
	// profile) while the rest is prepared.
	compiled := make(chan error, 1)
	go func() {
		var err error
		if spec.Linux != nil {
			cfg.SeccompFilter, err = machine.SeccompFilter(spec.Linux.Seccomp)
			cfg.SeccompEarly = machine.SeccompEarly(cfg.SeccompFilter)
		}
		compiled <- err
	}()
	var pty *console.Pty
	if rec.Options.Tty {
		if pty, err = initConsole(rec, passed); err != nil {
			return exitWith(nsinit.ExitSetup, err)
		}
		defer pty.Close()
		cfg.Console = pty.Slave
	}
	stdinR, stdinW, err := initStdin(rec) // tty.go: `run -i` without -t
	if err != nil {
		return exitWith(nsinit.ExitSetup, err)
	}
	if stdinW != nil {
		defer stdinW.Close()
		cfg.Stdin = stdinR
	}
	exe, err := CLIPath()
	if err != nil {
		return exitWith(nsinit.ExitSetup, err)
	}
	root, _ := filepath.Abs(stateRoot)
	var addr netip.Addr
	netw, onNet, err := ContainerNetwork(root, rec)
	if err != nil {
		cs.Update(id, func(r *machine.Container) error {
			r.State.Error, r.State.ExitCode, r.State.UserStart = err.Error(), nsinit.ExitSetup, false
			return nil
		})
		return exitWith(nsinit.ExitSetup, err)
	}
	if onNet {
		if addr, err = allocateAddress(root, rec, netw); err != nil {
			cs.Update(id, func(r *machine.Container) error {
				r.State.Error, r.State.ExitCode, r.State.UserStart = err.Error(), nsinit.ExitSetup, false
				return nil
			})
			return exitWith(nsinit.ExitSetup, err)
		}
		cfg.Address = addr.String()
	}
	cfg.HostNetwork = rec.Options.Network == machine.NetworkHost
	cfg.ResolvConf = resolvConf(rec, netw, onNet)
	cfg.ExtraHosts = extraHosts(rec, netw, onNet)
	if _, shared := machine.SharedNetwork(rec.Options.Network); shared {
		if err := sharedNetwork(cs, rec, cfg); err != nil {
			cs.Update(id, func(r *machine.Container) error {
				r.State.Error, r.State.ExitCode, r.State.UserStart = err.Error(), nsinit.ExitSetup, false
				return nil
			})
			return exitWith(nsinit.ExitSetup, err)
		}
	}
	if err := acquireVolumes(root, rec); err != nil {
		if addr.IsValid() {
			Disconnect(root, rec, netw)
		}
		cs.Update(id, func(r *machine.Container) error {
			r.State.Error, r.State.ExitCode, r.State.UserStart = err.Error(), nsinit.ExitSetup, false
			return nil
		})
		return exitWith(nsinit.ExitSetup, err)
	}
	child, argv := nsinit.Helper(exe)
	var proc *nsinit.Process
	if err = <-compiled; err == nil {
		proc, err = nsinit.Start(cfg, child, argv)
	}
	if stdinR != nil {
		stdinR.Close() // the container's now
	}
	if err != nil {
		code := nsinit.ExitSetup
		if se, ok := err.(*nsinit.StartError); ok {
			code = se.Code
		}
		if addr.IsValid() {
			// Release the lease now: a client that saw the failure may
			// remove the record before __cleanup runs, and __cleanup
			// releases only what a record names.
			Disconnect(root, rec, netw)
		}
		cs.Update(id, func(r *machine.Container) error {
			r.State.Error, r.State.ExitCode, r.State.UserStart = err.Error(), code, false
			return nil
		})
		return exitWith(code, err)
	}
	pid := proc.Pid
	if addr.IsValid() {
		// The child waits on its pipe: it dies with this process if the
		// network cannot be set up.
		if err := connect(root, rec, netw, pid, addr); err != nil {
			Disconnect(root, rec, netw)
			cs.Update(id, func(r *machine.Container) error {
				r.State.Error, r.State.ExitCode, r.State.UserStart = err.Error(), nsinit.ExitSetup, false
				return nil
			})
			return exitWith(nsinit.ExitSetup, err)
		}
	}
	for k, cn := range rec.Options.Connected {
		if err := AttachExtra(root, rec, cn, pid, fmt.Sprintf("eth%d", k+1)); err != nil {
			releaseExtra(root, rec)
			if addr.IsValid() {
				Disconnect(root, rec, netw)
			}
			cs.Update(id, func(r *machine.Container) error {
				r.State.Error, r.State.ExitCode, r.State.UserStart = err.Error(), nsinit.ExitSetup, false
				return nil
			})
			return exitWith(nsinit.ExitSetup, err)
		}
	}
	var ttyLog uint64
	if pty != nil {
		// Its output is its log too (ttylog.go).
		if ttyLog, err = startTTYRelay(exe, dir, rec, pty.Master, pid); err != nil {
			fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
		}
	}
	// machined registration talks D-Bus: in parallel with the rest.
	registered := make(chan error, 1)
	go func() { registered <- machined.Register(rec.Machine, id, rec.Unit, pid, cfg.Rootfs) }()
	pidStart, _ := machine.ProcStartTime(pid)
	consoleWait := false
	_, err = cs.Update(id, func(r *machine.Container) error {
		if pty != nil {
			r.State.PtyIndex, r.State.PtyDev = pty.Index, pty.Dev
		}
		consoleWait, r.State.ConsoleWait = r.State.ConsoleWait && (pty != nil || stdinW != nil), false
		if stdinW != nil {
			r.State.InitPid, r.State.StdinFd = os.Getpid(), int(stdinW.Fd())
		}
		if !r.State.UserStart {
			r.State.RestartCount++
		}
		r.State.Status, r.State.Pid, r.State.PidStart = machine.StatusRunning, pid, pidStart
		r.State.Health = nil
		if r.Options.Healthcheck != nil {
			r.State.Health = &machine.Health{Status: machine.HealthStarting, Log: []machine.HealthResult{}}
		}
		r.State.StartedAt, r.State.Error, r.State.UserStart = time.Now().UTC(), "", false
		r.State.LogStreams = proc.LogStreams
		if ttyLog != 0 {
			r.State.LogStreams = append(r.State.LogStreams, ttyLog)
		}
		r.State.IPAddress = ""
		if addr.IsValid() {
			r.State.IPAddress = addr.String()
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth: record the start of %s: %v\n", rec.Name, err)
	}
	if err := <-registered; err != nil {
		fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
	}
	// systemd must have taken the container's PID 1 as the main process
	// before the command runs (see nsinit). The unit is ready now, or,
	// for an app's service with a health check, when the check first
	// passes (the check sends READY=1, health.go).
	state := "MAINPID=" + strconv.Itoa(pid) + "\nREADY=1"
	if ReadyWhenHealthy(rec) {
		state = "MAINPID=" + strconv.Itoa(pid) + "\nSTATUS=waiting for the health check to pass"
	}
	if err := systemd.NotifyBarrier(state, 30*time.Second); err != nil {
		return exitWith(nsinit.ExitSetup, err)
	}
	if consoleWait {
		waitForConsoleClient(dir) // `run -it`/`-i`: its client holds the terminal or stdin first
	}
	if stdinW != nil {
		stdinW.Close() // the client's alone: its EOF is the container's
	}
	if err := proc.Resume(); err != nil {
		return exitWith(nsinit.ExitSetup, err)
	}
	Emit("start", ContainerFields(rec)...)
	if rec.Options.Healthcheck != nil {
		if err := startHealthTimer(root, rec); err != nil {
			fmt.Fprintf(os.Stderr, "berth: warning: health check of %s: %v\n", rec.Name, err)
			if ReadyWhenHealthy(rec) {
				// No check will say it is healthy: ready now, as a
				// container without one, rather than never.
				fmt.Fprintf(os.Stderr, "berth: warning: %s is ready without its health check\n", rec.Unit)
				systemd.NotifyAs(pid, "READY=1\nSTATUS=health check not running", "")
			}
		}
	}
	return nil
}

// EndRecorded says whether the record of container id says that its
// last run has ended (and started without error).
func EndRecorded(stateRoot, id string) bool {
	cs, err := machine.OpenContainers(stateRoot)
	if err != nil {
		return false
	}
	rec, err := cs.Load(id)
	if err != nil {
		return false
	}
	st := rec.State
	return st.Status == machine.StatusExited && st.Pid == 0 && st.Error == "" && !st.StartedAt.IsZero() && !st.FinishedAt.Before(st.StartedAt)
}

// Cleanup runs after the container's PID 1 is gone, however it
// ended (exit, signal, kill -9, a failed start): it records the exit in
// container.json, writes the "die" record to the journal after
// everything the container wrote (`berth run` waits for it), and
// removes an --rm container.
func Cleanup(stateRoot, id string) error {
	cs, err := machine.OpenContainers(stateRoot)
	if err != nil {
		return err
	}
	st := machine.ExitStatus{Result: os.Getenv("SERVICE_RESULT"), Code: os.Getenv("EXIT_CODE"), Status: os.Getenv("EXIT_STATUS")}
	// A stop was asked for: no restart follows, whatever the policy. A
	// unit with an ExecStop script (a short stop timeout) has left its
	// marker; one that systemd stops itself (machine.NativeStop) has a
	// stop job, asked for only when the policy would restart.
	root, _ := filepath.Abs(stateRoot)
	stopped := os.Remove(machine.StopMarker(root, id)) == nil
	var stopJob chan bool // the answer of stopJobUnderWay, asked beside the rest
	stopRequested := func() bool {
		if !stopped && stopJob != nil {
			stopped, stopJob = <-stopJob, nil
		}
		return stopped
	}
	// ended applies the exit to a record; it runs twice: once to write
	// the die record, once under the lock to save it.
	ended := func(r *machine.Container) {
		code := st.ExitCode()
		if r.State.Error != "" && r.State.Status != machine.StatusRunning {
			code = r.State.ExitCode // the start failed; __init chose the code
		}
		restarting := r.State.Error == "" &&
			machine.WillRestart(r.Options.Restart, code, r.State.RestartCount, r.State.Stopping) &&
			!stopRequested()
		r.State.Status = machine.StatusExited
		if restarting {
			r.State.Status = machine.StatusRestarting
		}
		r.State.ExitCode, r.State.Pid, r.State.PidStart, r.State.LogStreams, r.State.IPAddress = code, 0, 0, nil, ""
		r.State.Health = nil
		r.State.OOMKilled = code == 137 && machine.OOMKills() > 0
		r.State.Paused, r.State.PtyIndex, r.State.PtyDev, r.State.InitPid, r.State.StdinFd = false, 0, 0, 0, 0
	}
	rec, err := cs.Load(id)
	if errdefs.IsNotFound(err) {
		return nil // never made (an app's ExecStartPre failed) or removed
	}
	if err != nil {
		return err
	}
	streams := rec.State.LogStreams
	if !stopped && rec.Options.Restart.Name != "" && rec.Options.Restart.Name != machine.RestartNo && !rec.State.Stopping {
		// A restart may follow: whether a stop is under way is asked
		// while the rest is done (the cleanup's time is the stop
		// timeout, machine.NativeStop).
		stopJob = make(chan bool, 1)
		go func() { stopJob <- stopJobUnderWay(rec.Unit) }()
	}
	// The network first: Docker's `run --rm`, `rm` and `stop` return with
	// the container's address, port rules and link gone. The nftables
	// socket is closed last, when nothing waits for this process
	// (disconnectWith).
	nft := &lastingNft{}
	defer nft.close()
	if netw, onNet, err := ContainerNetwork(root, rec); err != nil {
		fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
	} else if onNet {
		if err := disconnectWith(root, rec, netw, nft); err != nil {
			fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
		}
	}
	if err := releaseExtra(root, rec); err != nil {
		fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
	}
	// Volumes with options: the last user unmounts.
	if err := releaseVolumes(root, rec); err != nil {
		fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
	}
	ended(rec)
	// Well inside the unit's TimeoutStopSec, which also bounds this
	// command: the stop timeout, at least 5 s (machine.NativeStop), or 5
	// s more than a shorter one.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// Everything the container wrote is in the journal before the record
	// that says it ended (journald has read its streams to the end), and
	// that is there before container.json says so: `berth run` reads the
	// journal once the record has changed.
	if err := journal.WaitStreamsDrained(ctx, streams); err != nil {
		fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
	}
	msg := fmt.Sprintf("container %s exited with code %d", rec.Name, rec.State.ExitCode)
	fields := []journal.Field{
		{Name: "BERTH_EVENT", Value: "die"},
		// journald often cannot tell which unit a process as short-lived
		// as this one came from: name the container and its unit here
		// (OBJECT_SYSTEMD_UNIT from root puts it in journalctl -u).
		{Name: "OBJECT_SYSTEMD_UNIT", Value: rec.Unit},
		{Name: "CONTAINER_ID", Value: machine.ShortID(rec.ID)},
		{Name: "CONTAINER_ID_FULL", Value: rec.ID},
		{Name: "CONTAINER_NAME", Value: rec.Name},
		{Name: "CONTAINER_TAG", Value: machine.ShortID(rec.ID)},
		{Name: "IMAGE_NAME", Value: rec.Image},
		{Name: "SYSLOG_IDENTIFIER", Value: "berth"},
		{Name: "EXIT_CODE", Value: strconv.Itoa(rec.State.ExitCode)},
		{Name: "PRIORITY", Value: "5"},
		{Name: "SERVICE_RESULT", Value: st.Result},
		{Name: "BERTH_STREAMS", Value: strconv.Itoa(len(streams))},
		{Name: "EXIT_STATUS", Value: st.Code + "/" + st.Status},
	}
	if rec.State.Error != "" {
		msg = fmt.Sprintf("container %s did not start: %s", rec.Name, rec.State.Error)
		fields = append(fields, journal.Field{Name: "BERTH_ERROR", Value: rec.State.Error})
	}
	if rec.State.OOMKilled {
		fields = append(fields, journal.Field{Name: "BERTH_OOM", Value: "1"})
	}
	fields = append(fields, journal.Field{Name: "MESSAGE", Value: msg})
	if err := journal.Send(fields...); err != nil {
		fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
	}
	rec, err = cs.Update(id, func(r *machine.Container) error {
		ended(r)
		r.State.FinishedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	// A start that failed is removed by the client, which reports it.
	if rec.Options.AutoRemove && rec.State.Status == machine.StatusExited && rec.State.Error == "" {
		if err := cs.Remove(id); err != nil {
			return err
		}
		Emit("destroy", ContainerFields(rec)...)
		_, err := RemoveAnonymousVolumes(stateRoot, cs, rec) // as Docker's --rm
		return err
	}
	return nil
}

// stopJobUnderWay asks systemd whether a stop of unit is under way
// (systemd.Manager.StopRequested), over PID 1's private socket, which
// works at shutdown after the bus has stopped, or else the bus; after a
// second, or on an error, it warns and says no, so that the restart
// policy decides (and `berth ps` corrects a "restarting" whose unit is
// gone).
func stopJobUnderWay(unit string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := systemd.ConnectDirect(ctx)
	if err != nil {
		m, err = systemd.Connect(ctx)
	}
	if err == nil {
		defer m.Close()
		var stop bool
		if stop, err = m.StopRequested(ctx, unit); err == nil {
			return stop
		}
	}
	fmt.Fprintf(os.Stderr, "berth: warning: was %s stopped? %v\n", unit, err)
	return false
}

// CleanupFlags are `__cleanup`'s options for an app's job (a oneshot
// unit, unitgen.IsJob), which records its end once it has completed, as
// its ExecStartPost (systemd runs it only after an exit with status 0,
// and passes no exit status to it), while its ExecStopPost, later,
// leaves that record alone.
type CleanupFlags struct {
	// Completed: the main process has exited with status 0.
	Completed bool
	// SkipRecorded: do nothing when the end is recorded already.
	SkipRecorded bool
}

// CleanupWith is Cleanup with f.
func CleanupWith(stateRoot, id string, f CleanupFlags) error {
	if f.SkipRecorded && EndRecorded(stateRoot, id) {
		return nil
	}
	if f.Completed {
		os.Setenv("SERVICE_RESULT", "success")
		os.Setenv("EXIT_CODE", "exited")
		os.Setenv("EXIT_STATUS", "0")
	}
	return Cleanup(stateRoot, id)
}
