package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	registryAddr = "127.0.0.1:5000"
	registryUnit = "it-registry"
)

// startRegistry runs Debian's docker-registry on 127.0.0.1:5000 as a
// transient unit, storing into a temporary directory, until the test ends.
func startRegistry(t *testing.T) {
	t.Helper()
	bin := "/usr/bin/docker-registry"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v (contrib/install-deps.sh installs docker-registry)", bin, err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: `+filepath.Join(dir, "data")+`
http:
  addr: `+registryAddr+`
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The package's own service is not in the testbed's target; make sure.
	exec.Command("systemctl", "stop", "docker-registry.service").Run()
	exec.Command("systemctl", "reset-failed", registryUnit).Run()
	sh(t, "systemd-run --unit="+registryUnit+" "+bin+" serve "+cfg)
	t.Cleanup(func() {
		exec.Command("systemctl", "stop", registryUnit).Run()
		exec.Command("systemctl", "reset-failed", registryUnit).Run()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + registryAddr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			out, _ := exec.Command("journalctl", "-u", registryUnit, "--no-pager", "-n", "30").CombinedOutput()
			t.Fatalf("registry on %s did not answer /v2/ (%v); its log:\n%s", registryAddr, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pushBusybox pushes the offline busybox rootfs as a one-layer image
// with Cmd ["sh"] to ref and returns its layer and manifest digests.
func pushBusybox(t *testing.T, ref string) (layer, manifest string) {
	t.Helper()
	l, err := tarball.LayerFromFile(filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Now().UTC()}
	cf.Config = v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	ld, _ := l.Digest()
	md, _ := img.Digest()
	return ld.String(), md.String()
}

// TestPullFromRegistry pulls from a real registry (Debian's
// docker-registry inside the testbed), runs the image, pulls again, and
// checks the failures a user meets.
func TestPullFromRegistry(t *testing.T) {
	testutil.RequiresTestbed(t)
	startRegistry(t)
	const ref = registryAddr + "/it/busybox:1"
	layer, manifest := pushBusybox(t, ref)
	run(t, "rmi", "-f", ref)
	t.Cleanup(func() { run(t, "rmi", "-f", ref) })

	pulled := time.Now().Add(-time.Second)
	out := ok(t, "pull", ref)
	t.Logf("berth pull %s:\n%s", ref, out)
	// journald may take a moment to store the record the pull sent.
	var ev string
	waitFor(t, 5*time.Second, "the pull event", func() bool {
		ev = ok(t, "events", "--since", strconv.FormatInt(pulled.Unix(), 10), "--until", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10),
			"--filter", "event=pull", "--format", "json")
		return strings.Contains(ev, `"Action":"pull"`)
	})
	if !strings.Contains(ev, `"Action":"pull"`) || !strings.Contains(ev, ref) {
		t.Errorf("no pull event: %q", ev)
	}
	short := strings.TrimPrefix(layer, "sha256:")[:12]
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, want := range []string{
		"1: Pulling from it/busybox",
		short + ": Pulling fs layer",
		short + ": Download complete",
		short + ": Pull complete",
		"Digest: " + manifest,
		"Status: Downloaded newer image for " + ref,
	} {
		if !hasLine(lines, want) {
			t.Errorf("berth pull printed no line %q", want)
		}
	}
	if last := lines[len(lines)-1]; last != ref {
		t.Errorf("last line %q, want the reference %q", last, ref)
	}

	// Listed, with the registry's manifest.
	found := false
	for _, line := range strings.Split(strings.TrimSpace(ok(t, "images", "--format", "json")), "\n") {
		var row struct{ Repository, Tag string }
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("images --format json line %q: %v", line, err)
		}
		found = found || row.Repository == registryAddr+"/it/busybox" && row.Tag == "1"
	}
	if !found {
		t.Errorf("berth images does not list %s", ref)
	}

	if got := ok(t, "run", "--rm", ref, "cat", "/var/www/index.html"); !strings.Contains(got, "Hello from a berth container") {
		t.Errorf("berth run %s cat /var/www/index.html printed %q", ref, got)
	}

	again := ok(t, "pull", ref)
	for _, want := range []string{short + ": Already exists", "Status: Image is up to date for " + ref} {
		if !hasLine(strings.Split(again, "\n"), want) {
			t.Errorf("second pull printed no line %q:\n%s", want, again)
		}
	}
	if strings.Contains(again, "Pulling fs layer") {
		t.Errorf("second pull downloaded again:\n%s", again)
	}
	if q := ok(t, "pull", "-q", ref); q != ref+"\n" {
		t.Errorf("berth pull -q printed %q, want only the reference", q)
	}

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"pull", registryAddr + "/it/nosuch:1"}, 1, "manifest unknown"},
		{[]string{"pull", registryAddr + "/it/busybox:nosuch"}, 1, "manifest unknown"},
		{[]string{"pull", "127.0.0.1:5999/it/busybox:1"}, 1, "127.0.0.1:5999"},
		{[]string{"pull", "Not/Lower"}, 125, "lowercase"},
	} {
		r := run(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("berth %s: exit %d, stderr %q; want %d saying %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.says)
		}
	}
}

// hasLine says whether one of lines, trimmed, is want.
func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}
