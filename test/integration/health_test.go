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
	// __init starts the timer after the unit is ready, which is when
	// run -d returns.
	waitFor(t, 5*time.Second, "the health timer", func() bool {
		return unitProp(t, "berth-it_health-health.timer", "ActiveState") == "active"
	})
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

// TestAppDependsOnHealthy: a service with a healthcheck is ready when
// healthy: `systemctl start` of its unit returns only once the check
// passes (no berth process waits: the check tells systemd), and a
// service that depends on it with condition "healthy" (plain After=)
// starts after that. One that is never healthy fails its start, says
// why in its journal, and `berth up` reports it.
func TestAppDependsOnHealthy(t *testing.T) {
	busybox(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "hc.toml")
	os.WriteFile(file, []byte(`
[service.db]
image = "busybox"
command = ["sh", "-c", "sleep 2; touch /run/ready; exec sleep 1000"]
tmpfs = ["/run"]                         # empty again at every start
healthcheck = { cmd = "test -f /run/ready", interval = "200ms", retries = 50 }
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
	if web.State.Status != "running" || db.State.Health == nil || db.State.Health.Status != "healthy" {
		t.Fatalf("after up: web %+v, db %+v", web.State, db.State)
	}
	if web.State.StartedAt.Sub(db.State.StartedAt) < 2*time.Second {
		t.Errorf("web started %v after db, before db could be healthy (up took %v)", web.State.StartedAt.Sub(db.State.StartedAt), time.Since(start))
	}
	if s := unitProp(t, "hc-db.service", "StatusText"); s != "healthy" {
		t.Errorf("db's unit status text is %q", s)
	}

	// systemctl start of db alone returns once it is healthy.
	sh(t, "systemctl stop hc-web.service hc-db.service")
	start = time.Now()
	sh(t, "systemctl start hc-db.service")
	took := time.Since(start)
	if took < 2*time.Second {
		t.Errorf("systemctl start returned after %v, before the check could pass", took)
	}
	if took > 6*time.Second {
		// Checks every 200 ms: not held back by a start limit.
		t.Errorf("systemctl start returned after %v, long after the check could pass", took)
	}
	if h := inspect(t, "hc-db").State.Health; h == nil || h.Status != "healthy" {
		t.Errorf("systemctl start returned with db's health %+v", h)
	}
	if s := unitProp(t, "hc-web.service", "ActiveState"); s == "active" {
		t.Error("web runs: starting db started it")
	}

	// Never healthy: the start fails, and says why.
	sick := filepath.Join(dir, "sick.toml")
	os.WriteFile(sick, []byte(`
[service.db]
image = "busybox"
command = ["sleep", "1000"]
healthcheck = { cmd = "echo not yet; false", interval = "200ms", retries = 3 }
restart = "always"                       # tried again, and failing again
stop_timeout = 1

[service.web]
image = "busybox"
command = ["sleep", "1000"]
depends_on = { db = { condition = "healthy" } }
stop_timeout = 1
`), 0o644)
	defer run(t, "down", "-f", sick)
	r := run(t, "up", "-f", sick)
	if r.code == 0 || !strings.Contains(r.stderr, "sick-db.service") {
		t.Errorf("up of a service that is never healthy: exit %d, %q", r.code, r.stderr)
	}
	for _, u := range []string{"sick-db.service", "sick-web.service"} {
		if s := unitProp(t, u, "ActiveState"); s == "active" {
			t.Errorf("%s is %s", u, s)
		}
	}
	logs := sh(t, "journalctl -u sick-db.service --no-pager -o cat || true")
	if !strings.Contains(logs, "container sick-db is unhealthy (3 checks failed in a row, the last: exit 1: not yet): sick-db.service fails to start") {
		t.Errorf("db's journal does not say why: %q", logs)
	}
	// Down takes it away between two of its restarts.
	if r := run(t, "down", "-f", sick); r.code != 0 {
		t.Errorf("down of the app whose db keeps failing: exit %d, %q", r.code, r.stderr)
	}
	if ps := ok(t, "ps", "-a", "--app", "sick", "--format", "{{.Names}}"); ps != "" {
		t.Errorf("after down: %q", ps)
	}
}
