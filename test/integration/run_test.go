package integration

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
)

// result is one berth invocation as the user sees it.
type result struct {
	stdout, stderr string
	code           int
}

// run runs berth and returns its output and exit status (never fails t
// for a non-zero status: the caller asserts it).
func run(t *testing.T, args ...string) result {
	t.Helper()
	c := exec.Command(binary(t, "BERTH_BIN"), args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs berth and fails t unless it exits 0; it returns stdout.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("berth %s: exit %d: %s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

var busyboxOnce sync.Once

// busybox imports the offline busybox image as "busybox" once per run.
func busybox(t *testing.T) {
	t.Helper()
	testutil.RequiresTestbed(t)
	busyboxOnce.Do(func() {
		ok(t, "import", filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"), "busybox")
	})
}

// sh runs a host command inside the testbed and returns its output.
func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
	return strings.TrimSpace(string(out))
}

// unitProp reads one property of a unit with systemctl show.
func unitProp(t *testing.T, unit, prop string) string {
	t.Helper()
	return sh(t, "systemctl show -P "+prop+" "+unit)
}

// inspect decodes `berth inspect` of one container.
type inspected struct {
	ID    string `json:"Id"`
	State struct {
		Status     string
		Running    bool
		Pid        int
		ExitCode   int
		OOMKilled  bool
		Error      string
		StartedAt  time.Time
		FinishedAt time.Time
		Health     *struct{ Status string }
	}
	RestartCount int
	Name         string
	Unit         string
	HostConfig   struct{ Memory int64 }
	GraphDriver  struct{ Data map[string]string }
}

func inspect(t *testing.T, name string) inspected {
	t.Helper()
	var out []inspected
	if err := json.Unmarshal([]byte(ok(t, "inspect", name)), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v (%d objects)", name, err, len(out))
	}
	return out[0]
}

// waitFor polls cond every 50 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertGone checks that nothing of container id is left: no state
// directory, no unit, no machine, no mount naming it.
func assertGone(t *testing.T, id, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("/var/lib/berth/containers", id)); !os.IsNotExist(err) {
		t.Errorf("state directory of %s still there (%v)", name, err)
	}
	if s := unitProp(t, "berth-"+name+".service", "LoadState"); s != "not-found" {
		t.Errorf("unit berth-%s.service is %s, want not-found", name, s)
	}
	if m := sh(t, "machinectl list --no-legend --no-pager"); strings.Contains(m, name) {
		t.Errorf("machinectl still lists %s: %s", name, m)
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mounts, []byte(id)) {
		t.Errorf("a mount of %s is left on the host", name)
	}
	if _, err := os.Stat("/run/berth/" + id + ".pid"); !os.IsNotExist(err) {
		t.Errorf("PID file of %s left behind", name)
	}
}

func TestRunForeground(t *testing.T) {
	busybox(t)
	r := run(t, "run", "--rm", "busybox", "echo", "hello")
	if r.code != 0 || r.stdout != "hello\n" {
		t.Fatalf("run --rm busybox echo hello: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// stdout and stderr stay apart, the exit code comes through, and a
	// last line without a newline stays without one.
	r = run(t, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; printf last; exit 3")
	if r.code != 3 || r.stdout != "out\nlast" || r.stderr != "err\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 3, \"out\\nlast\", \"err\\n\"", r.code, r.stdout, r.stderr)
	}
	// Many lines arrive complete and in order (journald must not drop
	// lines of a chatty container).
	r = run(t, "run", "--rm", "busybox", "seq", "1", "20000")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 20000 || lines[0] != "1" || lines[19999] != "20000" {
		t.Fatalf("seq 1 20000: exit %d, %d lines", r.code, len(lines))
	}
}

// TestRunQuickCommands starts many containers whose command exits at
// once: each must be the unit's main process before it runs (a command
// that exited first once failed about one start in twenty with systemd's
// "New main PID … does not exist or is a zombie").
func TestRunQuickCommands(t *testing.T) {
	busybox(t)
	for i := range 40 {
		args := []string{"run", "--rm", "busybox", "true"}
		if i%2 == 1 {
			args = []string{"run", "-d", "--rm", "busybox", "true"}
		}
		if r := run(t, args...); r.code != 0 {
			t.Fatalf("start %d: berth %s: exit %d, %s", i, strings.Join(args, " "), r.code, r.stderr)
		}
	}
	// A quick command's own exit status, every time: the die record that
	// carries it may reach the journal just after the container's record
	// is gone (--rm), and berth run must wait for it. And, as Docker's
	// run --rm, it returns once the container is removed: its name is
	// free at once.
	for i := range 30 {
		if r := run(t, "run", "--rm", "--network", "none", "--name", "it_quick", "busybox", "sh", "-c", "exit 3"); r.code != 3 {
			t.Fatalf("run %d of exit 3: exit %d, %q", i, r.code, r.stderr)
		}
		if _, err := os.Lstat(filepath.Join(stateDir, "names", "it_quick")); !os.IsNotExist(err) {
			t.Fatalf("run %d of exit 3 --rm returned before the container was removed (its name: %v)", i, err)
		}
	}
	if z := sh(t, "journalctl -b --no-pager -o cat _PID=1 | grep -c 'does not exist or is a zombie' || true"); z != "0" {
		t.Errorf("systemd lost %s main PIDs", z)
	}
}

func TestRunIsolation(t *testing.T) {
	busybox(t)
	out := ok(t, "run", "--rm", "--hostname", "boxy", "busybox", "sh", "-c",
		"echo pid=$$; hostname; cat /etc/hostname; echo procs: $(ps -o comm); cat /proc/self/mountinfo; ls /dev; id -u; cat /proc/self/status | grep CapBnd")
	for _, want := range []string{"pid=1\n", "boxy\nboxy\n", " / / ", " /proc ", " /dev/pts ", " /sys ", "null\n", "urandom\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("container output lacks %q:\n%s", want, out)
		}
	}
	// ps sees PID 1 (sh) and itself (and maybe a subshell): no host process.
	for _, line := range strings.Split(out, "\n") {
		if procs, found := strings.CutPrefix(line, "procs: "); found {
			for _, p := range strings.Fields(procs) {
				if p != "COMMAND" && p != "sh" && p != "ps" {
					t.Errorf("the container sees a process that is not its own: %q in %q", p, procs)
				}
			}
		}
	}
	if !strings.Contains(out, "procs: COMMAND sh") {
		t.Errorf("ps in the container did not list its processes:\n%s", out)
	}
	// Docker's 14 default capabilities: 0x00000000a80425fb.
	if !strings.Contains(out, "CapBnd:\t00000000a80425fb") {
		t.Errorf("bounding set is not Docker's default:\n%s", out)
	}
	// The host's mount table does not show the container's root.
	if m, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(m, []byte("/var/lib/berth/containers/")) {
		t.Error("the container's overlay is visible in the host's mount table")
	}
}

func TestRunDetachedUnitAndMachine(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "run", "-d", "--name", "it_web", "-m", "64m", "--cpus", "0.5", "--pids-limit", "30",
		"-l", "tier=web", "busybox", "sleep", "1000"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a 64-digit ID", id)
	}
	unit := "berth-it_web.service"
	defer run(t, "rm", "-f", "it_web")
	if s := unitProp(t, unit, "ActiveState"); s != "active" {
		t.Fatalf("%s is %s", unit, s)
	}
	for prop, want := range map[string]string{
		"Slice": "machine.slice", "Delegate": "yes", "MemoryMax": "67108864", "TasksMax": "30",
		"CPUQuotaPerSecUSec": "500ms", "KillSignal": "15", "TimeoutStopUSec": "10s", "Type": "notify",
	} {
		if got := unitProp(t, unit, prop); got != want {
			t.Errorf("%s %s = %q, want %q", unit, prop, got, want)
		}
	}
	// Its __init and __cleanup are berth-unit's, next to berth (make
	// build), told where the CLI is.
	cli := binary(t, "BERTH_BIN")
	unitProg := filepath.Join(filepath.Dir(cli), "berth-unit")
	if _, err := os.Stat(unitProg); err == nil {
		if got := unitProp(t, unit, "ExecStart"); !strings.Contains(got, "argv[]="+unitProg+" --root ") || !strings.Contains(got, " --cli "+cli+" __init "+id) {
			t.Errorf("ExecStart %s, want %s … --cli %s __init %s", got, unitProg, cli, id)
		}
		if got := unitProp(t, unit, "ExecStopPost"); !strings.Contains(got, "argv[]="+unitProg+" --root ") || !strings.Contains(got, " __cleanup "+id) {
			t.Errorf("ExecStopPost %s, want %s … __cleanup %s", got, unitProg, id)
		}
	} else {
		t.Errorf("no berth-unit next to %s (make build makes it): %v", cli, err)
	}
	// The unit's main process is the container's PID 1 (sleep), not berth.
	pid := unitProp(t, unit, "MainPID")
	comm := sh(t, "cat /proc/"+pid+"/comm")
	if comm != "sleep" {
		t.Errorf("unit's main process %s is %q, want the container's sleep", pid, comm)
	}
	if got := inspect(t, "it_web"); strconv.Itoa(got.State.Pid) != pid || !got.State.Running || got.ID != id {
		t.Errorf("inspect: pid %d running %v id %s; unit main PID %s", got.State.Pid, got.State.Running, got.ID, pid)
	}
	// No berth process is left: the unit's cgroup holds only sleep.
	procs := sh(t, "systemctl show -P ControlGroup "+unit+" | xargs -I{} cat /sys/fs/cgroup/systemd{}/cgroup.procs")
	if procs != pid {
		t.Errorf("unit cgroup holds %q, want only the container's PID %s", procs, pid)
	}
	// machined knows it, under a host-name-safe name.
	if m := sh(t, "machinectl list --no-legend --no-pager"); !strings.Contains(m, "it-web") || !strings.Contains(m, "container") {
		t.Errorf("machinectl list: %q", m)
	}
	if st := sh(t, "machinectl show it-web -p Unit -p Leader"); !strings.Contains(st, "Unit="+unit) || !strings.Contains(st, "Leader="+pid) {
		t.Errorf("machinectl show it-web: %q", st)
	}
	// ps shows it up, with Docker's columns.
	ps := ok(t, "ps", "--format", "{{.Names}}|{{.Status}}|{{.Command}}|{{.Labels}}")
	if !strings.Contains(ps, "it_web|Up ") || !strings.Contains(ps, `"sleep 1000"`) || !strings.Contains(ps, "tier=web") {
		t.Errorf("ps: %q", ps)
	}
	if q := ok(t, "ps", "-q", "--no-trunc"); !strings.Contains(q, id) {
		t.Errorf("ps -q --no-trunc: %q", q)
	}
	// Any unique prefix of the ID works.
	if got := inspect(t, id[:7]).Name; got != "/it_web" {
		t.Errorf("inspect by prefix: name %q", got)
	}

	// systemctl stop stops it; berth sees it exited (sleep ignores
	// SIGTERM as PID 1, so systemd waits its timeout, then SIGKILL: 137).
	// A shorter timeout keeps the test quick: berth stop -t 1.
	stop := time.Now()
	ok(t, "stop", "-t", "1", "it_web")
	if d := time.Since(stop); d < 900*time.Millisecond || d > 8*time.Second {
		t.Errorf("stop -t 1 took %v", d)
	}
	got := inspect(t, "it_web")
	if got.State.Status != "exited" || got.State.ExitCode != 137 || got.State.Running {
		t.Errorf("after stop: %+v", got.State)
	}
	if m := sh(t, "machinectl list --no-legend --no-pager"); strings.Contains(m, "it-web") {
		t.Errorf("machinectl still lists the stopped container: %q", m)
	}
	if ps := ok(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "it_web Exited (137)") {
		t.Errorf("ps -a after stop: %q", ps)
	}
	// Started again, stopped with systemctl this time.
	ok(t, "start", "it_web")
	if s := unitProp(t, unit, "ActiveState"); s != "active" {
		t.Fatalf("after start, %s is %s", unit, s)
	}
	sh(t, "systemctl kill -s KILL "+unit)
	waitFor(t, 5*time.Second, "the killed container to show as exited", func() bool {
		return strings.Contains(ok(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"), "it_web Exited (137)")
	})
	ok(t, "rm", "it_web")
	assertGone(t, id, "it_web")
}

func TestStopTimeoutHonoured(t *testing.T) {
	busybox(t)
	// A container that handles SIGTERM exits 0 on stop.
	ok(t, "run", "-d", "--name", "it_trap", "busybox", "sh", "-c", "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done")
	defer run(t, "rm", "-f", "it_trap")
	time.Sleep(300 * time.Millisecond)
	ok(t, "stop", "it_trap")
	if st := inspect(t, "it_trap").State; st.ExitCode != 0 || st.Status != "exited" {
		t.Errorf("after stop: %+v", st)
	}
	if logs := ok(t, "logs", "it_trap"); logs != "bye\n" {
		t.Errorf("logs: %q", logs)
	}
	// One that ignores it is killed after --stop-timeout, not before.
	ok(t, "run", "-d", "--name", "it_stubborn", "--stop-timeout", "2", "busybox", "sleep", "1000")
	defer run(t, "rm", "-f", "it_stubborn")
	start := time.Now()
	sh(t, "systemctl stop berth-it_stubborn.service")
	if d := time.Since(start); d < 1800*time.Millisecond {
		t.Errorf("systemctl stop took %v: the stop timeout of 2 s was not waited for", d)
	}
	if st := inspect(t, "it_stubborn").State; st.ExitCode != 137 {
		t.Errorf("after the stop timeout: %+v", st)
	}
	if ps := ok(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "it_stubborn Exited (137)") {
		t.Errorf("ps -a after systemctl stop: %q", ps)
	}
}

// TestStopBySystemd: with a stop timeout of 5 s or more, systemd stops
// the container itself (machine.NativeStop): the unit has no ExecStop
// and the stop timeout as its own, systemctl stop waits it and then
// kills (137), and a --restart always container stopped so stays
// exited, its unit gone, rather than restarting (its cleanup asked
// systemd for the stop job). A container that ends on its own is still
// restarted (TestRunRestartAlways, with Docker's 10 s).
func TestStopBySystemd(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "run", "-d", "--name", "it_native", "--stop-timeout", "5", "--restart", "always", "busybox", "sleep", "1000"))
	defer run(t, "rm", "-f", "it_native")
	unit := "berth-it_native.service"
	if s := unitProp(t, unit, "ExecStop"); s != "" {
		t.Errorf("ExecStop=%s, want none", s)
	}
	if s := unitProp(t, unit, "TimeoutStopUSec"); s != "5s" {
		t.Errorf("TimeoutStopUSec=%s, want the stop timeout, 5s", s)
	}
	start := time.Now()
	sh(t, "systemctl stop "+unit)
	if d := time.Since(start); d < 4800*time.Millisecond || d > 12*time.Second {
		t.Errorf("systemctl stop took %v, want the stop timeout of 5 s", d)
	}
	// The record as the cleanup wrote it (berth ps and inspect would
	// also correct a "restarting" whose unit is gone).
	var rec struct{ State struct{ Status string } }
	if b, err := os.ReadFile(filepath.Join(stateDir, id, "container.json")); err != nil || json.Unmarshal(b, &rec) != nil || rec.State.Status != "exited" {
		t.Errorf("the cleanup recorded %q (%v), want exited", rec.State.Status, err)
	}
	if st := inspect(t, "it_native").State; st.ExitCode != 137 || st.Status != "exited" {
		t.Errorf("after systemctl stop: %+v", st)
	}
	time.Sleep(300 * time.Millisecond) // a restart would come after 500 ms
	if ps := ok(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "it_native Exited (137)") {
		t.Errorf("ps -a after systemctl stop: %q", ps)
	}
	if s := unitProp(t, unit, "LoadState"); s != "not-found" {
		t.Errorf("the stopped container's unit is %s, want gone (no restart)", s)
	}
}

// TestRunSignalProxy: a signal to a foreground `berth run` goes to the
// container's PID 1, as Docker's --sig-proxy does, and run exits with
// the container's code.
func TestRunSignalProxy(t *testing.T) {
	busybox(t)
	c := exec.Command(binary(t, "BERTH_BIN"), "run", "--rm", "--name", "it_sig", "busybox", "sh", "-c",
		"trap 'echo got INT; exit 42' INT; echo ready; while true; do sleep 0.1; done")
	var out bytes.Buffer
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the container to run", func() bool {
		return unitProp(t, "berth-it_sig.service", "ActiveState") == "active"
	})
	time.Sleep(300 * time.Millisecond)
	c.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 42 || !strings.Contains(out.String(), "got INT") {
			t.Errorf("after SIGINT: %v, output %q; want exit 42 and the trap's line", err, out.String())
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		t.Fatal("berth run did not end after SIGINT")
	}
}

func TestRunLogs(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "run", "-d", "--name", "it_logs", "busybox", "sh", "-c", "echo one; echo two >&2; echo three"))
	defer run(t, "rm", "-f", "it_logs")
	if code := strings.TrimSpace(ok(t, "wait", "it_logs")); code != "0" {
		t.Fatalf("wait: %q", code)
	}
	r := run(t, "logs", "it_logs")
	if r.code != 0 || r.stdout != "one\nthree\n" || r.stderr != "two\n" {
		t.Errorf("logs: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// journald takes stdout and stderr as two streams and orders them as
	// it reads them: the last line is one of them, on its own stream.
	if tail := run(t, "logs", "--tail", "1", "it_logs"); tail.stdout+tail.stderr != "three\n" && tail.stdout+tail.stderr != "two\n" {
		t.Errorf("logs --tail 1: stdout %q, stderr %q", tail.stdout, tail.stderr)
	}
	if ts := ok(t, "logs", "-t", "it_logs"); !strings.HasPrefix(ts, time.Now().UTC().Format("2006-01-02T")) {
		t.Errorf("logs -t: %q", ts)
	}
	// journald has them under Docker's field names.
	j := sh(t, "journalctl -o cat CONTAINER_NAME=it_logs CONTAINER_ID_FULL="+id+" PRIORITY=6")
	if j != "one\nthree" {
		t.Errorf("journalctl CONTAINER_NAME=it_logs: %q", j)
	}
	if j := sh(t, "journalctl -o cat -u berth-it_logs.service CONTAINER_ID="+id[:12]+" CONTAINER_ID_FULL="+id); !strings.Contains(j, "two") {
		t.Errorf("journalctl -u berth-it_logs: %q", j)
	}
	// logs -f of a running container follows it until it stops.
	ok(t, "run", "-d", "--name", "it_follow", "busybox", "sh", "-c", "echo a; sleep 1; echo b")
	defer run(t, "rm", "-f", "it_follow")
	if f := ok(t, "logs", "-f", "it_follow"); f != "a\nb\n" {
		t.Errorf("logs -f: %q", f)
	}
}

func TestRunMemoryLimitOOM(t *testing.T) {
	busybox(t)
	// The shell reads 100 MB into a variable: over 32 MB it is killed.
	r := run(t, "run", "--name", "it_oom", "-m", "32m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived")
	defer run(t, "rm", "-f", "it_oom")
	if r.code != 137 || strings.Contains(r.stdout, "survived") {
		t.Fatalf("run -m 32m of a 100 MB allocation: exit %d, stdout %q", r.code, r.stdout)
	}
	st := inspect(t, "it_oom").State
	if st.ExitCode != 137 || !st.OOMKilled {
		t.Errorf("inspect after OOM: %+v", st)
	}
	if ps := ok(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "it_oom Exited (137)") {
		t.Errorf("ps -a: %q", ps)
	}
	// The same allocation under 256 MB survives.
	r = run(t, "run", "--rm", "-m", "256m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived")
	if r.code != 0 || r.stdout != "survived\n" {
		t.Errorf("run -m 256m: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestRunPidsLimit(t *testing.T) {
	busybox(t)
	// A fork bomb of sleeps: the shell counts what it started until a
	// fork fails; with sh itself, at most 20 tasks.
	r := run(t, "run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
		"for i in $(seq 1 60); do sleep 5 & echo $i; done")
	lines := strings.Fields(r.stdout)
	if len(lines) == 0 {
		t.Fatalf("fork bomb printed nothing (exit %d, stderr %q)", r.code, r.stderr)
	}
	n, _ := strconv.Atoi(lines[len(lines)-1])
	if n >= 20 || n < 10 || !strings.Contains(r.stderr, "fork") {
		t.Errorf("under --pids-limit 20 the shell started %d sleeps (exit %d, stderr %q)", n, r.code, r.stderr)
	}
}

func TestRunRestartOnFailure(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_retry", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo attempt; exit 3")
	defer run(t, "rm", "-f", "it_retry")
	waitFor(t, 20*time.Second, "it_retry to give up", func() bool {
		st := inspect(t, "it_retry").State
		return st.Status == "exited"
	})
	// Let a wrong extra restart show up if there is one.
	time.Sleep(time.Second)
	got := inspect(t, "it_retry")
	if got.RestartCount != 2 || got.State.ExitCode != 3 || got.State.Status != "exited" {
		t.Errorf("after on-failure:2: restarts %d, %+v", got.RestartCount, got.State)
	}
	if n := strings.Count(ok(t, "logs", "it_retry"), "attempt"); n != 3 {
		t.Errorf("the container ran %d times, want 3 (the first run and 2 restarts)", n)
	}
}

func TestRunErrorsLeaveNothing(t *testing.T) {
	busybox(t)
	before := sh(t, "ls /var/lib/berth/containers | wc -l")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "--rm", "nosuchimage"}, 125, "Unable to find image 'nosuchimage'"},
		{[]string{"run", "--rm", "--memory", "lots", "busybox"}, 125, "invalid"},
		{[]string{"run", "--rm", "--restart", "always", "busybox", "true"}, 125, "conflicting options"},
		{[]string{"run", "--rm", "--bogus", "busybox"}, 125, "unknown flag"},
		{[]string{"run", "--rm", "busybox", "nosuchcmd"}, 127, `exec: "nosuchcmd": executable file not found in $PATH`},
		{[]string{"run", "--rm", "busybox", "/etc/passwd"}, 126, "permission denied"},
		{[]string{"run", "--rm", "-u", "nobody:nosuchgroup", "busybox", "true"}, 125, "nosuchgroup"},
		{[]string{"run", "--rm", "-d", "busybox", "nosuchcmd"}, 127, "executable file not found"},
	}
	for _, c := range cases {
		r := run(t, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("berth %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.msg)
		}
	}
	if after := sh(t, "ls /var/lib/berth/containers | wc -l"); after != before {
		t.Errorf("failed runs left state behind: %s entries before, %s after", before, after)
	}
	if u := sh(t, "systemctl list-units --all --no-legend 'berth-*.service' | grep -v it_ || true"); u != "" {
		t.Errorf("failed runs left units: %s", u)
	}
	// A name in use is refused before anything is made.
	ok(t, "create", "--name", "it_taken", "busybox", "true")
	defer run(t, "rm", "it_taken")
	if r := run(t, "run", "--rm", "--name", "it_taken", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("duplicate name: exit %d, %q", r.code, r.stderr)
	}
	// Without --rm, a command that is not found leaves an exited
	// container with code 127, as in Docker.
	r := run(t, "run", "--name", "it_nf", "busybox", "nosuchcmd")
	defer run(t, "rm", "it_nf")
	if st := inspect(t, "it_nf").State; r.code != 127 || st.ExitCode != 127 || !strings.Contains(st.Error, "nosuchcmd") {
		t.Errorf("run of a missing command: exit %d, state %+v", r.code, st)
	}
}

func TestCreateStartAttachWaitKill(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "create", "--name", "it_cs", "-e", "GREETING=hi", "-w", "/tmp/work", "busybox", "sh", "-c", "echo $GREETING from $(pwd); exit 4"))
	defer run(t, "rm", "-f", "it_cs")
	if st := inspect(t, "it_cs").State; st.Status != "created" {
		t.Fatalf("after create: %+v", st)
	}
	if ps := ok(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "it_cs Created") {
		t.Errorf("ps -a: %q", ps)
	}
	r := run(t, "start", "-a", "it_cs")
	if r.code != 4 || r.stdout != "hi from /tmp/work\n" {
		t.Errorf("start -a: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// start -a shows only the new run's output.
	if r := run(t, "start", "-a", id[:10]); r.stdout != "hi from /tmp/work\n" {
		t.Errorf("second start -a: %q", r.stdout)
	}
	if code := strings.TrimSpace(ok(t, "wait", "it_cs")); code != "4" {
		t.Errorf("wait: %q", code)
	}

	// PID 1 of a PID namespace gets only the signals it handles (the
	// kernel's rule, as in Docker): this one handles USR1.
	ok(t, "run", "-d", "--name", "it_kill", "busybox", "sh", "-c", "trap 'exit 10' USR1; while true; do sleep 0.1; done")
	defer run(t, "rm", "-f", "it_kill")
	done := make(chan string, 1)
	go func() { done <- strings.TrimSpace(ok(t, "wait", "it_kill")) }()
	time.Sleep(200 * time.Millisecond)
	ok(t, "kill", "-s", "USR1", "it_kill")
	select {
	case code := <-done:
		if code != "10" {
			t.Errorf("wait after kill -s USR1: %q", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return after kill")
	}
	if r := run(t, "kill", "it_kill"); r.code == 0 || !strings.Contains(r.stderr, "is not running") {
		t.Errorf("kill of a stopped container: exit %d, %q", r.code, r.stderr)
	}
}

func TestRmRunningNeedsForce(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "run", "-d", "--name", "it_rm", "busybox", "sleep", "1000"))
	if r := run(t, "rm", "it_rm"); r.code != 1 || !strings.Contains(r.stderr, "You cannot remove a running container") {
		t.Errorf("rm of a running container: exit %d, %q", r.code, r.stderr)
	}
	if s := unitProp(t, "berth-it_rm.service", "ActiveState"); s != "active" {
		t.Errorf("refused rm stopped the container: %s", s)
	}
	ok(t, "rm", "-f", "it_rm")
	assertGone(t, id, "it_rm")
	if r := run(t, "rm", "it_rm"); r.code != 1 || !strings.Contains(r.stderr, "No such container") {
		t.Errorf("rm of a removed container: exit %d, %q", r.code, r.stderr)
	}
}

func TestRunParallel(t *testing.T) {
	busybox(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("it_par%d", i)
			r := run(t, "run", "--rm", "--name", name, "busybox", "sh", "-c", "echo $HOSTNAME; sleep 0.5; echo done "+name)
			if r.code != 0 || !strings.HasSuffix(r.stdout, "done "+name+"\n") {
				errs <- fmt.Sprintf("%s: exit %d, stdout %q, stderr %q", name, r.code, r.stdout, r.stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i := range n {
		name := fmt.Sprintf("it_par%d", i)
		if s := unitProp(t, "berth-"+name+".service", "LoadState"); s != "not-found" {
			t.Errorf("unit of %s left: %s", name, s)
		}
		if r := run(t, "inspect", name); r.code == 0 {
			t.Errorf("%s still exists after --rm", name)
		}
	}
	if m := sh(t, "grep -c /var/lib/berth/containers /proc/self/mountinfo || true"); m != "0" {
		t.Errorf("%s container mounts left on the host", m)
	}
}

// TestRmiImageInUse: the layers under a container are never deleted.
func TestRmiImageInUse(t *testing.T) {
	busybox(t)
	ok(t, "import", filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"), "it-inuse:1")
	defer run(t, "rmi", "-f", "it-inuse:1")
	ok(t, "run", "-d", "--name", "it_inuse", "it-inuse:1", "sleep", "1000")
	defer run(t, "rm", "-f", "it_inuse")
	if r := run(t, "rmi", "-f", "it-inuse:1"); r.code != 1 || !strings.Contains(r.stderr, "cannot be forced") {
		t.Errorf("rmi -f of an image a running container uses: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "stop", "-t", "0", "it_inuse")
	if r := run(t, "rmi", "it-inuse:1"); r.code != 1 || !strings.Contains(r.stderr, "must be forced") {
		t.Errorf("rmi of an image a stopped container uses: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "rmi", "-f", "it-inuse:1")
	// The container still starts: its layers are there.
	ok(t, "start", "it_inuse")
	if st := inspect(t, "it_inuse").State; !st.Running {
		t.Errorf("container of an untagged image does not run: %+v", st)
	}
}

// TestRunHostileDevSymlink: an image whose /dev is a symlink out of the
// image must not make berth's init create device nodes on the host.
func TestRunHostileDevSymlink(t *testing.T) {
	busybox(t)
	victim, err := os.MkdirTemp("/var/tmp", "berth-victim-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(victim)
	in, err := os.Open(filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var buf bytes.Buffer
	tr, tw := tar.NewReader(in), tar.NewWriter(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.TrimPrefix(h.Name, "./"); n == "dev" || n == "dev/" || strings.HasPrefix(n, "dev/") {
			continue
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	tw.WriteHeader(&tar.Header{Name: "dev", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../.." + victim, Mode: 0o777})
	tw.Close()
	tarball := filepath.Join(t.TempDir(), "hostile.tar")
	os.WriteFile(tarball, buf.Bytes(), 0o644)
	ok(t, "import", tarball, "it-hostile-dev")
	defer run(t, "rmi", "it-hostile-dev")
	r := run(t, "run", "--rm", "it-hostile-dev", "sh", "-c", "ls /dev")
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Fatalf("berth's init wrote %d entries into the host directory %s that the image's /dev points to", len(ents), victim)
	}
	if r.code != 0 || !strings.Contains(r.stdout, "null") {
		t.Errorf("run of the image with a /dev symlink: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestRunRestartAlways: --restart always keeps restarting a failing
// container past systemd's default start limit (5 in 10 s), and a stop
// between two restarts leaves it exited with its last exit code.
func TestRunRestartAlways(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_always", "--restart", "always", "busybox", "sh", "-c", "exit 3")
	defer run(t, "rm", "-f", "it_always")
	waitFor(t, 20*time.Second, "more than 6 restarts", func() bool { return inspect(t, "it_always").RestartCount > 6 })
	// Still cycling (active, deactivating, activating), never given up.
	if s := unitProp(t, "berth-it_always.service", "ActiveState"); s == "failed" || s == "inactive" {
		t.Errorf("after %d restarts the unit is %s", inspect(t, "it_always").RestartCount, s)
	}
	ok(t, "stop", "it_always")
	time.Sleep(500 * time.Millisecond)
	got := inspect(t, "it_always")
	if got.State.Status != "exited" || got.State.ExitCode != 3 {
		t.Errorf("after stop: %+v", got.State)
	}
	if s := unitProp(t, "berth-it_always.service", "LoadState"); s != "not-found" {
		t.Errorf("the stopped container's unit is still %s", s)
	}
}

// TestRunSecurityOptions: --cap-drop, --cap-add, --read-only and
// --security-opt no-new-privileges reach the container's process.
func TestRunSecurityOptions(t *testing.T) {
	busybox(t)
	status := func(args ...string) string {
		return ok(t, append(append([]string{"run", "--rm"}, args...), "busybox", "grep", "-E", "^(CapBnd|CapEff|NoNewPrivs)", "/proc/self/status")...)
	}
	if out := status("--cap-drop", "ALL"); !strings.Contains(out, "CapBnd:\t0000000000000000") {
		t.Errorf("--cap-drop ALL: %q", out)
	}
	// Docker's default set plus NET_ADMIN (bit 12): 0xa80425fb | 0x1000.
	if out := status("--cap-add", "NET_ADMIN"); !strings.Contains(out, "CapBnd:\t00000000a80435fb") {
		t.Errorf("--cap-add NET_ADMIN: %q", out)
	}
	if out := status("--security-opt", "no-new-privileges"); !strings.Contains(out, "NoNewPrivs:\t1") {
		t.Errorf("--security-opt no-new-privileges: %q", out)
	}
	if out := status(); !strings.Contains(out, "NoNewPrivs:\t1") {
		t.Errorf("default no_new_privs: %q", out)
	}
	if out := status("--security-opt", "no-new-privileges=false"); !strings.Contains(out, "NoNewPrivs:\t0") {
		t.Errorf("--security-opt no-new-privileges=false: %q", out)
	}
	// --read-only: the root cannot be written, a tmpfs can; a missing
	// working directory is still made.
	r := run(t, "run", "--rm", "--read-only", "--tmpfs", "/scratch", "-w", "/new/dir", "busybox", "sh", "-c",
		"touch /root/x 2>&1; touch /scratch/ok && echo scratch ok; pwd")
	if !strings.Contains(r.stdout, "Read-only file system") || !strings.Contains(r.stdout, "scratch ok") || !strings.Contains(r.stdout, "/new/dir") {
		t.Errorf("--read-only: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "run", "--rm", "--cap-add", "NOPE", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "invalid capability") {
		t.Errorf("--cap-add NOPE: exit %d, %q", r.code, r.stderr)
	}
}

// TestPruneAndFilter: ps --filter, container prune and volume prune -a
// remove exactly what is not in use.
func TestPruneAndFilter(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_keep", "-l", "it=prune", "-v", "it-pv-used:/d", "busybox", "sleep", "1000")
	defer run(t, "rm", "-f", "it_keep")
	ok(t, "run", "--name", "it_gone", "-l", "it=prune", "busybox", "true")
	ok(t, "volume", "create", "it-pv-unused")
	if out := ok(t, "ps", "--filter", "label=it=prune", "--format", "{{.Names}}"); out != "it_keep\n" {
		t.Errorf("ps --filter label (running only): %q", out)
	}
	if out := ok(t, "ps", "--filter", "status=exited", "--filter", "label=it=prune", "--format", "{{.Names}}"); out != "it_gone\n" {
		t.Errorf("ps --filter status=exited: %q", out)
	}
	out := ok(t, "container", "prune", "-f")
	if !strings.Contains(out, "Deleted Containers:") || strings.Contains(out, inspect(t, "it_keep").ID) {
		t.Errorf("container prune: %q", out)
	}
	if r := run(t, "inspect", "it_gone"); r.code == 0 {
		t.Error("a stopped container survived container prune")
	}
	out = ok(t, "volume", "prune", "-a", "-f")
	if !strings.Contains(out, "it-pv-unused") || strings.Contains(out, "it-pv-used") {
		t.Errorf("volume prune -a: %q", out)
	}
	if ls := ok(t, "volume", "ls", "-q"); !strings.Contains(ls, "it-pv-used") || strings.Contains(ls, "it-pv-unused") {
		t.Errorf("volume ls after prune: %q", ls)
	}
	ok(t, "rm", "-f", "it_keep")
	ok(t, "volume", "rm", "it-pv-used")
}

// TestEvents: berth events reads back, from the journal, what happened to
// a container, in Docker's actions and JSON shape.
func TestEvents(t *testing.T) {
	busybox(t)
	since := time.Now().Add(-time.Second)
	if r := run(t, "run", "--rm", "--name", "it_ev", "busybox", "sh", "-c", "exit 3"); r.code != 3 || r.stdout != "" {
		t.Fatalf("run: exit %d, stdout %q (events must not show as output)", r.code, r.stdout)
	}
	ok(t, "run", "-d", "--name", "it_ev2", "busybox", "sleep", "100")
	ok(t, "kill", "it_ev2")
	ok(t, "rm", "-f", "it_ev2")
	time.Sleep(500 * time.Millisecond)
	until := time.Now()
	window := []string{"--since", strconv.FormatFloat(float64(since.UnixMicro())/1e6, 'f', 6, 64),
		"--until", strconv.FormatFloat(float64(until.UnixMicro())/1e6, 'f', 6, 64)}
	out := ok(t, append([]string{"events", "--format", "json", "--filter", "container=it_ev"}, window...)...)
	var actions []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Type, Action string
			Actor        struct{ Attributes map[string]string }
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("events line %q: %v", line, err)
		}
		actions = append(actions, ev.Action)
		if ev.Action == "die" && ev.Actor.Attributes["exitCode"] != "3" {
			t.Errorf("die event: %+v", ev)
		}
	}
	if strings.Join(actions, " ") != "create start die destroy" {
		t.Errorf("events of it_ev: %v", actions)
	}
	plain := ok(t, append([]string{"events", "--filter", "container=it_ev2", "--filter", "event=kill"}, window...)...)
	if !strings.Contains(plain, "container kill ") || !strings.Contains(plain, "name=it_ev2") || !strings.Contains(plain, "signal=9") {
		t.Errorf("kill event line: %q", plain)
	}
}
