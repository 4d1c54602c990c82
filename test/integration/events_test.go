package integration

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEventsOfObjects: volumes and networks have create and destroy
// events, an OOM kill an oom event before the die (exit code 137), and
// --format takes a Go template.
func TestEventsOfObjects(t *testing.T) {
	busybox(t)
	since := time.Now().Add(-time.Second)
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
	lines := strings.Split(strings.TrimSpace(out), "\n")
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
