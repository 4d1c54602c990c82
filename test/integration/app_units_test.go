package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAppDependsOnCompleted: a service that depends on another with
// condition "completed" starts once that one has exited with status 0
// (it sees what the other wrote). The job runs once per start of the
// chain: its unit stays active, so restarting the service does not run
// it again. A job that fails fails the start of the services that need
// it, and `berth up` says so.
func TestAppDependsOnCompleted(t *testing.T) {
	busybox(t)
	dir := t.TempDir()
	app := func(name, exit string) string {
		file := filepath.Join(dir, name+".toml")
		os.WriteFile(file, []byte(`
[volume.state]

[service.migrate]
image = "busybox"
command = ["sh", "-c", "sleep 1; echo migrated >> /state/done; exit `+exit+`"]
volumes = ["state:/state"]
stop_timeout = 1

[service.web]
image = "busybox"
command = ["sh", "-c", "cat /state/done > /state/seen; exec sleep 1000"]
volumes = ["state:/state"]
depends_on = { migrate = { condition = "completed" } }
stop_timeout = 1
`), 0o644)
		return file
	}
	good := app("done", "0")
	ok(t, "up", "-f", good)
	defer run(t, "down", "-v", "-f", good)
	if s := unitProp(t, "done-web.service", "ActiveState"); s != "active" {
		t.Fatalf("web is %s", s)
	}
	if s := unitProp(t, "done-migrate.service", "SubState"); s != "exited" {
		t.Errorf("migrate's unit is %s, want active (exited)", s)
	}
	if st := inspect(t, "done-migrate").State; st.Status != "exited" || st.ExitCode != 0 {
		t.Errorf("migrate: %+v", st)
	}
	if ps := ok(t, "ps", "-a", "--app", "done", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "done-migrate Exited (0)") {
		t.Errorf("ps: %q", ps)
	}
	mp := strings.TrimSpace(ok(t, "volume", "inspect", "-f", "{{.Mountpoint}}", "done-state"))
	waitFor(t, 5*time.Second, "web to read migrate's file", func() bool {
		b, _ := os.ReadFile(filepath.Join(mp, "seen"))
		return string(b) == "migrated\n"
	})
	// Restarting web, or killing it under restart = "always", does not
	// run the job again.
	sh(t, "systemctl restart done-web.service")
	if s := unitProp(t, "done-web.service", "ActiveState"); s != "active" {
		t.Errorf("web is %s after its restart", s)
	}
	if b, _ := os.ReadFile(filepath.Join(mp, "done")); string(b) != "migrated\n" {
		t.Errorf("the job ran again when web restarted: %q", b)
	}
	// Stopping the job's unit and starting web runs it again.
	sh(t, "systemctl stop done-web.service done-migrate.service")
	sh(t, "systemctl start done-web.service")
	if b, _ := os.ReadFile(filepath.Join(mp, "done")); string(b) != "migrated\nmigrated\n" {
		t.Errorf("a new start of the chain did not run the job again: %q", b)
	}

	bad := app("fail", "3")
	defer run(t, "down", "-v", "-f", bad)
	r := run(t, "up", "-f", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "fail-migrate.service") {
		t.Errorf("up of an app whose job fails: exit %d, %q", r.code, r.stderr)
	}
	if s := unitProp(t, "fail-web.service", "ActiveState"); s == "active" {
		t.Errorf("web started after its dependency failed")
	}
	if st := inspect(t, "fail-migrate").State; st.Status != "exited" || st.ExitCode != 3 {
		t.Errorf("the failed job: %+v", st)
	}
	if logs := sh(t, "journalctl -u fail-migrate.service --no-pager -o cat || true"); !strings.Contains(logs, "container fail-migrate exited with code 3") {
		t.Errorf("the job's journal does not say how it ended: %q", logs)
	}
}

// TestAppNetworks: a service on two networks answers on both, under the
// aliases of each network, and a service on one network does not see
// the other network's aliases.
func TestAppNetworks(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "nets.toml")
	os.WriteFile(file, []byte(`
[network.front]
[network.back]
internal = true

[service.api]
image = "busybox"
command = "httpd -f -p 8080 -h /var/www"
networks = { front = { aliases = ["api.front"] }, back = { aliases = ["api.back"] } }
stop_timeout = 1

[service.fclient]
image = "busybox"
command = ["sleep", "1000"]
networks = ["front"]
stop_timeout = 1

[service.bclient]
image = "busybox"
command = ["sleep", "1000"]
networks = ["back"]
stop_timeout = 1
`), 0o644)
	ok(t, "up", "-f", file)
	defer run(t, "down", "-f", file)
	for _, tt := range []struct{ client, name string }{
		{"nets-fclient", "api"}, {"nets-fclient", "api.front"},
		{"nets-bclient", "api"}, {"nets-bclient", "api.back"},
	} {
		var r result
		waitFor(t, 5*time.Second, tt.client+" to reach "+tt.name, func() bool {
			r = run(t, "exec", tt.client, "wget", "-qO-", "http://"+tt.name+":8080/")
			return r.code == 0
		})
		if !strings.Contains(r.stdout, "Hello from a berth container") {
			t.Errorf("%s fetching %s: %q", tt.client, tt.name, r.stdout)
		}
	}
	if r := run(t, "exec", "nets-fclient", "nslookup", "api.back"); r.code == 0 {
		t.Errorf("api.back, an alias on the other network, resolves on front: %s", r.stdout)
	}
	if nets := ok(t, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "nets-api"); !strings.Contains(nets, "nets_front") || !strings.Contains(nets, "nets_back") {
		t.Errorf("api's networks: %q", nets)
	}
}

// TestAppUpPersist: up --persist writes the units to /etc/systemd/system
// and enables them (they survive a reboot, unlike /run's); down removes
// them and their links.
func TestAppUpPersist(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "pers.toml")
	os.WriteFile(file, []byte("[service.web]\nimage = \"busybox\"\ncommand = [\"sleep\", \"1000\"]\nstop_timeout = 1\n"+
		"[service.rep]\nimage = \"busybox\"\ncommand = [\"sleep\", \"1000\"]\nstop_timeout = 1\nreplicas = 2\n"), 0o644)
	ok(t, "up", "--persist", "-f", file)
	defer run(t, "down", "-f", file)
	if p := unitProp(t, "pers-web.service", "FragmentPath"); p != "/etc/systemd/system/pers-web.service" {
		t.Errorf("the unit is loaded from %q", p)
	}
	// The replicas' instances are enabled, as systemctl enable does it.
	for _, u := range []string{"pers-web.service", "pers-rep@2.service"} {
		if s := sh(t, "systemctl is-enabled "+u+" || true"); s != "enabled" {
			t.Errorf("%s is %s, want enabled", u, s)
		}
	}
	if s := unitProp(t, "pers-web.service", "ActiveState"); s != "active" {
		t.Errorf("the unit is %s", s)
	}
	if _, err := os.Stat("/run/systemd/system/pers-web.service"); err == nil {
		t.Error("a unit is in /run/systemd/system too")
	}
	// A persistent app stays persistent: up without --persist updates
	// its units in /etc (units in /run would be hidden by them).
	ok(t, "up", "-f", file)
	if _, err := os.Stat("/run/systemd/system/pers-web.service"); err == nil {
		t.Error("up of a persistent app wrote its unit to /run/systemd/system")
	}
	ok(t, "down", "-f", file)
	for _, p := range []string{"/etc/systemd/system/pers-web.service", "/etc/systemd/system/pers-net-default.service", "/etc/systemd/system/multi-user.target.wants/pers-web.service",
		"/etc/systemd/system/pers-rep@.service", "/etc/systemd/system/multi-user.target.wants/pers-rep@1.service"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is left after down", p)
		}
	}
	if s := unitProp(t, "pers-web.service", "LoadState"); s != "not-found" {
		t.Errorf("after down the unit is %s", s)
	}
}

// TestAppBuild: a service with `build` runs the image its build oneshot
// made from the context (Dockerfile, build args, target), tagged after
// the app and service; down leaves the image.
func TestAppBuild(t *testing.T) {
	busybox(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ctx"), 0o755)
	os.WriteFile(filepath.Join(dir, "ctx", "Dockerfile.app"), []byte(`FROM busybox AS base
ARG GREETING=none
RUN echo "$GREETING from the build" > /greeting
FROM base AS final
RUN echo never > /greeting
`), 0o644)
	file := filepath.Join(dir, "Built.toml")
	os.WriteFile(file, []byte(`
[service.web]
build = { context = "./ctx", dockerfile = "Dockerfile.app", args = { GREETING = "hello" }, target = "base" }
command = ["sh", "-c", "cat /greeting; exec sleep 1000"]
stop_timeout = 1
`), 0o644)
	ok(t, "up", "-f", file)
	defer func() {
		run(t, "down", "-f", file)
		run(t, "rmi", "built-web")
	}()
	if s := unitProp(t, "Built-build-web.service", "ActiveState"); s != "active" {
		t.Errorf("the build oneshot is %s", s)
	}
	if img := inspect(t, "Built-web"); img.State.Status != "running" {
		t.Fatalf("the service's container: %+v", img.State)
	}
	waitFor(t, 5*time.Second, "the built image's file in the service's output", func() bool {
		return strings.Contains(run(t, "logs", "Built-web").stdout, "hello from the build")
	})
	if r := run(t, "image", "inspect", "built-web"); r.code != 0 {
		t.Errorf("the built image is not tagged built-web: %s", r.stderr)
	}
}

// TestAppEphemeralPorts: replicas that publish a port without a host
// port each get a free host port that answers, and keep it across a
// restart of their unit.
func TestAppEphemeralPorts(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "eph.toml")
	os.WriteFile(file, []byte(`
[service.web]
image = "busybox"
command = "httpd -f -p 80 -h /var/www"
ports = ["80"]
replicas = 2
stop_timeout = 1
`), 0o644)
	ok(t, "up", "-f", file)
	defer run(t, "down", "-f", file)
	hostPort := func(name string) string {
		out := strings.TrimSpace(ok(t, "port", name, "80/tcp"))
		_, port, found := strings.Cut(strings.Split(out, "\n")[0], ":")
		if !found || port == "" || port == "0" {
			t.Fatalf("port %s 80/tcp: %q", name, out)
		}
		return port
	}
	p1, p2 := hostPort("eph-web-1"), hostPort("eph-web-2")
	if p1 == p2 {
		t.Fatalf("both replicas publish host port %s", p1)
	}
	for _, p := range []string{p1, p2} {
		waitFor(t, 5*time.Second, "host port "+p, func() bool {
			out, err := exec.Command("busybox", "wget", "-qO-", "http://127.0.0.1:"+p+"/").Output()
			return err == nil && strings.Contains(string(out), "Hello from a berth container")
		})
	}
	created := strings.TrimSpace(ok(t, "inspect", "-f", "{{.Created}}", "eph-web-1"))
	sh(t, "systemctl restart eph-web@1.service")
	if p := hostPort("eph-web-1"); p != p1 {
		t.Errorf("after a restart replica 1 publishes %s, before %s", p, p1)
	}
	if c := strings.TrimSpace(ok(t, "inspect", "-f", "{{.Created}}", "eph-web-1")); c != created {
		t.Errorf("a restart made the container again: created %s, before %s", c, created)
	}
}

// TestAppUpAppliesChanges: berth up of a running app whose file changed
// makes the changed service's container again and restarts it; a service
// that did not change keeps running, untouched.
func TestAppUpAppliesChanges(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "chg.toml")
	write := func(version string) {
		os.WriteFile(file, []byte(`
[service.db]
image = "busybox"
command = ["sleep", "1000"]
stop_timeout = 1

[service.web]
image = "busybox"
command = ["sh", "-c", "echo web `+version+`; exec sleep 1000"]
depends_on = ["db"]
stop_timeout = 1
`), 0o644)
	}
	write("v1")
	ok(t, "up", "-f", file)
	defer run(t, "down", "-f", file)
	dbPID, webPID := unitProp(t, "chg-db.service", "MainPID"), unitProp(t, "chg-web.service", "MainPID")
	ok(t, "up", "-f", file) // nothing changed: nothing restarts
	if p := unitProp(t, "chg-web.service", "MainPID"); p != webPID {
		t.Errorf("up of an unchanged app restarted web (%s, before %s)", p, webPID)
	}
	write("v2")
	ok(t, "up", "-f", file)
	if p := unitProp(t, "chg-web.service", "MainPID"); p == webPID || unitProp(t, "chg-web.service", "ActiveState") != "active" {
		t.Errorf("web was not restarted: MainPID %s, before %s", p, webPID)
	}
	if p := unitProp(t, "chg-db.service", "MainPID"); p != dbPID {
		t.Errorf("db, unchanged, was restarted (%s, before %s)", p, dbPID)
	}
	waitFor(t, 5*time.Second, "web's new output", func() bool {
		return strings.Contains(run(t, "logs", "chg-web").stdout, "web v2")
	})
}

// TestAppUpRemoveOrphans: after a service is removed from the file,
// `berth up` warns about its containers and leaves them running, as
// Compose does; `berth up --remove-orphans` stops and removes them, with
// their unit file, and leaves the rest running.
func TestAppUpRemoveOrphans(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "orph.toml")
	web := "[service.web]\nimage = \"busybox\"\ncommand = [\"sleep\", \"1000\"]\nstop_timeout = 1\n"
	os.WriteFile(file, []byte(web+"[service.old]\nimage = \"busybox\"\ncommand = [\"sleep\", \"1000\"]\nreplicas = 2\nstop_timeout = 1\n"), 0o644)
	ok(t, "up", "-f", file)
	defer run(t, "down", "-f", file)
	started := inspect(t, "orph-web").State.StartedAt

	os.WriteFile(file, []byte(web), 0o644)
	r := run(t, "up", "-f", file)
	if r.code != 0 || !strings.Contains(r.stderr, "found orphan containers (orph-old-1, orph-old-2) for app orph") || !strings.Contains(r.stderr, "--remove-orphans") {
		t.Errorf("up without the service: exit %d, %q", r.code, r.stderr)
	}
	if s := unitProp(t, "orph-old@1.service", "ActiveState"); s != "active" {
		t.Errorf("without --remove-orphans, an orphan's unit is %s", s)
	}

	r = run(t, "up", "--remove-orphans", "-f", file)
	if r.code != 0 || !strings.Contains(r.stderr, "removed orphan container orph-old-2") {
		t.Errorf("up --remove-orphans: exit %d, %q", r.code, r.stderr)
	}
	if ps := ok(t, "ps", "-a", "--app", "orph", "--format", "{{.Names}}"); strings.TrimSpace(ps) != "orph-web" {
		t.Errorf("after up --remove-orphans: %q", ps)
	}
	for _, u := range []string{"orph-old@1.service", "orph-old@2.service"} {
		if s := unitProp(t, u, "ActiveState"); s != "inactive" {
			t.Errorf("%s is %s", u, s)
		}
	}
	if _, err := os.Stat("/run/systemd/system/orph-old@.service"); err == nil {
		t.Error("the orphans' unit file is still there")
	}
	if st := inspect(t, "orph-web").State; st.Status != "running" || !st.StartedAt.Equal(started) {
		t.Errorf("web was touched: %+v (started %v before)", st, started)
	}
	if r := run(t, "up", "-f", file); strings.Contains(r.stderr, "orphan") {
		t.Errorf("a warning with no orphans left: %q", r.stderr)
	}
}
