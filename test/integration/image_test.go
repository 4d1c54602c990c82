package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

// berth runs the berth binary and returns stdout; stderr goes to the log.
func berth(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c := exec.Command(binary(t, "BERTH_BIN"), args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if errb.Len() > 0 {
		t.Logf("berth %s: stderr: %s", strings.Join(args, " "), errb.String())
	}
	return out.String(), err
}

func mustBerth(t *testing.T, args ...string) string {
	t.Helper()
	out, err := berth(t, args...)
	if err != nil {
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestImportRunFromImageRoot imports the offline busybox image into the
// testbed's /var/lib/berth, lists it, runs a transient unit whose root
// directory is the unpacked layer, and removes the image again.
func TestImportRunFromImageRoot(t *testing.T) {
	testutil.RequiresTestbed(t)
	tarball := filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar")
	const name = "it-busybox:1"

	id := strings.TrimSpace(mustBerth(t, "image", "import", "-m", "integration", tarball, name))
	if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Fatalf("import printed %q, want an image ID", id)
	}
	t.Cleanup(func() { berth(t, "rmi", "-f", name) })

	var row struct{ Repository, Tag, ID string }
	found := false
	for _, line := range strings.Split(strings.TrimSpace(mustBerth(t, "images", "--format", "json")), "\n") {
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("images --format json line %q: %v", line, err)
		}
		if row.Repository == "it-busybox" && row.Tag == "1" {
			found = strings.HasPrefix(id, "sha256:"+row.ID)
		}
	}
	if !found {
		t.Fatalf("berth images does not list it-busybox:1 with ID %s", id)
	}

	lower := strings.TrimSpace(mustBerth(t, "image", "inspect", "-f", "{{.GraphDriver.Data.LowerDir}}", name))
	if !strings.HasPrefix(lower, "/var/lib/berth/layers/sha256/") {
		t.Fatalf("LowerDir %q is not in the store", lower)
	}
	// The unpacked layer is a root filesystem that systemd can run in.
	out, err := exec.Command("systemd-run", "-P", "-q", "--wait", "-p", "RootDirectory="+lower,
		"/bin/sh", "-c", "cat /var/www/index.html; id -un").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-run in the image root: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "Hello from a berth container") || !strings.Contains(string(out), "root") {
		t.Errorf("output from inside the image root: %q", out)
	}

	rm := mustBerth(t, "rmi", name)
	if !strings.Contains(rm, "Untagged: "+name) || !strings.Contains(rm, "Deleted: "+id) {
		t.Errorf("rmi printed %q", rm)
	}
	// The layer goes with the image, unless another image (the
	// "busybox" other tests import from the same tarball) shares it.
	shared := false
	for _, l := range strings.Fields(mustBerth(t, "images", "-q", "--no-trunc")) {
		out, _ := berth(t, "image", "inspect", "-f", "{{.GraphDriver.Data.LowerDir}}", l)
		shared = shared || strings.Contains(out, lower)
	}
	if _, err := os.Stat(lower); !shared && !os.IsNotExist(err) {
		t.Errorf("layer %s still there after rmi: %v", lower, err)
	}
	if _, err := os.Stat(lower); shared && err != nil {
		t.Errorf("layer %s, which another image uses, is gone after rmi: %v", lower, err)
	}
	if _, err := berth(t, "image", "inspect", name); err == nil {
		t.Error("inspect of a removed image succeeded")
	}
}

// TestOverlayOnStore checks that an overlayfs mount with an unpacked
// layer as its lower directory works on the store's filesystem in the
// testbed, and that writes land in the upper, never in the layer.
func TestOverlayOnStore(t *testing.T) {
	testutil.RequiresTestbed(t)
	testutil.RequiresRoot(t)
	tarball := filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar")
	mustBerth(t, "image", "import", tarball, "it-overlay")
	t.Cleanup(func() { berth(t, "rmi", "it-overlay") })
	lower := strings.TrimSpace(mustBerth(t, "image", "inspect", "-f", "{{.GraphDriver.Data.LowerDir}}", "it-overlay"))

	work, err := os.MkdirTemp("/var/lib/berth", "it-overlay-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	for _, d := range []string{"upper", "work", "merged"} {
		os.Mkdir(filepath.Join(work, d), 0o755)
	}
	merged := filepath.Join(work, "merged")
	opts := "lowerdir=" + lower + ",upperdir=" + filepath.Join(work, "upper") + ",workdir=" + filepath.Join(work, "work")
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, merged).CombinedOutput(); err != nil {
		t.Fatalf("overlay mount on the store: %v: %s", err, out)
	}
	defer exec.Command("umount", merged).Run()
	if err := os.WriteFile(filepath.Join(merged, "etc/written"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(work, "upper/etc/written")); err != nil {
		t.Errorf("write through the overlay did not land in the upper: %v", err)
	}
	if _, err := os.Stat(filepath.Join(lower, "etc/written")); !os.IsNotExist(err) {
		t.Errorf("write through the overlay changed the image layer: %v", err)
	}
}

// TestSaveLoad saves busybox in both formats, removes it, loads each
// archive back (from a file and from STDIN) and runs the result.
func TestSaveLoad(t *testing.T) {
	busybox(t)
	ok(t, "tag", "busybox", "saved:1")
	id := strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", "saved:1"))
	dir := t.TempDir()
	for _, format := range []string{"docker-archive", "oci-archive"} {
		t.Run(format, func(t *testing.T) {
			tarPath := filepath.Join(dir, format+".tar")
			ok(t, "save", "--format", format, "-o", tarPath, "saved:1")
			ok(t, "rmi", "saved:1")
			if r := run(t, "image", "inspect", "saved:1"); r.code == 0 {
				t.Fatal("saved:1 is still there after rmi")
			}
			var out string
			if format == "docker-archive" {
				out = ok(t, "load", "-i", tarPath)
			} else {
				out = sh(t, binary(t, "BERTH_BIN")+" load < "+tarPath)
			}
			if !strings.Contains(out, "Loaded image: saved:1") {
				t.Errorf("load printed %q", out)
			}
			if got := strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", "saved:1")); got != id {
				t.Errorf("loaded image %s, saved %s", got, id)
			}
			if got := ok(t, "run", "--rm", "--network", "none", "saved:1", "cat", "/var/www/index.html"); !strings.Contains(got, "Hello from a berth container") {
				t.Errorf("run of the loaded image: %q", got)
			}
		})
	}
	ok(t, "rmi", "saved:1")
	// Errors: 125 for a bad format or a file that is no archive, and an
	// existing output file survives a failed save.
	keep := filepath.Join(dir, "keep.tar")
	os.WriteFile(keep, []byte("precious"), 0o644)
	if r := run(t, "save", "-o", keep, "nosuchimage"); r.code == 0 || !strings.Contains(r.stderr, "no such image") {
		t.Errorf("save of an unknown image: exit %d, %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(keep); string(b) != "precious" {
		t.Errorf("a failed save changed the output file: %q", b)
	}
	if r := run(t, "save", "--format", "zip", "-o", keep, "busybox"); r.code != 125 {
		t.Errorf("save --format zip: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, "load", "-i", keep); r.code != 125 || !strings.Contains(r.stderr, "archive") {
		t.Errorf("load of a file that is no archive: exit %d, %q", r.code, r.stderr)
	}
}
