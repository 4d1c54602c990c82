package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// examplesDir is contrib/examples of this repository.
func examplesDir(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("the repository's root (contrib/examples): %v", err)
	}
	return filepath.Join(root, "contrib", "examples")
}

// fetch gets url with the testbed's busybox wget, as a user on the host
// would, and returns the body; ok is false when it did not answer.
func fetch(url string) (string, bool) {
	out, err := exec.Command("busybox", "wget", "-qO-", url).Output()
	return string(out), err == nil
}

// upExample runs the example app NAME with berth up -f and registers its
// teardown: berth down -v, then a check that no container, unit, network
// or volume of the app is left.
func upExample(t *testing.T, name string, services ...string) string {
	t.Helper()
	busybox(t)
	file := filepath.Join(examplesDir(t), name+".toml")
	out := ok(t, "up", "-f", file)
	for _, s := range services {
		if !strings.Contains(out, name+"-"+s+".service") {
			t.Errorf("berth up printed %q, without %s-%s.service", out, name, s)
		}
	}
	t.Cleanup(func() {
		if r := run(t, "down", "-v", "-f", file); r.code != 0 {
			t.Errorf("berth down -v -f %s: exit %d: %s", file, r.code, r.stderr)
		}
		if ps := ok(t, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(ps, name+"-") {
			t.Errorf("containers left after down: %q", ps)
		}
		for _, s := range services {
			if st := unitProp(t, name+"-"+s+".service", "LoadState"); st != "not-found" {
				t.Errorf("unit %s-%s.service is %s after down", name, s, st)
			}
		}
		if nets := ok(t, "network", "ls", "--format", "{{.Name}}"); strings.Contains(nets, name+"_") {
			t.Errorf("the app's network is left after down: %q", nets)
		}
		if vols := ok(t, "volume", "ls", "--format", "{{.Name}}"); strings.Contains(vols, name+"-") {
			t.Errorf("the app's volumes are left after down -v: %q", vols)
		}
		if u := sh(t, "systemctl list-units --all --no-legend 'berth-dns-*' '"+name+"-*' || true"); u != "" {
			t.Errorf("units left after down: %s", u)
		}
	})
	return file
}

// TestExampleSite: contrib/examples/site.toml serves the host directory
// contrib/examples/site on the published port 8081.
func TestExampleSite(t *testing.T) {
	upExample(t, "site", "web")
	var page string
	waitFor(t, 10*time.Second, "the site on port 8081", func() bool {
		var ok bool
		page, ok = fetch("http://127.0.0.1:8081/")
		return ok
	})
	if !strings.Contains(page, "<h1>A static site served by berth</h1>") {
		t.Errorf("the page on port 8081 is not contrib/examples/site/index.html: %q", page)
	}
	// The bind mount is read-only, so the container cannot change the site.
	if r := run(t, "exec", "site-web", "sh", "-c", "echo x > /www/index.html"); r.code == 0 {
		t.Error("the container could write to the read-only site directory")
	}
	// systemctl stop: the trapping shell stops httpd and exits 0.
	sh(t, "systemctl stop site-web.service")
	if st := inspect(t, "site-web").State; st.Running || st.ExitCode != 0 {
		t.Errorf("after systemctl stop: running %v, exit code %d, want a clean exit", st.Running, st.ExitCode)
	}
}

// TestExampleNotes: contrib/examples/notes.toml stores a value through the
// web service, which asks the db service by name, reads it back, and
// still reads it after the database restarts (the named volume).
func TestExampleNotes(t *testing.T) {
	file := upExample(t, "notes", "db", "web")
	var out string
	waitFor(t, 10*time.Second, "the web service to store a value in db", func() bool {
		var ok bool
		out, ok = fetch("http://127.0.0.1:8082/cgi-bin/note?greeting=hello-from-berth")
		return ok && strings.Contains(out, "stored greeting")
	})
	if out, _ = fetch("http://127.0.0.1:8082/cgi-bin/note?greeting"); !strings.Contains(out, "hello-from-berth") {
		t.Errorf("the stored value read back through web: %q", out)
	}
	if out, _ = fetch("http://127.0.0.1:8082/cgi-bin/note?missing"); !strings.Contains(out, "error: no key missing") {
		t.Errorf("a missing key: %q", out)
	}
	if out, _ = fetch("http://127.0.0.1:8082/cgi-bin/note?bad;key=x"); !strings.Contains(out, "error: keys and values") {
		t.Errorf("a bad key: %q", out)
	}
	// The database's data is in its volume: berth down without -v
	// removes the containers and keeps the volume, and a new db
	// container reads the value from it.
	ok(t, "down", "-f", file)
	if vols := ok(t, "volume", "ls", "--format", "{{.Name}}"); !strings.Contains(vols, "notes-data") {
		t.Fatalf("berth down without -v removed the volume: %q", vols)
	}
	ok(t, "up", "-f", file)
	waitFor(t, 10*time.Second, "the value in a new db container", func() bool {
		out, _ = fetch("http://127.0.0.1:8082/cgi-bin/note?greeting")
		return strings.Contains(out, "hello-from-berth")
	})
	if !strings.Contains(out, "the db service, asked by name, says:") {
		t.Errorf("the page: %q", out)
	}
}

// TestExampleQueue: in contrib/examples/queue.toml the worker processes
// the producer's jobs through the shared volume, as berth logs shows.
func TestExampleQueue(t *testing.T) {
	upExample(t, "queue", "producer", "worker")
	var logs string
	waitFor(t, 20*time.Second, "the worker to process three jobs", func() bool {
		logs = ok(t, "logs", "queue-worker")
		return strings.Contains(logs, "worker: job-0003: 3 squared is 9")
	})
	for _, want := range []string{"worker: waiting for jobs", "worker: job-0001: 1 squared is 1", "worker: job-0002: 2 squared is 4"} {
		if !strings.Contains(logs, want) {
			t.Errorf("berth logs queue-worker lacks %q: %q", want, logs)
		}
	}
	if p := ok(t, "logs", "queue-producer"); !strings.Contains(p, "producer: queued job-0003") {
		t.Errorf("berth logs queue-producer: %q", p)
	}
	// Stopping the worker is clean (its trap), and says so in its log.
	sh(t, "systemctl stop queue-producer.service queue-worker.service")
	if l := ok(t, "logs", "--tail", "1", "queue-worker"); !strings.Contains(l, "worker: stopping") {
		t.Errorf("the worker's last line after stop: %q", l)
	}
}
