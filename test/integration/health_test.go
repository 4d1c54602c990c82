package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHealthcheck: --health-cmd runs on a timer of the container's own;
// ps and inspect show starting, unhealthy after the retries, healthy
// once the check passes; the timer ends with the container.
func TestHealthcheck(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_health", "--health-cmd", "test -f /tmp/ok && echo fine",
		"--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "1000")
	defer run(t, "rm", "-f", "it_health")
	status := func() string {
		return strings.TrimSpace(ok(t, "inspect", "-f", "{{.State.Health.Status}}", "it_health"))
	}
	if s := status(); s != "starting" && s != "unhealthy" {
		t.Errorf("right after start the health is %q", s)
	}
	if s := unitProp(t, "berth-it_health-health.timer", "ActiveState"); s != "active" {
		t.Errorf("the health timer is %s", s)
	}
	waitFor(t, 10*time.Second, "unhealthy", func() bool { return status() == "unhealthy" })
	if ps := ok(t, "ps", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "(unhealthy)") {
		t.Errorf("ps: %q", ps)
	}
	ok(t, "exec", "it_health", "touch", "/tmp/ok")
	waitFor(t, 10*time.Second, "healthy", func() bool { return status() == "healthy" })
	if out := ok(t, "inspect", "-f", "{{.State.Health.FailingStreak}} {{len .State.Health.Log}}", "it_health"); !strings.HasPrefix(out, "0 ") {
		t.Errorf("healthy, yet FailingStreak and log length are %q", out)
	}
	if ev := ok(t, "events", "--since", "1m", "--until", "0s", "--filter", "container=it_health"); !strings.Contains(ev, "health_status: healthy") {
		t.Errorf("events lack health_status: healthy: %q", ev)
	}
	ok(t, "rm", "-f", "it_health")
	waitFor(t, 5*time.Second, "the health timer to go", func() bool {
		return unitProp(t, "berth-it_health-health.timer", "LoadState") == "not-found"
	})
	if r := run(t, "run", "--rm", "--health-interval", "1s", "busybox", "true"); r.code != 125 {
		t.Errorf("--health-interval without --health-cmd: exit %d %q", r.code, r.stderr)
	}
}

// TestAppDependsOnHealthy: a service that depends on another with
// condition "healthy" starts only once that one's check passes.
func TestAppDependsOnHealthy(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "hc.toml")
	os.WriteFile(file, []byte(`
[service.db]
image = "busybox"
command = ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 1000"]
healthcheck = { cmd = "test -f /tmp/ready", interval = "200ms", retries = 50 }
stop_timeout = 1

[service.web]
image = "busybox"
command = ["sleep", "1000"]
depends_on = { db = { condition = "healthy" } }
stop_timeout = 1
`), 0o644)
	start := time.Now()
	ok(t, "up", "-f", file)
	defer run(t, "down", "-f", file)
	db, web := inspect(t, "hc-db"), inspect(t, "hc-web")
	if web.State.Status != "running" || db.State.Health == nil {
		t.Fatalf("after up: web %+v, db %+v", web.State, db.State)
	}
	if web.State.StartedAt.Sub(db.State.StartedAt) < time.Second {
		t.Errorf("web started %v after db, before db could be healthy (up took %v)", web.State.StartedAt.Sub(db.State.StartedAt), time.Since(start))
	}
}
