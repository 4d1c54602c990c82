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
