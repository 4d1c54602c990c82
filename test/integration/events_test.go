package integration

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEventsOfObjects: volumes and networks have create and destroy
// events, an OOM kill an oom event before the die (exit code 137), and
// --format takes a Go template.
func TestEventsOfObjects(t *testing.T) {
	busybox(t)
	since := time.Now() // not earlier: the events of the tests before are not this one's
	ok(t, "volume", "create", "it-ev-vol")
	ok(t, "volume", "rm", "it-ev-vol")
	ok(t, "network", "create", "it-ev-net")
	ok(t, "network", "rm", "it-ev-net")
	ok(t, "run", "--rm", "-v", "/anon", "busybox", "true")
	run(t, "run", "--rm", "--name", "it_ev_oom", "-m", "32m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a)")
	time.Sleep(500 * time.Millisecond)
	window := []string{"--since", strconv.FormatFloat(float64(since.UnixMicro())/1e6, 'f', 6, 64),
		"--until", strconv.FormatFloat(float64(time.Now().UnixMicro())/1e6, 'f', 6, 64)}
	out := ok(t, append([]string{"events", "--filter", "type=volume", "--filter", "type=network", "--format", `{{.Type}} {{.Action}} {{if eq .Type "network"}}{{.Actor.Attributes.name}}{{else}}{{.Actor.ID}}{{end}}`}, window...)...)
	// Only the objects made in the window: a volume of a test before
	// this one may be destroyed in it (an --rm container's cleanup ends
	// a little after `berth run` returns).
	made := map[string]bool{}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		if f[1] == "create" {
			made[f[2]] = true
		}
		if made[f[2]] {
			lines = append(lines, l)
		}
	}
	if len(lines) != 6 || lines[0] != "volume create it-ev-vol" || lines[1] != "volume destroy it-ev-vol" ||
		!strings.HasPrefix(lines[2], "network create it-ev-net") || !strings.HasPrefix(lines[3], "network destroy it-ev-net") ||
		!strings.HasPrefix(lines[4], "volume create ") || !strings.HasPrefix(lines[5], "volume destroy ") {
		t.Errorf("volume and network events:\n%s", out)
	}
	oom := ok(t, append([]string{"events", "--filter", "container=it_ev_oom", "--filter", "event=oom", "--filter", "event=die",
		"--format", "{{.Action}}{{with .Actor.Attributes.exitCode}} {{.}}{{end}}"}, window...)...)
	if oom != "oom\ndie 137\n" {
		t.Errorf("oom events: %q, want oom then die 137", oom)
	}
}

// TestEventsUnitStates: while following, berth events reports the state
// changes of container units from systemd's D-Bus signals.
func TestEventsUnitStates(t *testing.T) {
	busybox(t)
	var out lockedBuffer
	c := exec.Command(binary(t, "BERTH_BIN"), "events", "--filter", "type=unit", "--filter", "unit=berth-it_ev_unit.service",
		"--format", "{{.Actor.ID}} {{.Action}} {{.Actor.Attributes.subState}}")
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	time.Sleep(time.Second) // subscribed
	ok(t, "run", "--rm", "--name", "it_ev_unit", "busybox", "true")
	ok(t, "run", "-d", "--name", "it_ev_other", "busybox", "true") // filtered out
	defer run(t, "rm", "-f", "it_ev_other")
	waitFor(t, 5*time.Second, "the unit's events", func() bool {
		return strings.Contains(out.String(), "berth-it_ev_unit.service inactive dead")
	})
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
	got := out.String()
	t.Logf("unit events:\n%s", got)
	if !strings.Contains(got, "berth-it_ev_unit.service activating start\n") || !strings.Contains(got, "berth-it_ev_unit.service inactive dead\n") ||
		strings.Contains(got, "it_ev_other") {
		t.Errorf("unit events:\n%s", got)
	}
}

// lockedBuffer is a bytes.Buffer that a command writes to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
