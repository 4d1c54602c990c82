package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// volumeNames is `berth volume ls -q` as a set.
func volumeNames(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, n := range strings.Fields(ok(t, "volume", "ls", "-q")) {
		out[n] = true
	}
	return out
}

// newVolumes are the volumes in after that are not in before.
func newVolumes(before, after map[string]bool) []string {
	var out []string
	for n := range after {
		if !before[n] {
			out = append(out, n)
		}
	}
	return out
}

func TestMountFlag(t *testing.T) {
	busybox(t)
	dir, err := os.MkdirTemp("/var/tmp", "it-mount-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "in"), []byte("from the host\n"), 0o644)
	r := run(t, "run", "--rm", "--mount", "type=bind,source="+dir+",target=/data,readonly",
		"--mount", "type=volume,src=it-mountvol,dst=/vol", "--mount", "type=tmpfs,target=/scratch,tmpfs-size=1m",
		"busybox", "sh", "-c", "cat /data/in; echo v > /vol/f; grep ' /scratch ' /proc/mounts; echo x > /data/out 2>/dev/null && echo wrote; true")
	if r.code != 0 || !strings.Contains(r.stdout, "from the host\n") || !strings.Contains(r.stdout, "size=1024k") || strings.Contains(r.stdout, "wrote") {
		t.Errorf("--mount: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if out := ok(t, "run", "--rm", "-v", "it-mountvol:/v", "busybox", "cat", "/v/f"); out != "v\n" {
		t.Errorf("the --mount volume holds %q", out)
	}
	ok(t, "volume", "rm", "it-mountvol")
	// --mount type=bind does not make a missing source, as Docker.
	missing := filepath.Join(dir, "missing")
	if r := run(t, "run", "--rm", "--mount", "type=bind,source="+missing+",target=/m", "busybox", "true"); r.code != 125 ||
		!strings.Contains(r.stderr, "bind source path does not exist: "+missing) {
		t.Errorf("missing bind source: exit %d, %q", r.code, r.stderr)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("--mount made the missing source: %v", err)
	}
	for _, bad := range []string{"type=nfs,target=/x", "source=v", "type=volume,target=/x,bind-propagation=rshared", "type=bind,source=rel,target=/x"} {
		if r := run(t, "run", "--rm", "--mount", bad, "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "--mount") {
			t.Errorf("--mount %s: exit %d, %q", bad, r.code, r.stderr)
		}
	}
}

func TestAnonymousVolumes(t *testing.T) {
	busybox(t)
	before := volumeNames(t)
	// -v /path: a volume of its own, kept after rm, removed by rm -v.
	ok(t, "run", "--name", "it_anon", "-v", "/data", "busybox", "sh", "-c", "echo kept > /data/f")
	made := newVolumes(before, volumeNames(t))
	if len(made) != 1 || len(made[0]) != 64 {
		t.Fatalf("-v /data made volumes %v, want one with a 64-digit name", made)
	}
	if out := ok(t, "inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}", "it_anon"); out != "volume "+made[0]+" /data\n" {
		t.Errorf("inspect Mounts: %q", out)
	}
	if out := ok(t, "run", "--rm", "-v", made[0]+":/d", "busybox", "cat", "/d/f"); out != "kept\n" {
		t.Errorf("the anonymous volume holds %q", out)
	}
	ok(t, "rm", "-v", "it_anon")
	if left := newVolumes(before, volumeNames(t)); len(left) != 0 {
		t.Errorf("rm -v left volumes %v", left)
	}
	// rm without -v keeps it; volume prune (without -a) removes it, and
	// leaves a named volume no container uses.
	ok(t, "run", "--name", "it_anon", "-v", "/data", "-v", "it-named:/named", "busybox", "true")
	ok(t, "rm", "it_anon")
	made = newVolumes(before, volumeNames(t))
	if len(made) != 2 {
		t.Fatalf("after rm without -v: new volumes %v, want the anonymous one and it-named", made)
	}
	out := ok(t, "volume", "prune", "-f")
	if !strings.Contains(out, "Deleted Volumes:\n") || strings.Contains(out, "it-named") || !strings.Contains(out, "Total reclaimed space:") {
		t.Errorf("volume prune: %q", out)
	}
	if left := newVolumes(before, volumeNames(t)); len(left) != 1 || left[0] != "it-named" {
		t.Errorf("after volume prune: %v, want [it-named]", left)
	}
	ok(t, "volume", "rm", "it-named")
	// --rm removes the container's anonymous volumes, as Docker.
	ok(t, "run", "--rm", "-v", "/data", "busybox", "true")
	if left := newVolumes(before, volumeNames(t)); len(left) != 0 {
		t.Errorf("run --rm left volumes %v", left)
	}
}

// TestImageVolumes: an image's VOLUME gets an anonymous volume seeded
// with the image's content there; a new named volume is seeded too, but
// only while it is empty, and not with nocopy.
func TestImageVolumes(t *testing.T) {
	busybox(t)
	ok(t, "import", "-c", "VOLUME /var/www", filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"), "it-volimg")
	defer run(t, "rmi", "it-volimg")
	before := volumeNames(t)
	ok(t, "run", "--name", "it_imgvol", "it-volimg", "sh", "-c", "echo changed > /var/www/index.html")
	made := newVolumes(before, volumeNames(t))
	if len(made) != 1 {
		t.Fatalf("VOLUME /var/www made volumes %v, want one", made)
	}
	mp := strings.TrimSpace(ok(t, "volume", "inspect", "-f", "{{.Mountpoint}}", made[0]))
	if b, _ := os.ReadFile(filepath.Join(mp, "index.html")); string(b) != "changed\n" {
		t.Errorf("the anonymous volume's index.html: %q", b)
	}
	ok(t, "rm", "-v", "it_imgvol")
	if left := newVolumes(before, volumeNames(t)); len(left) != 0 {
		t.Errorf("rm -v left %v", left)
	}

	out := ok(t, "run", "--rm", "-v", "it-seeded:/var/www", "busybox", "sh", "-c", "cat /var/www/index.html; stat -c '%a %U' /var/www")
	if !strings.Contains(out, "Hello from a berth container") {
		t.Errorf("a new named volume is not seeded from the image: %q", out)
	}
	ok(t, "run", "--rm", "-v", "it-seeded:/var/www", "busybox", "sh", "-c", "echo mine > /var/www/index.html")
	if out := ok(t, "run", "--rm", "-v", "it-seeded:/var/www", "busybox", "cat", "/var/www/index.html"); out != "mine\n" {
		t.Errorf("a used volume was seeded again: %q", out)
	}
	// Seeded only where the image has something: the volume stays empty.
	if out := ok(t, "run", "--rm", "-v", "it-nocopy:/var/www:nocopy", "busybox", "ls", "-A", "/var/www"); out != "" {
		t.Errorf("nocopy volume holds %q", out)
	}
	if out := ok(t, "run", "--rm", "--mount", "type=volume,src=it-nocopy,dst=/var/www", "busybox", "ls", "/var/www"); !strings.Contains(out, "index.html") {
		t.Errorf("the still empty volume, without nocopy: %q", out)
	}
	ok(t, "volume", "rm", "it-seeded", "it-nocopy")
	if r := run(t, "import", "-c", "RUN true", filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"), "it-bad"); r.code != 125 {
		t.Errorf("import -c RUN: exit %d, %q", r.code, r.stderr)
	}
}

func TestVolumesFrom(t *testing.T) {
	busybox(t)
	before := volumeNames(t)
	ok(t, "create", "--name", "it_vfsrc", "-v", "it-vf:/shared", "-v", "/anon", "--tmpfs", "/tmp", "busybox", "true")
	defer run(t, "rm", "-f", "-v", "it_vfsrc")
	ok(t, "run", "--rm", "--volumes-from", "it_vfsrc", "busybox", "sh", "-c", "echo one > /shared/f; echo two > /anon/f")
	r := run(t, "run", "--rm", "--volumes-from", "it_vfsrc:ro", "busybox", "sh", "-c", "cat /shared/f /anon/f; grep -c ' /tmp tmpfs' /proc/mounts; touch /shared/x && echo wrote")
	if r.stdout != "one\ntwo\n0\n" {
		t.Errorf("--volumes-from :ro: exit %d, stdout %q, stderr %q (want both files, no tmpfs, no write)", r.code, r.stdout, r.stderr)
	}
	// The --rm of a container with --volumes-from leaves the other's
	// anonymous volume.
	if got := newVolumes(before, volumeNames(t)); len(got) != 2 {
		t.Errorf("volumes after --volumes-from --rm: %v, want it-vf and the anonymous one", got)
	}
	if r := run(t, "run", "--rm", "--volumes-from", "it_nosuch", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "No such container") {
		t.Errorf("--volumes-from of a missing container: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "rm", "-v", "it_vfsrc")
	ok(t, "volume", "rm", "it-vf")
	if left := newVolumes(before, volumeNames(t)); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

// TestBindPropagation: a mount made on the host under a bind source
// after the container started reaches it with rslave and rshared, not
// with the default rprivate.
func TestBindPropagation(t *testing.T) {
	busybox(t)
	dir, err := os.MkdirTemp("/var/tmp", "it-prop-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, name := range []string{"it_prop_private", "it_prop_slave", "it_prop_shared"} {
		mode := strings.TrimPrefix(name, "it_prop_")
		ok(t, "run", "-d", "--name", name, "-v", dir+":/p:r"+mode, "busybox", "sleep", "1000")
		defer run(t, "rm", "-f", name)
	}
	sh(t, "mount -t tmpfs it-prop "+dir+"/sub")
	defer sh(t, "umount "+dir+"/sub")
	for name, want := range map[string]string{"it_prop_private": "0", "it_prop_slave": "1", "it_prop_shared": "1"} {
		pid := strings.TrimSpace(ok(t, "inspect", "-f", "{{.State.Pid}}", name))
		if got := sh(t, "grep -c ' /p/sub ' /proc/"+pid+"/mountinfo || true"); got != want {
			t.Errorf("%s sees the host's new mount %s times, want %s", name, got, want)
		}
	}
	if out := ok(t, "inspect", "-f", "{{range .Mounts}}{{.Propagation}}{{end}}", "it_prop_slave"); out != "rslave\n" {
		t.Errorf("inspect Propagation: %q", out)
	}
}

// TestBindSourceSymlink: a symlink in a bind source is resolved when the
// container is made (inspect shows the real path); a directory swapped
// for a symlink to /etc afterwards is refused at start, not followed.
func TestBindSourceSymlink(t *testing.T) {
	busybox(t)
	dir, err := os.MkdirTemp("/var/tmp", "it-bindlink-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	real := filepath.Join(dir, "real")
	os.Mkdir(real, 0o755)
	os.Symlink(real, filepath.Join(dir, "link"))
	ok(t, "create", "--name", "it_bindlink", "-v", filepath.Join(dir, "link")+":/data", "busybox", "true")
	defer run(t, "rm", "-f", "it_bindlink")
	if out := ok(t, "inspect", "-f", "{{range .Mounts}}{{.Source}}{{end}}", "it_bindlink"); out != real+"\n" {
		t.Errorf("inspect Source of a symlinked bind: %q, want %s", out, real)
	}

	victim := filepath.Join(dir, "victim")
	os.Mkdir(victim, 0o755)
	swapID := strings.TrimSpace(ok(t, "create", "--name", "it_bindswap", "-v", victim+":/data", "busybox", "ls", "/data/passwd"))
	defer run(t, "rm", "-f", "it_bindswap")
	os.Remove(victim)
	os.Symlink("/etc", victim)
	r := run(t, "start", "-a", "it_bindswap")
	if r.code != 125 || !strings.Contains(r.stderr, "symlink") || strings.Contains(r.stdout, "passwd") {
		t.Errorf("start after the swap: exit %d, stdout %q, stderr %q; want 125 and a refusal", r.code, r.stdout, r.stderr)
	}
	// A start that failed in setup leaves no lease, even when the
	// container is removed at once (before its cleanup could run).
	ok(t, "rm", "-f", "it_bindswap")
	time.Sleep(300 * time.Millisecond)
	if l := leftovers(t, swapID); len(l) != 0 {
		t.Errorf("the failed start left %v", l)
	}
}

// TestAppVolumes: an app's volumes go through the same code as -v: an
// anonymous volume seeded from the image, a named one, a bind mount with
// a propagation; the service keeps its container and volumes across a
// restart, and down -v removes them.
func TestAppVolumes(t *testing.T) {
	busybox(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "conf"), []byte("from the app dir\n"), 0o644)
	file := filepath.Join(dir, "volapp.toml")
	os.WriteFile(file, []byte(`[service.web]
image = "busybox"
command = ["sleep", "1000"]
stop_timeout = 1
volumes = ["/var/www", "data:/data:nocopy", ".:/conf:ro,rslave"]

[volume.data]
`), 0o644)
	before := volumeNames(t)
	ok(t, "up", "-f", file)
	defer run(t, "down", "-v", "-f", file)
	out := ok(t, "exec", "volapp-web", "sh", "-c", "cat /var/www/index.html /conf/conf; ls -A /data")
	if !strings.Contains(out, "Hello from a berth container") || !strings.HasSuffix(out, "from the app dir\n") {
		t.Errorf("the app's mounts: %q", out)
	}
	if p := inspect(t, "volapp-web").State.Pid; sh(t, "grep ' /conf ' /proc/"+strconv.Itoa(p)+"/mountinfo") == "" {
		t.Error("no /conf mount")
	}
	if prop := ok(t, "inspect", "-f", "{{range .Mounts}}{{.Propagation}} {{end}}", "volapp-web"); !strings.Contains(prop, "rslave") {
		t.Errorf("inspect propagation: %q", prop)
	}
	made := newVolumes(before, volumeNames(t))
	if len(made) != 2 {
		t.Fatalf("the app made volumes %v, want volapp-data and an anonymous one", made)
	}
	id := inspect(t, "volapp-web").ID
	ok(t, "exec", "volapp-web", "sh", "-c", "echo kept > /var/www/mine")
	sh(t, "systemctl restart volapp-web.service")
	if got := inspect(t, "volapp-web").ID; got != id {
		t.Errorf("a restart replaced the container (%s, was %s)", got, id)
	}
	if out := ok(t, "exec", "volapp-web", "cat", "/var/www/mine"); out != "kept\n" {
		t.Errorf("after a restart the anonymous volume holds %q", out)
	}
	if again := newVolumes(before, volumeNames(t)); len(again) != 2 {
		t.Errorf("after a restart: volumes %v", again)
	}
	ok(t, "down", "-v", "-f", file)
	if left := newVolumes(before, volumeNames(t)); len(left) != 0 {
		t.Errorf("down -v left %v", left)
	}
}
