package machine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	testExe       = "/usr/bin/berth"
	testStateRoot = "/var/lib/berth"
)

func unitRecord(o RunOptions) *Container {
	return &Container{
		ID:          testID,
		Name:        "web",
		Image:       "busybox:latest",
		Options:     o,
		StopSignal:  "SIGTERM",
		StopTimeout: DefaultStopTimeout,
		Unit:        UnitName("web"),
	}
}

// propMap indexes props by name and fails on a name given twice.
func propMap(t *testing.T, props []Property) map[string]any {
	t.Helper()
	m := map[string]any{}
	for _, p := range props {
		if _, dup := m[p.Name]; dup {
			t.Errorf("property %s given twice", p.Name)
		}
		m[p.Name] = p.Value
	}
	return m
}

// checkProps compares each wanted property by type and value (a nil
// want means the property must be absent).
func checkProps(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case w == nil && ok:
			t.Errorf("%s: %s = %#v, want it absent", what, name, g)
		case w != nil && !ok:
			t.Errorf("%s: %s missing, want %T(%#v)", what, name, w, w)
		case w != nil && !reflect.DeepEqual(g, w):
			t.Errorf("%s: %s = %T(%#v), want %T(%#v)", what, name, g, g, w, w)
		}
	}
}

func TestUnitProperties(t *testing.T) {
	props := UnitProperties(unitRecord(RunOptions{}), testExe, testStateRoot)
	got := propMap(t, props)
	short := testID[:12]
	checkProps(t, "defaults", got, map[string]any{
		"Description": "berth container web (busybox:latest)",
		// Type=notify: __init hands the container's PID 1 to systemd
		// with MAINPID= (see nsinit); no PID file, which systemd would
		// read again after ExecStartPost and find dead.
		"Type":          "notify",
		"NotifyAccess":  "all",
		"PIDFile":       nil,
		"ExecStartPost": nil,
		// Docker's 10 s stop timeout is systemd's own (NativeStop): no
		// ExecStop.
		"ExecStop": nil,
		"ExecStart": ExecCommand{Path: testExe, Argv: []string{testExe, "--root", testStateRoot, "__init", testID},
			IgnoreFailure: false},
		"ExecStopPost": ExecCommand{Path: testExe, Argv: []string{testExe, "--root", testStateRoot, "__cleanup", testID},
			IgnoreFailure: false},
		"Slice":            "machine.slice",
		"Delegate":         true,
		"CollectMode":      "inactive-or-failed",
		"KillMode":         "mixed",
		"KillSignal":       int32(15),
		"TimeoutStopUSec":  uint64(10000000),
		"OOMPolicy":        "continue",
		"StandardInput":    "null",
		"StandardOutput":   "journal",
		"StandardError":    "journal",
		"SyslogLevel":      int32(5),
		"SyslogIdentifier": short,
		"LogExtraFields": [][]byte{
			[]byte("CONTAINER_ID=" + short),
			[]byte("CONTAINER_ID_FULL=" + testID),
			[]byte("CONTAINER_NAME=web"),
			[]byte("CONTAINER_TAG=" + short),
			[]byte("IMAGE_NAME=busybox:latest"),
		},
		"LogRateLimitIntervalUSec": uint64(0),
		// No limits and no restart policy: none of these.
		"MemoryMax":              nil,
		"MemorySwapMax":          nil,
		"CPUQuotaPerSecUSec":     nil,
		"TasksMax":               nil,
		"Restart":                nil,
		"RestartUSec":            nil,
		"StartLimitBurst":        nil,
		"StartLimitIntervalUSec": nil,
	})

	// IgnoreFailure true once made systemd count a SIGKILLed container
	// as success: assert it on its own for every command of the unit
	// (ExecStart, ExecStartPost, ExecStopPost…), whatever else changes.
	for _, p := range props {
		ec, ok := p.Value.(ExecCommand)
		if !ok {
			continue
		}
		if ec.IgnoreFailure {
			t.Errorf("%s has IgnoreFailure set: systemd would treat a failed or killed container as success", p.Name)
		}
		if p.Name == "ExecStop" {
			continue // a shell script, see TestStopScript
		}
		if ec.Path != testExe || len(ec.Argv) == 0 || ec.Argv[0] != testExe {
			t.Errorf("%s runs %q %q, want the berth binary", p.Name, ec.Path, ec.Argv)
		}
	}
	for _, name := range []string{"ExecStart", "ExecStopPost"} {
		if _, ok := got[name].(ExecCommand); !ok {
			t.Errorf("%s is %T, want ExecCommand", name, got[name])
		}
	}

	// Every value has a type machine/systemd can send.
	for _, p := range props {
		switch p.Value.(type) {
		case string, bool, uint64, int32, uint32, []string, [][]byte, ExecCommand, []ExecCommand, []DeviceRule:
		default:
			t.Errorf("%s has type %T, which machine/systemd cannot send", p.Name, p.Value)
		}
	}
}

func TestUnitPropertiesStop(t *testing.T) {
	for _, tc := range []struct {
		signal      string
		timeout     time.Duration
		wantSignal  int32
		wantTimeout uint64
		script      bool // an ExecStop script (a timeout under NativeStopMin, or -t)
		tty         bool
	}{
		// From NativeStopMin on, and for ever, systemd stops the
		// container itself, with the stop timeout as its own.
		{"SIGTERM", 10 * time.Second, 15, 10000000, false, false},
		{"SIGKILL", 10 * time.Second, 9, 10000000, false, false},
		{"2", 30 * time.Second, 2, 30000000, false, false},
		{"", 10 * time.Second, 15, 10000000, false, false},
		{"SIGHUP", NativeStopMin, 1, 5000000, false, false},
		{"SIGTERM", -1, 15, math.MaxUint64, false, false},
		{"SIGTERM", -time.Hour, 15, math.MaxUint64, false, false},
		// Shorter: ExecStop waits the timeout, and TimeoutStopUSec is 5 s
		// more (see stopGrace), which the cleanup gets too.
		{"SIGUSR1", time.Second, 10, 6000000, true, false},
		{"SIGRTMIN+3", 1500 * time.Millisecond, 37, 6500000, true, false},
		{"SIGTERM", 0, 15, 5000000, true, false},
		{"SIGTERM", NativeStopMin - time.Second, 15, 9000000, true, false},
		// A -t container keeps it whatever its timeout: its terminal's
		// relay reads the last output after PID 1 has ended.
		{"SIGTERM", 10 * time.Second, 15, 15000000, true, true},
	} {
		rec := unitRecord(RunOptions{Tty: tc.tty})
		rec.StopSignal, rec.StopTimeout = tc.signal, tc.timeout
		what := fmt.Sprintf("stop signal %q, timeout %v", tc.signal, tc.timeout)
		got := propMap(t, UnitProperties(rec, testExe, testStateRoot))
		checkProps(t, what, got, map[string]any{
			"KillSignal":      tc.wantSignal,
			"TimeoutStopUSec": tc.wantTimeout,
		})
		script, ok := got["ExecStop"].(ExecCommand)
		switch {
		case ok != tc.script:
			t.Errorf("%s: ExecStop %v, want a script: %v", what, got["ExecStop"], tc.script)
		case ok && (script.Path != "/bin/sh" || len(script.Argv) != 3 ||
			script.Argv[2] != stopScript(int(tc.wantSignal), tc.timeout, StopMarker(testStateRoot, testID))):
			t.Errorf("%s: ExecStop = %#v, want the stop script", what, script)
		}
	}
}

func TestUnitPropertiesLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    RunOptions
		want map[string]any
	}{
		{"memory", RunOptions{Memory: 64 << 20}, map[string]any{
			"MemoryMax": uint64(64 << 20), "MemorySwapMax": uint64(64 << 20), "CPUQuotaPerSecUSec": nil, "TasksMax": nil}},
		{"half a CPU", RunOptions{CPUs: 0.5}, map[string]any{
			"CPUQuotaPerSecUSec": uint64(500000), "MemoryMax": nil, "MemorySwapMax": nil, "TasksMax": nil}},
		{"1.5 CPUs", RunOptions{CPUs: 1.5}, map[string]any{"CPUQuotaPerSecUSec": uint64(1500000)}},
		{"smallest CPU share", RunOptions{CPUs: MinCPUs}, map[string]any{"CPUQuotaPerSecUSec": uint64(10000)}},
		{"CPUs that do not round down", RunOptions{CPUs: 0.29}, map[string]any{"CPUQuotaPerSecUSec": uint64(290000)}},
		{"pids", RunOptions{PidsLimit: 100}, map[string]any{"TasksMax": uint64(100), "MemoryMax": nil}},
		{"pids -1 is unlimited", RunOptions{PidsLimit: -1}, map[string]any{"TasksMax": nil}},
		{"all", RunOptions{Memory: 1 << 30, CPUs: 2, PidsLimit: 5}, map[string]any{
			"MemoryMax": uint64(1 << 30), "MemorySwapMax": uint64(1 << 30), "CPUQuotaPerSecUSec": uint64(2000000), "TasksMax": uint64(5)}},
	} {
		checkProps(t, tc.name, propMap(t, UnitProperties(unitRecord(tc.o), testExe, testStateRoot)), tc.want)
	}
}

func TestUnitPropertiesRestart(t *testing.T) {
	delay, loop := uint64(100000), uint64(500000)
	for _, tc := range []struct {
		policy RestartPolicy
		want   map[string]any
	}{
		{RestartPolicy{}, map[string]any{"Restart": nil, "RestartUSec": nil, "StartLimitBurst": nil, "StartLimitIntervalUSec": nil}},
		{RestartPolicy{Name: RestartNo}, map[string]any{"Restart": nil, "RestartUSec": nil, "StartLimitBurst": nil}},
		// Docker retries for ever: no start limit (interval 0).
		{RestartPolicy{Name: RestartAlways}, map[string]any{
			"Restart": "always", "RestartUSec": loop, "StartLimitBurst": nil, "StartLimitIntervalUSec": uint64(0)}},
		{RestartPolicy{Name: RestartUnlessStopped}, map[string]any{
			"Restart": "always", "RestartUSec": loop, "StartLimitBurst": nil, "StartLimitIntervalUSec": uint64(0)}},
		// Any non-zero exit is a failure for Docker, SIGTERM too.
		{RestartPolicy{Name: RestartOnFailure}, map[string]any{
			"Restart": "on-failure", "RestartUSec": loop, "StartLimitBurst": nil, "StartLimitIntervalUSec": uint64(0),
			"RestartForceExitStatus": ExitStatusSet{Signals: []int32{1, 2, 13, 15}}}},
		{RestartPolicy{Name: RestartOnFailure, MaximumRetryCount: 3}, map[string]any{
			"Restart": "on-failure", "RestartUSec": delay,
			"StartLimitBurst": uint32(4), "StartLimitIntervalUSec": uint64(math.MaxUint64)}},
		{RestartPolicy{Name: RestartOnFailure, MaximumRetryCount: 1}, map[string]any{
			"Restart": "on-failure", "StartLimitBurst": uint32(2), "StartLimitIntervalUSec": uint64(math.MaxUint64)}},
	} {
		got := propMap(t, UnitProperties(unitRecord(RunOptions{Restart: tc.policy}), testExe, testStateRoot))
		checkProps(t, fmt.Sprintf("--restart %+v", tc.policy), got, tc.want)
	}
}

// TestUnitPropertiesNoEscaping documents that names and images pass into
// the unit as they are, byte for byte: over D-Bus nothing is parsed, so
// '%', '\', quotes and newlines need no escaping (a unit file would need
// it; see unitgen). Records are built by hand: Validate refuses most of
// these names.
func TestUnitPropertiesNoEscaping(t *testing.T) {
	for _, tc := range []struct{ name, image string }{
		{"a%nb%%c", "img%i:1"},
		{`back\slash\n`, `reg.example/x\y:tag`},
		{`say "hi" 'there'`, `"quoted"`},
		{"two\nlines", "img\r\nX-Evil=1"},
		{"$HOME ${X} $$", "i;rm -rf /"},
		{"tab\there", "ünïcödé"},
	} {
		rec := unitRecord(RunOptions{})
		rec.Name, rec.Image = tc.name, tc.image
		got := propMap(t, UnitProperties(rec, testExe, testStateRoot))
		if d, want := got["Description"], "berth container "+tc.name+" ("+tc.image+")"; d != want {
			t.Errorf("Description = %q, want %q", d, want)
		}
		fields, _ := got["LogExtraFields"].([][]byte)
		want := map[string][]byte{
			"CONTAINER_NAME": []byte("CONTAINER_NAME=" + tc.name),
			"IMAGE_NAME":     []byte("IMAGE_NAME=" + tc.image),
		}
		for _, f := range fields {
			k, _, _ := bytes.Cut(f, []byte("="))
			if w, ok := want[string(k)]; ok {
				if !bytes.Equal(f, w) {
					t.Errorf("LogExtraFields %s = %q, want %q", k, f, w)
				}
				delete(want, string(k))
			}
		}
		if len(want) != 0 {
			t.Errorf("name %q: LogExtraFields %q lack %v", tc.name, fields, want)
		}
		// Nothing the user typed reaches a command line.
		for n, v := range got {
			ec, ok := v.(ExecCommand)
			if !ok {
				continue
			}
			for _, a := range ec.Argv {
				if strings.Contains(a, tc.name) || strings.Contains(a, tc.image) {
					t.Errorf("%s carries %q", n, a)
				}
			}
		}
	}
}

// TestStopScript runs the unit's ExecStop script with a real /bin/sh, as
// systemd would after expanding "$$" and setting $MAINPID, against a
// process that ignores the stop signal and one that obeys it.
func TestStopScript(t *testing.T) {
	for _, tc := range []struct {
		name     string
		trap     string
		timeout  time.Duration
		min, max time.Duration
		killed   bool
	}{
		{"obeys TERM", "", 5 * time.Second, 0, 2 * time.Second, false},
		{"ignores TERM", "trap '' TERM;", 300 * time.Millisecond, 250 * time.Millisecond, 3 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := exec.Command("/bin/sh", "-c", tc.trap+" while :; do sleep 0.05; done")
			if err := target.Start(); err != nil {
				t.Fatal(err)
			}
			reaped := make(chan error, 1)
			go func() { reaped <- target.Wait() }()
			time.Sleep(100 * time.Millisecond)
			marker := filepath.Join(t.TempDir(), "it's $stopping")
			script := strings.ReplaceAll(stopScript(15, tc.timeout, marker), "$$", "$")
			stop := exec.Command("/bin/sh", "-c", script)
			stop.Env = append(os.Environ(), "MAINPID="+strconv.Itoa(target.Process.Pid))
			start := time.Now()
			if out, err := stop.CombinedOutput(); err != nil {
				t.Fatalf("stop script: %v: %s", err, out)
			}
			took := time.Since(start)
			if took < tc.min || took > tc.max {
				t.Errorf("stop script took %v, want %v to %v", took, tc.min, tc.max)
			}
			err := <-reaped
			var ee *exec.ExitError
			sig := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()
			if !sig {
				t.Fatalf("target ended with %v, want a signal", err)
			}
			if got := ee.Sys().(syscall.WaitStatus).Signal(); (got == syscall.SIGKILL) != tc.killed {
				t.Errorf("target ended by %v; killed by SIGKILL wanted: %v", got, tc.killed)
			}
			// A stop of a running process leaves the marker (a path
			// with a quote and a "$" in it, quoted for sh and systemd).
			if _, err := os.Stat(marker); err != nil {
				t.Errorf("no stop marker: %v", err)
			}
		})
	}
	// No main process any more: nothing to do.
	marker := filepath.Join(t.TempDir(), "stopping")
	stop := exec.Command("/bin/sh", "-c", strings.ReplaceAll(stopScript(15, time.Second, marker), "$$", "$"))
	stop.Env = append(os.Environ(), "MAINPID=")
	if out, err := stop.CombinedOutput(); err != nil {
		t.Errorf("stop script without a main process: %v: %s", err, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a container that ended on its own got a stop marker")
	}
}

// TestUnitPropertiesFor: with berth-unit, the unit runs it for __init
// (told where the CLI is) and __cleanup; the rest is the same.
func TestUnitPropertiesFor(t *testing.T) {
	const unit = "/usr/libexec/berth/berth-unit"
	rec := unitRecord(RunOptions{})
	got := propMap(t, UnitPropertiesFor(rec, Programs{CLI: testExe, Unit: unit}, testStateRoot))
	want := map[string]any{
		"ExecStart":    ExecCommand{Path: unit, Argv: []string{unit, "--root", testStateRoot, "--protocol", "1", "--cli", testExe, "__init", testID}},
		"ExecStopPost": ExecCommand{Path: unit, Argv: []string{unit, "--root", testStateRoot, "--protocol", "1", "__cleanup", testID}},
	}
	checkProps(t, "berth-unit", got, want)
	same := propMap(t, UnitProperties(rec, testExe, testStateRoot))
	for name, v := range same {
		if name != "ExecStart" && name != "ExecStopPost" && !reflect.DeepEqual(got[name], v) {
			t.Errorf("%s: %v with berth-unit, %v without", name, got[name], v)
		}
	}
}
