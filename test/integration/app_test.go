package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const appTOML = `
[service.db]
image = "busybox"
command = ["sh", "-c", "trap 'exit 0' TERM; while :; do date >> /data/log; sleep 0.2; done"]
volumes = ["dbdata:/data"]
restart = "always"
networks = ["back"]

[service.api]
image = "busybox"
command = ["sleep", "1000"]
depends_on = ["db"]
networks = ["back"]
stop_timeout = 1

[service.web]
image = "busybox"
command = "httpd -f -p 8080 -h /var/www"
depends_on = ["api"]
memory = "64m"
stop_timeout = 1
ports = ["18090:8080"]
networks = { back = { aliases = ["www"] } }

[volume.dbdata]

[network.back]
`

// TestAppGenerator drops an app into /etc/berth with berth installed as a
// systemd generator: daemon-reload makes its units, starting web starts
// db first, the volume keeps db's data, killing db restarts it, and a
// broken file beside it is skipped without harm.
func TestAppGenerator(t *testing.T) {
	busybox(t)
	gen := "/etc/systemd/system-generators/berth-generator"
	os.MkdirAll(filepath.Dir(gen), 0o755)
	os.MkdirAll("/etc/berth", 0o755)
	if err := os.Symlink(binary(t, "BERTH_BIN"), gen); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/etc/berth/itapp.toml", []byte(appTOML), 0o644)
	os.WriteFile("/etc/berth/broken.toml", []byte("[service.x]\nimage = 42\n"), 0o644)
	defer func() {
		sh(t, "systemctl stop 'itapp-*' || true")
		os.Remove(gen)
		os.Remove("/etc/berth/itapp.toml")
		os.Remove("/etc/berth/broken.toml")
		sh(t, "systemctl daemon-reload")
		run(t, "rm", "-f", "itapp-web", "itapp-api", "itapp-db")
		run(t, "volume", "rm", "itapp-dbdata")
		// The app's network outlives its containers (as Compose's, until
		// down): remove it, with its DNS units.
		if r := run(t, "network", "rm", "itapp_back"); r.code != 0 {
			t.Errorf("network rm itapp_back: %s", r.stderr)
		}
		if u := sh(t, "systemctl list-units --all --no-legend 'berth-dns-*' || true"); u != "" {
			t.Errorf("network rm left DNS units: %s", u)
		}
	}()
	sh(t, "systemctl daemon-reload")
	if st := sh(t, "systemctl list-unit-files --no-legend 'itapp-*'"); !strings.Contains(st, "itapp-db.service") || !strings.Contains(st, "itapp-web.service") {
		t.Fatalf("the generator made no units for the app: %q", st)
	}
	if out := sh(t, "systemd-analyze verify /run/systemd/generator/itapp-*.service 2>&1 || true"); out != "" {
		t.Errorf("systemd-analyze verify: %s", out)
	}
	if l, err := os.Readlink("/run/systemd/generator/multi-user.target.wants/itapp-web.service"); err != nil || l != "../itapp-web.service" {
		t.Errorf("no WantedBy link for the app: %q, %v", l, err)
	}
	sh(t, "systemctl start itapp-web.service")
	for _, u := range []string{"itapp-db.service", "itapp-api.service", "itapp-web.service"} {
		if s := unitProp(t, u, "ActiveState"); s != "active" {
			t.Fatalf("%s is %s", u, s)
		}
	}
	// The network and the volume are oneshots that stay active.
	for _, u := range []string{"itapp-net-back.service", "itapp-vol-dbdata.service", "itapp-pull-db.service"} {
		if s := unitProp(t, u, "ActiveState"); s != "active" {
			t.Errorf("%s is %s", u, s)
		}
	}
	// db, then api, then web.
	up := func(u string) int64 {
		n, _ := strconv.ParseInt(unitProp(t, u, "ActiveEnterTimestampMonotonic"), 10, 64)
		return n
	}
	if db, api, web := up("itapp-db.service"), up("itapp-api.service"), up("itapp-web.service"); !(db < api && api < web) {
		t.Errorf("units became active at db %d, api %d, web %d; want db, api, web in order", db, api, web)
	}
	if ps := ok(t, "ps", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "itapp-db Up") || !strings.Contains(ps, "itapp-web Up") {
		t.Errorf("ps: %q", ps)
	}
	if got := unitProp(t, "itapp-web.service", "MemoryMax"); got != "67108864" {
		t.Errorf("web MemoryMax %s", got)
	}
	// The app's published port answers on the host.
	waitFor(t, 5*time.Second, "the app's port 18090", func() bool {
		out, err := exec.Command("busybox", "wget", "-qO-", "http://127.0.0.1:18090/").Output()
		return err == nil && strings.Contains(string(out), "Hello from a berth container")
	})
	// restart = "always": killing db's process brings it back.
	pid := unitProp(t, "itapp-db.service", "MainPID")
	sh(t, "kill -9 "+pid)
	waitFor(t, 10*time.Second, "db to run again", func() bool {
		p := unitProp(t, "itapp-db.service", "MainPID")
		return p != pid && p != "0" && unitProp(t, "itapp-db.service", "ActiveState") == "active"
	})
	log := filepath.Join(strings.TrimSpace(ok(t, "volume", "inspect", "-f", "{{.Mountpoint}}", "itapp-dbdata")), "log")
	if b, err := os.ReadFile(log); err != nil || strings.Count(string(b), "\n") < 2 {
		t.Errorf("db's data in its volume: %q, %v", b, err)
	}
	// systemctl restart restarts web alone: a new container process,
	// and db, which it requires through api, keeps running.
	webPID, dbPID := unitProp(t, "itapp-web.service", "MainPID"), unitProp(t, "itapp-db.service", "MainPID")
	sh(t, "systemctl restart itapp-web.service")
	if p := unitProp(t, "itapp-web.service", "MainPID"); p == webPID || p == "0" || unitProp(t, "itapp-web.service", "ActiveState") != "active" {
		t.Errorf("systemctl restart: web's MainPID %s, before %s", p, webPID)
	}
	if p := unitProp(t, "itapp-db.service", "MainPID"); p != dbPID {
		t.Errorf("restarting web restarted db (%s, before %s)", p, dbPID)
	}
	sh(t, "systemctl stop itapp-web.service itapp-api.service itapp-db.service")
	if ps := ok(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "itapp-web Exited") || !strings.Contains(ps, "itapp-db Exited") {
		t.Errorf("ps -a after systemctl stop: %q", ps)
	}
	// Run by hand, the generator says what it skipped and why, and
	// still writes the good app.
	outDir := t.TempDir()
	msg := sh(t, gen+" "+outDir+" "+outDir+" "+outDir+" 2>&1")
	if !strings.Contains(msg, "skipped /etc/berth/broken.toml") || !strings.Contains(msg, "broken.toml:2:9") {
		t.Errorf("generator output: %q", msg)
	}
	if _, err := os.Stat(filepath.Join(outDir, "itapp-web.service")); err != nil {
		t.Errorf("the good app was not generated beside the broken one: %v", err)
	}
}

// TestAppUpDown runs the same app from a file anywhere with berth up and
// takes it down again, volumes too.
func TestAppUpDown(t *testing.T) {
	busybox(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "upapp.toml")
	os.WriteFile(file, []byte(appTOML), 0o644)
	out := ok(t, "up", "-f", file)
	if !strings.Contains(out, "upapp-db.service") || !strings.Contains(out, "upapp-web.service") {
		t.Errorf("up printed %q", out)
	}
	for _, u := range []string{"upapp-db.service", "upapp-web.service"} {
		if s := unitProp(t, u, "ActiveState"); s != "active" {
			t.Errorf("%s is %s after up", u, s)
		}
	}
	// On the app's network the services find each other by service
	// name, alias and container name.
	if nets := ok(t, "network", "ls", "--format", "{{.Name}}"); !strings.Contains(nets, "upapp_back") {
		t.Errorf("the app's network is not listed: %q", nets)
	}
	var page string
	waitFor(t, 5*time.Second, "web to answer db by name", func() bool {
		r := run(t, "exec", "upapp-db", "sh", "-c", "wget -qO- http://web:8080/ && wget -qO- http://www:8080/ && wget -qO- http://upapp-web:8080/")
		page = r.stdout
		return r.code == 0
	})
	if n := strings.Count(page, "Hello from a berth container"); n != 3 {
		t.Errorf("db fetched web's page %d times by name, alias and container name, want 3: %q", n, page)
	}
	ok(t, "down", "-v", "-f", file)
	if nets := ok(t, "network", "ls", "--format", "{{.Name}}"); strings.Contains(nets, "upapp_") {
		t.Errorf("the app's network is left after down: %q", nets)
	}
	for _, u := range []string{"upapp-db.service", "upapp-web.service", "upapp-net-back.service", "upapp-vol-dbdata.service", "upapp-pull-db.service"} {
		if s := unitProp(t, u, "LoadState"); s != "not-found" {
			t.Errorf("%s is %s after down", u, s)
		}
	}
	if r := run(t, "inspect", "upapp-db"); r.code == 0 {
		t.Error("the app's container is left after down")
	}
	if r := run(t, "volume", "inspect", "upapp-dbdata"); r.code == 0 {
		t.Error("the app's volume is left after down -v")
	}
	// A file berth cannot run yet is refused before anything starts.
	bad := filepath.Join(dir, "ephemeral.toml")
	os.WriteFile(bad, []byte("[service.web]\nimage = \"busybox\"\nports = [\"7000-7002\"]\n"), 0o644)
	if r := run(t, "up", "-f", bad); r.code != 125 || !strings.Contains(r.stderr, `not supported yet: a container port range without host ports`) {
		t.Errorf("up of an app with an ephemeral port: exit %d, %q", r.code, r.stderr)
	}
	if u := unitProp(t, "ephemeral-web.service", "LoadState"); u != "not-found" {
		t.Errorf("a refused app's unit is %s", u)
	}
}

// TestAppPsLogs: ps --app lists an app's containers only; logs --app
// interleaves their output, each line prefixed with its service.
func TestAppPsLogs(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "pl.toml")
	os.WriteFile(file, []byte(`
[service.one]
image = "busybox"
command = ["sh", "-c", "echo one says hi; echo one complains >&2; exec sleep 1000"]
stop_timeout = 1

[service.two]
image = "busybox"
command = ["sh", "-c", "echo two says hi; exec sleep 1000"]
stop_timeout = 1
`), 0o644)
	ok(t, "up", "-f", file)
	defer run(t, "down", "-f", file)
	ok(t, "run", "-d", "--name", "it_notapp", "busybox", "sleep", "1000")
	defer run(t, "rm", "-f", "it_notapp")
	if ps := ok(t, "ps", "--app", "pl", "--format", "{{.Names}}"); ps != "pl-two\npl-one\n" && ps != "pl-one\npl-two\n" {
		t.Errorf("ps --app pl: %q", ps)
	}
	var r result
	waitFor(t, 5*time.Second, "both services' output", func() bool {
		r = run(t, "logs", "--app", "pl")
		return strings.Contains(r.stdout, "one | one says hi") && strings.Contains(r.stdout, "two | two says hi")
	})
	if !strings.Contains(r.stderr, "one | one complains") || strings.Contains(r.stdout, "complains") {
		t.Errorf("stderr of logs --app: %q (stdout %q)", r.stderr, r.stdout)
	}
	if r := run(t, "logs", "--app", "nosuchapp"); r.code == 0 || !strings.Contains(r.stderr, "no containers") {
		t.Errorf("logs --app nosuchapp: exit %d %q", r.code, r.stderr)
	}
}

// TestAppPullsMissingImage: berth up of an app whose image is not in the
// store pulls it first (from Debian's docker-registry on loopback), as
// docker compose up does; generate systemd prints the app's units.
func TestAppPullsMissingImage(t *testing.T) {
	busybox(t)
	startRegistry(t)
	const ref = registryAddr + "/it/appimage:1"
	pushBusybox(t, ref)
	run(t, "rmi", ref)
	file := filepath.Join(t.TempDir(), "pullapp.toml")
	os.WriteFile(file, []byte("[service.web]\nimage = \""+ref+"\"\ncommand = \"httpd -f -p 80 -h /var/www\"\nstop_timeout = 1\n"), 0o644)
	units := ok(t, "generate", "systemd", file)
	if !strings.Contains(units, "# pullapp-web.service") || !strings.Contains(units, "After=network-online.target") {
		t.Errorf("generate systemd of the app file: %q", units)
	}
	ok(t, "up", "-f", file)
	defer func() {
		run(t, "down", "-f", file)
		run(t, "rmi", ref)
	}()
	if st := inspect(t, "pullapp-web").State; st.Status != "running" {
		t.Errorf("the app's container after up: %+v", st)
	}
	if id := strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", ref)); !strings.HasPrefix(id, "sha256:") {
		t.Errorf("the image was not pulled: %q", id)
	}
}

// TestAppReplicas: replicas = 3 runs three containers, the instances
// A-S@N.service of one template unit file A-S@.service; each is a unit
// of its own for systemctl, with its own log; the service's name
// resolves to all three on the app's network; down removes them all.
func TestAppReplicas(t *testing.T) {
	busybox(t)
	file := filepath.Join(t.TempDir(), "rep.toml")
	os.WriteFile(file, []byte(`
[service.worker]
image = "busybox"
command = ["sh", "-c", "echo worker on $(hostname); exec sleep 1000"]
replicas = 3
stop_timeout = 1

[service.client]
image = "busybox"
command = ["sleep", "1000"]
depends_on = ["worker"]
stop_timeout = 1
`), 0o644)
	out := ok(t, "up", "-f", file)
	defer run(t, "down", "-f", file)
	for _, u := range []string{"rep-worker@1.service", "rep-worker@2.service", "rep-worker@3.service", "rep-client.service"} {
		if !strings.Contains(out, u) {
			t.Errorf("up printed %q, lacks %s", out, u)
		}
		if s := unitProp(t, u, "ActiveState"); s != "active" {
			t.Errorf("%s is %s", u, s)
		}
	}
	if files, _ := filepath.Glob("/run/systemd/system/rep-worker@*"); strings.Join(files, " ") != "/run/systemd/system/rep-worker@.service" {
		t.Errorf("unit files of the replicas: %q", files)
	}
	if st := sh(t, "systemctl status --no-pager rep-worker@2.service || true"); !strings.Contains(st, "Active: active (running)") || !strings.Contains(st, "service worker@2") {
		t.Errorf("systemctl status rep-worker@2:\n%s", st)
	}
	short := strings.TrimSpace(ok(t, "inspect", "-f", "{{.Id}}", "rep-worker-2"))[:12]
	waitFor(t, 5*time.Second, "replica 2's log", func() bool {
		return strings.Contains(ok(t, "logs", "rep-worker-2"), "worker on "+short)
	})
	var addrs []string
	for _, n := range []string{"rep-worker-1", "rep-worker-2", "rep-worker-3"} {
		addrs = append(addrs, strings.TrimSpace(ok(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", n)))
	}
	ns := ok(t, "exec", "rep-client", "nslookup", "worker")
	for _, a := range addrs {
		if a == "" || !strings.Contains(ns, "Address: "+a) {
			t.Errorf("worker does not resolve to %q: %s", a, ns)
		}
	}
	ok(t, "down", "-f", file)
	if ps := ok(t, "ps", "-a", "--app", "rep", "--format", "{{.Names}}"); ps != "" {
		t.Errorf("after down: %q", ps)
	}
}
