package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpuUsec reads the CPU time of a unit's cgroup (cgroup2's cpu.stat).
func cpuUsec(t *testing.T, unit string) int {
	t.Helper()
	b, err := os.ReadFile("/sys/fs/cgroup/unified/machine.slice/" + unit + "/cpu.stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	n, _ := strconv.Atoi(f[1])
	return n
}

// pausedState is the container's State as inspect shows it.
func pausedState(t *testing.T, name string) (string, bool) {
	t.Helper()
	var out []struct {
		State struct {
			Status string
			Paused bool
		}
	}
	if err := json.Unmarshal([]byte(ok(t, "inspect", name)), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v", name, err)
	}
	return out[0].State.Status, out[0].State.Paused
}

// TestTopStatsPause shows a container's processes with top, its usage
// with stats, and freezes it with pause: its CPU time stands still,
// ps and inspect say paused, and unpause lets it run again.
func TestTopStatsPause(t *testing.T) {
	busybox(t)
	name, unit := "it_top", "berth-it_top.service"
	ok(t, "run", "-d", "--name", name, "-m", "64m", "busybox", "sh", "-c", "sleep 1001 & while :; do :; done")
	defer run(t, "rm", "-f", name)
	// __init may still be finishing (it writes the start event after
	// the command runs) when run -d returns: wait until it is gone.
	waitFor(t, 5*time.Second, "the sleep, and __init gone", func() bool {
		out := ok(t, "top", name)
		return strings.Contains(out, "sleep 1001") && !strings.Contains(out, "__init")
	})

	out := ok(t, "top", name)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "UID") || !strings.Contains(lines[0], "PID") || len(lines) != 3 {
		t.Errorf("top: want ps -ef's header and the 2 processes of the container:\n%s", out)
	}
	if strings.Contains(out, "systemd") || strings.Contains(out, "integration") {
		t.Errorf("top shows host processes:\n%s", out)
	}
	if out := ok(t, "top", name, "-o", "pid,comm"); !strings.HasPrefix(out, "PID") || !strings.Contains(out, "sleep") {
		t.Errorf("top -o pid,comm:\n%s", out)
	}
	if r := run(t, "top", name, "-o", "comm"); r.code != 1 || !strings.Contains(r.stderr, "couldn't find PID field") {
		t.Errorf("top without a PID column: exit %d, %q", r.code, r.stderr)
	}

	out = ok(t, "stats", "--no-stream", name)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID   NAME") || !strings.Contains(lines[0], "MEM USAGE / LIMIT") {
		t.Fatalf("stats --no-stream:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if cpu, _ := strconv.ParseFloat(strings.TrimSuffix(f[2], "%"), 64); f[1] != name || cpu < 10 || f[5] != "64MiB" || f[len(f)-1] != "2" {
		t.Errorf("stats of a busy loop and a sleep in 64m: %q (want its name, CPU %% > 10, limit 64MiB, 2 PIDs)", lines[1])
	}
	var js struct{ Name, ID, CPUPerc, MemUsage, PIDs, NetIO, BlockIO string }
	if err := json.Unmarshal([]byte(ok(t, "stats", "--no-stream", "--format", "json", name)), &js); err != nil || js.Name != name || js.PIDs != "2" || len(js.ID) != 12 {
		t.Errorf("stats --format json: %+v, %v", js, err)
	}

	// Streaming: a table a second, each after a clear screen.
	c := exec.Command(binary(t, "BERTH_BIN"), "stats", name)
	var b strings.Builder
	c.Stdout = &b
	c.Start()
	time.Sleep(2600 * time.Millisecond)
	c.Process.Kill()
	c.Wait()
	if n := strings.Count(b.String(), "\033[2J\033[H"); n < 2 || strings.Count(b.String(), name) != n {
		t.Errorf("stats (streaming) for 2.6 s printed %d screens:\n%q", n, b.String())
	}

	if out := ok(t, "pause", name); out != name+"\n" {
		t.Errorf("pause printed %q", out)
	}
	before := cpuUsec(t, unit)
	time.Sleep(300 * time.Millisecond)
	if after := cpuUsec(t, unit); after != before {
		t.Errorf("paused, the busy loop still used %d µs of CPU", after-before)
	}
	if st, paused := pausedState(t, name); st != "paused" || !paused {
		t.Errorf("inspect of a paused container: Status %q, Paused %v", st, paused)
	}
	if out := ok(t, "ps", "--filter", "status=paused"); !strings.Contains(out, "(Paused)") || !strings.Contains(out, name) {
		t.Errorf("ps --filter status=paused:\n%s", out)
	}
	if r := run(t, "pause", name); r.code != 1 || !strings.Contains(r.stderr, "already paused") {
		t.Errorf("pause twice: exit %d, %q", r.code, r.stderr)
	}
	// exec would start frozen, in the container's cgroup: refused, as
	// Docker refuses it.
	if r := run(t, "exec", name, "true"); r.code != 125 || !strings.Contains(r.stderr, "is paused, unpause the container before exec") {
		t.Errorf("exec in a paused container: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "unpause", name)
	before = cpuUsec(t, unit)
	time.Sleep(300 * time.Millisecond)
	if after := cpuUsec(t, unit); after == before {
		t.Error("unpaused, the busy loop used no CPU")
	}
	if st, paused := pausedState(t, name); st != "running" || paused {
		t.Errorf("inspect after unpause: Status %q, Paused %v", st, paused)
	}
	if r := run(t, "unpause", name); r.code != 1 || !strings.Contains(r.stderr, "is not paused") {
		t.Errorf("unpause of a running container: exit %d, %q", r.code, r.stderr)
	}
	// A paused container stops: it is thawed to see the signal.
	ok(t, "pause", name)
	ok(t, "stop", "-t", "1", name)
	if st, paused := pausedState(t, name); st != "exited" || paused {
		t.Errorf("a paused container after stop: Status %q, Paused %v", st, paused)
	}
	if r := run(t, "pause", name); r.code != 1 || !strings.Contains(r.stderr, "is not running") {
		t.Errorf("pause of a stopped container: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, "top", name); r.code != 1 || !strings.Contains(r.stderr, "is not running") {
		t.Errorf("top of a stopped container: exit %d, %q", r.code, r.stderr)
	}
}
