package integration

import (
	"strings"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

// TestTagPushPull tags the local busybox with a registry's name, pushes
// it, removes it locally, pulls it back and runs it.
func TestTagPushPull(t *testing.T) {
	testutil.RequiresTestbed(t)
	busybox(t)
	startRegistry(t)
	const ref = registryAddr + "/it/pushed:2"
	ok(t, "tag", "busybox", ref)
	if out := ok(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, ref) {
		t.Fatalf("images after tag: %q", out)
	}
	out := ok(t, "push", ref)
	if !strings.Contains(out, "The push refers to repository ["+registryAddr+"/it/pushed]") || !strings.Contains(out, "2: digest: sha256:") {
		t.Errorf("push printed %q", out)
	}
	local := strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", ref))
	ok(t, "rmi", ref)
	pulled := ok(t, "pull", ref)
	if !strings.Contains(pulled, "Status: Downloaded newer image for "+ref) {
		t.Errorf("pull of the pushed image: %q", pulled)
	}
	if id := strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", ref)); id != local {
		t.Errorf("the image came back as %s, was %s", id, local)
	}
	if got := ok(t, "run", "--rm", ref, "cat", "/var/www/index.html"); !strings.Contains(got, "Hello from a berth container") {
		t.Errorf("run of the pulled image: %q", got)
	}
	ok(t, "rmi", ref)
	if r := run(t, "tag", "busybox", "Bad Name"); r.code != 125 {
		t.Errorf("tag with a bad name: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, "push", registryAddr+"/it/notlocal:1"); r.code != 1 || !strings.Contains(r.stderr, "no such image") {
		t.Errorf("push of an image not in the store: exit %d, %q", r.code, r.stderr)
	}
}
