package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerImport: docker import of a root filesystem tarball, from a
// file and from its stdin, makes berth images with the tag, the changes
// (-c) and the message (-m) given, and they run.
func TestDockerImport(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	tarball := filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar")
	defer run(t, "rmi", "-f", "it/imported:1", "it/imported:2")

	out := strings.TrimSpace(dockerOK(t, "import", "-c", `CMD ["echo", "from docker import"]`, "-m", "imported by docker", tarball, "it/imported:1"))
	if !strings.HasPrefix(out, "sha256:") {
		t.Errorf("docker import printed %q, want the image ID", out)
	}
	if id := strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", "it/imported:1")); id != out {
		t.Errorf("berth has it/imported:1 as %q, docker import said %q", id, out)
	}
	if got := ok(t, "run", "--rm", "--network", "none", "it/imported:1"); got != "from docker import\n" {
		t.Errorf("run it/imported:1: %q", got)
	}
	if h := ok(t, "image", "history", "--no-trunc", "it/imported:1"); !strings.Contains(h, "imported by docker") {
		t.Errorf("history has no message:\n%s", h)
	}

	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := dockerCmd(t, "import", "-", "it/imported:2")
	c.Stdin = f
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("docker import -: %v: %s", err, b)
	}
	if got := ok(t, "run", "--rm", "--network", "none", "it/imported:2", "echo", "stdin"); got != "stdin\n" {
		t.Errorf("run it/imported:2: %q", got)
	}
	if r := docker(t, "import", "http://192.0.2.9/rootfs.tar", "it/imported:3"); r.code == 0 || !strings.Contains(r.stderr, "berth imports the tarball sent with the request only") {
		t.Errorf("docker import of a URL: exit %d, %q", r.code, r.stderr)
	}
}
