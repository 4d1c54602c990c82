package unitgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/unitsyntax"
)

// The directives of a service's unit that run its container. They are
// the ones machine.UnitProperties gives the transient unit of a `berth
// run` container, written as unit-file text: unitgen may not import
// machine (it runs at early boot, and machine reaches the image store),
// so it keeps this copy, and a test in cmd/berth renders both and fails
// when they differ.

// containerSlice is where every container's unit lives.
const containerSlice = "machine.slice"

// Restart delays, as machine's: Docker's first back-off step when the
// restarts are counted, half a second when they are not.
const (
	restartDelay   = 100 * time.Millisecond
	crashLoopDelay = 500 * time.Millisecond
)

// nativeStopMin is the shortest stop timeout systemd enforces itself,
// with no ExecStop script (machine.NativeStopMin, machine.NativeStop).
const nativeStopMin = 5 * time.Second

// defaultDeviceAllow are the DeviceAllow= rules of every container
// (machine.DefaultDeviceAllow).
var defaultDeviceAllow = []string{"char-* m", "block-* m", "/dev/tty rwm", "/dev/console rwm", "/dev/ptmx rwm", "char-pts rwm"}

// containerDirectives adds the directives that run the container in of
// service s.
func containerDirectives(w *writer, app *App, s *Service, in instance, o Options) {
	id, short, name := in.id, in.short, in.name
	sig := s.StopSignal
	if sig == "" {
		sig = "SIGTERM"
	}
	signum := signalNumber(sig)
	timeout := s.StopTimeout

	w.service("Type", "notify")
	w.service("NotifyAccess", "all")
	w.exec("ExecStart", "", o.berth("__init", id)...)
	native := timeout < 0 || timeout >= nativeStopMin
	if !native {
		w.exec("ExecStop", "", "/bin/sh", "-c", stopScript(signum, timeout, o.Root+"/containers/"+id+"/stopping"))
	}
	w.exec("ExecStopPost", "", o.berth("__cleanup", id)...)
	w.service("Slice", containerSlice)
	w.service("Delegate", "yes")
	// The stop signal goes to the container's PID 1 only, as Docker's.
	w.service("KillMode", "mixed")
	w.service("KillSignal", strconv.Itoa(signum))
	// The stop timeout is systemd's own, or, under nativeStopMin,
	// ExecStop's, and systemd's is 5 s more.
	stopGrace := timeout
	if !native {
		stopGrace += 5 * time.Second
	}
	w.service("TimeoutStopSec", usec(stopGrace))
	w.service("OOMPolicy", "continue")
	w.service("StandardInput", "null")
	w.service("StandardOutput", "journal")
	w.service("StandardError", "journal")
	w.service("SyslogLevel", "notice")
	w.service("SyslogIdentifier", short)
	fields := []string{"CONTAINER_ID=" + short, "CONTAINER_ID_FULL=" + id, "CONTAINER_NAME=" + name,
		"CONTAINER_TAG=" + short, "IMAGE_NAME=" + ServiceImage(app.Name, s)}
	for i, f := range fields {
		fields[i] = unitsyntax.QuoteWord(f)
	}
	w.u.Service = append(w.u.Service, Line{"LogExtraFields", strings.Join(fields, " ")})
	w.service("LogRateLimitIntervalSec", "0us")
	w.service("DevicePolicy", "closed")
	for _, r := range defaultDeviceAllow {
		w.service("DeviceAllow", r)
	}
	for _, d := range s.Devices {
		if strings.ContainsAny(d.Host, " \t%\\\"") {
			w.fail("device %q cannot be written in DeviceAllow=", d.Host)
		}
		w.service("DeviceAllow", d.Host+" "+d.Permissions)
	}
	if s.Memory > 0 {
		w.service("MemoryMax", strconv.FormatInt(s.Memory, 10))
		// Docker's default swap for -m: as much again.
		w.service("MemorySwapMax", strconv.FormatInt(s.Memory, 10))
	}
	if s.CPUs > 0 {
		us := math.Round(s.CPUs * 1e6)
		// A percentage: "%" is not a specifier in CPUQuota=.
		w.u.Service = append(w.u.Service, Line{"CPUQuota", strconv.FormatFloat(us/1e4, 'f', -1, 64) + "%"})
	}
	if s.PidsLimit > 0 {
		w.service("TasksMax", strconv.FormatInt(s.PidsLimit, 10))
	}
	switch s.Restart.Name {
	case RestartAlways, RestartUnlessStopped:
		w.service("Restart", "always")
		w.service("RestartSec", usec(crashLoopDelay))
		// Docker retries for ever; systemd's start limit would give up.
		w.unit("StartLimitIntervalSec", "0us")
	case RestartOnFailure:
		delay := restartDelay
		if s.Restart.MaxRetries == 0 {
			delay = crashLoopDelay
		}
		w.service("Restart", "on-failure")
		w.service("RestartSec", usec(delay))
		// For Docker any non-zero exit is a failure; systemd counts
		// SIGHUP, SIGINT, SIGTERM and SIGPIPE as clean unless told.
		w.service("RestartForceExitStatus", "SIGHUP SIGINT SIGPIPE SIGTERM")
		if n := s.Restart.MaxRetries; n > 0 {
			// The first start and n restarts.
			w.unit("StartLimitBurst", strconv.Itoa(n+1))
			w.unit("StartLimitIntervalSec", "infinity")
		} else {
			w.unit("StartLimitIntervalSec", "0us")
		}
	}
}

// usec is a systemd time span in microseconds; negative is infinity,
// and zero 1 µs (systemd reads a zero timeout as none).
func usec(d time.Duration) string {
	if d < 0 {
		return "infinity"
	}
	return strconv.FormatInt(max(int64(d/time.Microsecond), 1), 10) + "us"
}

// stopScript is the unit's ExecStop (machine's stopScript): it sends sig
// to the main process, waits up to timeout (for ever when negative),
// then sends SIGKILL and waits until it is gone, leaving marker when a
// stop was asked for. systemd expands "$$" to "$".
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

// signalNumber is the number of a signal name parseSignal returned
// ("SIGTERM", "SIGRTMIN+3"); 15 for anything else.
func signalNumber(name string) int {
	n := strings.TrimPrefix(name, "SIG")
	if off, ok := strings.CutPrefix(n, "RTMIN+"); ok {
		if i, err := strconv.Atoi(off); err == nil {
			return sigRTMin + i
		}
	}
	for _, s := range signals {
		if s.name == n {
			return s.num
		}
	}
	return 15
}
