package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

// TestImagePruneKeepsUsedImages: image prune deletes a dangling image,
// but never one that a container uses, and system df counts it active.
func TestImagePruneKeepsUsedImages(t *testing.T) {
	testutil.RequiresTestbed(t)
	tarball := filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar")
	const ref = "it-prune:1"
	// Each import takes the name from the one before, which dangles:
	// the first is used by a container, the second by nothing.
	used := strings.TrimSpace(ok(t, "import", "-m", "used", tarball, ref))
	ok(t, "create", "--name", "it-prune", used, "true")
	t.Cleanup(func() { run(t, "rm", "-f", "it-prune") })
	unused := strings.TrimSpace(ok(t, "import", "-m", "unused", tarball, ref))
	ok(t, "import", "-m", "named", tarball, ref)
	t.Cleanup(func() { run(t, "rmi", "-f", ref) })

	df := ok(t, "system", "df")
	if !strings.Contains(df, "Containers") || !strings.Contains(ok(t, "system", "df", "--format", "{{.Type}}={{.Active}}"), "Images=1") {
		t.Errorf("system df with one container's image:\n%s", df)
	}

	out := ok(t, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+unused) {
		t.Errorf("image prune -f did not delete the unused image %s:\n%s", unused, out)
	}
	if strings.Contains(out, used) {
		t.Errorf("image prune -f deleted the image a container uses:\n%s", out)
	}
	if got := ok(t, "image", "inspect", "--format", "{{.Id}}", used); strings.TrimSpace(got) != used {
		t.Errorf("used image gone after prune: %q", got)
	}
	ok(t, "run", "--rm", used, "true") // its layers are all there

	ok(t, "rm", "it-prune")
	out = ok(t, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+used) {
		t.Errorf("image prune -f kept the image no container uses any more:\n%s", out)
	}
}

// TestPullProgressOnTerminal: on a terminal (script(1) gives berth pull
// one) each layer gets a line with a progress bar, redrawn in place;
// through a pipe the lines are plain.
func TestPullProgressOnTerminal(t *testing.T) {
	testutil.RequiresTestbed(t)
	startRegistry(t)
	ref := registryAddr + "/it/tty:1"
	layer, _ := pushBusybox(t, ref)
	run(t, "rmi", "-f", ref)
	t.Cleanup(func() { run(t, "rmi", "-f", ref) })
	short := strings.TrimPrefix(layer, "sha256:")[:12]
	out := sh(t, "script -qefc '"+binary(t, "BERTH_BIN")+" pull "+ref+"' /dev/null")
	for _, want := range []string{short + ": Downloading [", "\x1b[1A", "\x1b[2K" + short + ": Pull complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("berth pull on a terminal printed no %q:\n%q", want, out)
		}
	}
	run(t, "rmi", "-f", ref)
	if plain := ok(t, "pull", ref); strings.Contains(plain, "\x1b") || strings.Contains(plain, "[=") {
		t.Errorf("berth pull into a pipe printed terminal output:\n%q", plain)
	}
}
