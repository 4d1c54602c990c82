package machine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Slice is where every container's unit lives, beside systemd-nspawn's
// and machined's machines.
const Slice = "machine.slice"

// StopMarker is the file the unit's ExecStop leaves for its cleanup when
// the container was stopped (systemctl stop, berth stop, a shutdown)
// rather than ending on its own: a stopped container is not restarted.
func StopMarker(root, id string) string { return root + "/containers/" + id + "/stopping" }

// stopScript is the unit's ExecStop: a shell script (a Go process would
// cost several times more, and it runs at every exit, since systemd runs
// ExecStop even for a main process that has ended) that sends signal sig
// to the main process, waits up to timeout (for ever when negative) for
// it to be gone, then sends SIGKILL and waits until systemd has reaped it,
// so that systemd records how it ended. A main process still there means
// a stop was asked for: the script then leaves marker (StopMarker).
// systemd expands "$$" to "$" in command lines, and sets $MAINPID, empty
// once the main process is gone.
func stopScript(sig int, timeout time.Duration, marker string) string {
	ticks := -1 // 50 ms each
	if timeout >= 0 {
		ticks = int(timeout / (50 * time.Millisecond))
	}
	return fmt.Sprintf(`p=$$MAINPID; [ -n "$$p" ] || exit 0; : > %s; kill -%d "$$p" 2>/dev/null || exit 0; n=0; `+
		`while [ -e "/proc/$$p" ]; do if [ "$$n" = %d ]; then kill -9 "$$p" 2>/dev/null; fi; n=$$((n+1)); sleep 0.05; done`,
		shellQuote(marker), sig, ticks)
}

// shellQuote quotes s for sh in single quotes, with "$" doubled for
// systemd's expansion.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, "'", `'\''`), "$", "$$") + "'"
}

// stopGrace is the unit's TimeoutStopSec for a container stop timeout
// d: d when systemd stops the container itself (native, see NativeStop),
// else d for ExecStop and 5 s more for systemd's SIGKILL and the cleanup.
func stopGrace(d time.Duration, native bool) time.Duration {
	if d < 0 || native {
		return d
	}
	return d + 5*time.Second
}

// NativeStopMin is the shortest stop timeout that systemd enforces
// itself (NativeStop).
const NativeStopMin = 5 * time.Second

// NativeStop reports whether rec is stopped by systemd itself, with no
// ExecStop: KillSignal to the container's PID 1 (KillMode=mixed),
// TimeoutStopSec the stop timeout, then SIGKILL, as Docker's stop does.
// That needs a stop timeout of NativeStopMin or more (or none): systemd's
// TimeoutStopSec also bounds ExecStopPost, the cleanup, which may wait
// up to 3 s for journald to read the container's last output. A shorter
// timeout keeps the ExecStop script (stopScript), which waits the
// timeout itself under a TimeoutStopSec 5 s longer. So does a -t
// container: its terminal's relay, a process in the unit beside PID 1,
// reads the last output after PID 1 has ended, and without an ExecStop
// systemd sends what is left in the unit SIGKILL as soon as the main
// process has exited (with it, after the script: the few milliseconds
// of a /bin/sh, which the relay needs; a relay that needs more is cut
// short either way). Since the container's PID 1 is systemd's own
// child (see nsinit), systemd records its exit either way; the script
// costs a /bin/sh at every exit (systemd runs ExecStop even for a main
// process that has ended on its own), some 4 ms of every run. Without
// the script's marker, __cleanup asks systemd whether a stop job is
// under way when the restart policy would restart the container.
func NativeStop(rec *Container) bool {
	d := rec.StopTimeout
	return !rec.Options.Tty && (d < 0 || d >= NativeStopMin)
}

// restartDelay is how long systemd waits before a restart: Docker's first
// back-off step.
const restartDelay = 100 * time.Millisecond

// crashLoopDelay is the wait before a restart that has no limit: systemd
// 252 has no growing back-off (Docker doubles from 100 ms up to a
// minute), so a container that keeps failing is tried twice a second,
// for ever, rather than ten times.
const crashLoopDelay = 500 * time.Millisecond

// UnitProperties are the properties of rec's transient unit. exe is the
// absolute path of the berth binary and root berth's state root: the
// unit runs `exe --root root __init ID` as its main process and `…
// __cleanup ID` after it stops. Nothing the user typed reaches a command
// line: the container's command is in its config.json.
//
// The unit is Type=notify with NotifyAccess=all: __init forks the
// container's PID 1 in new namespaces, sends MAINPID= and READY=1, lets
// it exec the command and exits, so systemd supervises the container
// itself; systemd stops it with the stop signal and timeout, or, for a
// stop timeout under NativeStopMin, ExecStop (stopScript) does (see
// NativeStop).
// Limits are systemd's (MemoryMax, CPUQuota, TasksMax); output goes to
// the journal with Docker's journald fields; the unit is collected as
// soon as it is inactive or failed, because container.json, not the
// unit, keeps what happened.
func UnitProperties(rec *Container, exe, root string) []Property {
	return UnitPropertiesFor(rec, Programs{CLI: exe, Unit: exe}, root)
}

// Programs are the programs a container's unit runs: Unit as its
// __init and __cleanup (berth-unit, or the CLI itself), which runs CLI,
// the berth CLI, for the units and relays it starts (a health check's
// timer, a network's DNS socket, a terminal's relay).
type Programs struct{ CLI, Unit string }

// UnitProtocol is the version of what the CLI hands berth-unit: its
// arguments and the container's state (container.json, config.json). It
// changes whenever they do, so that a berth-unit from another build
// refuses with a clear error instead of misreading a container.
const UnitProtocol = 1

// UnitPropertiesFor is UnitProperties with __init and __cleanup run by
// p.Unit: `UNIT --root ROOT --protocol N --cli CLI __init ID` and `UNIT
// --root ROOT --protocol N __cleanup ID` (when p.Unit is the CLI itself,
// `CLI --root ROOT __init|__cleanup ID`).
func UnitPropertiesFor(rec *Container, p Programs, root string) []Property {
	o := rec.Options
	short := ShortID(rec.ID)
	initArgv := []string{p.Unit, "--root", root, "__init", rec.ID}
	cleanupArgv := []string{p.Unit, "--root", root, "__cleanup", rec.ID}
	if p.Unit != p.CLI {
		proto := strconv.Itoa(UnitProtocol)
		initArgv = []string{p.Unit, "--root", root, "--protocol", proto, "--cli", p.CLI, "__init", rec.ID}
		cleanupArgv = []string{p.Unit, "--root", root, "--protocol", proto, "__cleanup", rec.ID}
	}
	props := []Property{
		{"Description", fmt.Sprintf("berth container %s (%s)", rec.Name, rec.Image)},
		{"Type", "notify"},
		{"NotifyAccess", "all"},
		{"ExecStart", ExecCommand{Path: p.Unit, Argv: initArgv}},
	}
	native := NativeStop(rec)
	if !native {
		props = append(props, Property{"ExecStop", ExecCommand{Path: "/bin/sh", Argv: []string{"/bin/sh", "-c",
			stopScript(mustSignal(rec.StopSignal), rec.StopTimeout, StopMarker(root, rec.ID))}}})
	}
	props = append(props, []Property{
		{"ExecStopPost", ExecCommand{Path: p.Unit, Argv: cleanupArgv}},
		{"Slice", Slice},
		{"Delegate", true},
		{"CollectMode", "inactive-or-failed"},
		// The stop signal goes to the container's PID 1 only, as
		// Docker's; what is left gets SIGKILL when PID 1 is gone.
		{"KillMode", "mixed"},
		{"KillSignal", int32(mustSignal(rec.StopSignal))},
		// The stop timeout, systemd's own or ExecStop's (stopGrace).
		{"TimeoutStopUSec", usec(stopGrace(rec.StopTimeout, native))},
		// The container, not systemd, decides what an OOM kill means.
		{"OOMPolicy", "continue"},
		{"StandardInput", "null"},
		{"StandardOutput", "journal"},
		{"StandardError", "journal"},
		// berth's own messages (init, cleanup) at notice; the container's
		// stdout and stderr come with info and err (see nsinit).
		{"SyslogLevel", int32(5)},
		{"SyslogIdentifier", short},
		{"LogExtraFields", [][]byte{
			[]byte("CONTAINER_ID=" + short),
			[]byte("CONTAINER_ID_FULL=" + rec.ID),
			[]byte("CONTAINER_NAME=" + rec.Name),
			[]byte("CONTAINER_TAG=" + short),
			[]byte("IMAGE_NAME=" + rec.Image),
		}},
		// A container's output is its log: journald must not drop lines
		// of a chatty one (Docker's journald driver does not either).
		{"LogRateLimitIntervalUSec", uint64(0)},
	}...)
	if o.Tty {
		// The terminal's master and slave (see package console).
		props = append(props, Property{"FileDescriptorStoreMax", uint32(2)})
	}
	props = append(props, deviceProperties(o)...)
	if o.Memory > 0 {
		props = append(props, Property{"MemoryMax", uint64(o.Memory)},
			// Docker's default swap for -m: as much again.
			Property{"MemorySwapMax", uint64(o.Memory)})
	}
	if o.CPUs > 0 {
		props = append(props, Property{"CPUQuotaPerSecUSec", uint64(math.Round(o.CPUs * 1e6))})
	}
	if o.PidsLimit > 0 {
		props = append(props, Property{"TasksMax", uint64(o.PidsLimit)})
	}
	switch o.Restart.Name {
	case RestartAlways, RestartUnlessStopped:
		props = append(props, Property{"Restart", "always"}, Property{"RestartUSec", usec(crashLoopDelay)},
			// Docker retries for ever; systemd's default start limit (5
			// starts in 10 s) would give up after a second.
			Property{"StartLimitIntervalUSec", uint64(0)})
	case RestartOnFailure:
		delay := restartDelay
		if o.Restart.MaximumRetryCount == 0 {
			delay = crashLoopDelay
		}
		props = append(props, Property{"Restart", "on-failure"}, Property{"RestartUSec", usec(delay)},
			// For Docker any non-zero exit is a failure; systemd counts
			// SIGHUP, SIGINT, SIGTERM and SIGPIPE as clean unless told.
			Property{"RestartForceExitStatus", ExitStatusSet{Signals: []int32{1, 2, 13, 15}}})
		if n := o.Restart.MaximumRetryCount; n > 0 {
			// The first start and n restarts; the unit is new at every
			// `berth start`, so the count starts again there.
			props = append(props, Property{"StartLimitBurst", uint32(n + 1)},
				Property{"StartLimitIntervalUSec", uint64(math.MaxUint64)})
		} else {
			props = append(props, Property{"StartLimitIntervalUSec", uint64(0)})
		}
	}
	return props
}

// usec is a systemd time span in microseconds; negative is infinity.
// Zero becomes 1 µs: systemd reads a zero timeout as "none" (infinity),
// and Docker's --stop-timeout 0 means "kill at once".
func usec(d time.Duration) uint64 {
	if d < 0 {
		return math.MaxUint64
	}
	return max(uint64(d/time.Microsecond), 1)
}

func mustSignal(name string) int {
	if name == "" {
		return 15
	}
	sig, err := ParseSignal(name)
	if err != nil {
		return 15
	}
	return int(sig)
}
