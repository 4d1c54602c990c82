package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBindMounts(t *testing.T) {
	busybox(t)
	dir, err := os.MkdirTemp("/var/tmp", "it-bind-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "in"), []byte("from the host\n"), 0o644)
	file := filepath.Join(dir, "single.conf")
	os.WriteFile(file, []byte("one file\n"), 0o644)

	r := run(t, "run", "--rm", "-v", dir+":/data:ro", "-v", file+":/etc/app/single.conf", "busybox", "sh", "-c",
		"cat /data/in /etc/app/single.conf; echo x > /data/out && echo wrote")
	if !strings.Contains(r.stdout, "from the host\none file\n") || strings.Contains(r.stdout, "wrote") {
		t.Errorf("read-only bind: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	ok(t, "run", "--rm", "-v", dir+":/data", "busybox", "sh", "-c", "echo from the container > /data/out")
	if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "from the container\n" {
		t.Errorf("read-write bind: the host sees %q", b)
	}
	// A missing host directory is made, as Docker does for -v.
	missing := filepath.Join(dir, "made", "by", "berth")
	ok(t, "run", "--rm", "-v", missing+":/m", "busybox", "true")
	if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Errorf("missing bind source not made: %v", err)
	}
	// tmpfs with options.
	out := ok(t, "run", "--rm", "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c", "grep ' /scratch ' /proc/mounts")
	if !strings.Contains(out, "tmpfs /scratch tmpfs") || !strings.Contains(out, "size=1024k") {
		t.Errorf("tmpfs mount: %q", out)
	}
}

func TestNamedVolumes(t *testing.T) {
	busybox(t)
	// Made on first use; the data outlives the container.
	ok(t, "run", "--rm", "-v", "it-vol:/data", "busybox", "sh", "-c", "echo kept > /data/f")
	if out := ok(t, "run", "--rm", "-v", "it-vol:/data:ro", "busybox", "cat", "/data/f"); out != "kept\n" {
		t.Errorf("second container reads %q", out)
	}
	if ls := ok(t, "volume", "ls", "--format", "{{.Driver}} {{.Name}}"); !strings.Contains(ls, "local it-vol") {
		t.Errorf("volume ls: %q", ls)
	}
	mp := strings.TrimSpace(ok(t, "volume", "inspect", "-f", "{{.Mountpoint}}", "it-vol"))
	if b, _ := os.ReadFile(filepath.Join(mp, "f")); string(b) != "kept\n" {
		t.Errorf("the volume's Mountpoint %s holds %q", mp, b)
	}
	// A volume a container uses cannot be removed.
	ok(t, "create", "--name", "it_voluser", "-v", "it-vol:/data", "busybox", "true")
	if src := ok(t, "inspect", "-f", "{{range .Mounts}}{{.Name}} {{.Destination}} {{.Source}}{{end}}", "it_voluser"); !strings.Contains(src, "it-vol /data "+mp) {
		t.Errorf("inspect Mounts: %q", src)
	}
	if r := run(t, "volume", "rm", "it-vol"); r.code != 1 || !strings.Contains(r.stderr, "volume is in use") {
		t.Errorf("volume rm of a used volume: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "rm", "it_voluser")
	ok(t, "volume", "rm", "it-vol")
	if _, err := os.Stat(mp); !os.IsNotExist(err) {
		t.Errorf("volume data left after volume rm: %v", err)
	}
	if r := run(t, "volume", "inspect", "it-vol"); r.code == 0 {
		t.Error("inspect of a removed volume succeeded")
	}
}
