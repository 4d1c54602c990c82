package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mountedAt reports whether dir is a mount point in the test's (the
// host's) mount namespace.
func mountedAt(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// TestVolumeOptions: volumes with the local driver's options, as
// Docker's: a tmpfs volume is a mount on the host while containers use
// it, shared by them, and gone (with its data) after the last; a bind
// volume is a host directory; bad options are refused with exit 125 and
// make no volume.
func TestVolumeOptions(t *testing.T) {
	busybox(t)
	// tmpfs.
	ok(t, "volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m,uid=1000", "it-tvol")
	defer run(t, "volume", "rm", "-f", "it-tvol")
	if o := ok(t, "volume", "inspect", "-f", "{{.Options.type}} {{.Options.o}}", "it-tvol"); o != "tmpfs size=2m,uid=1000\n" {
		t.Errorf("inspect Options: %q", o)
	}
	mp := strings.TrimSpace(ok(t, "volume", "inspect", "-f", "{{.Mountpoint}}", "it-tvol"))
	if mountedAt(t, mp) {
		t.Fatalf("%s is mounted before any container uses it", mp)
	}
	ok(t, "run", "-d", "--name", "it_tvol1", "-v", "it-tvol:/data", "busybox", "sh", "-c", "echo shared > /data/f; sleep 60")
	defer run(t, "rm", "-f", "it_tvol1")
	waitFor(t, 10*time.Second, "the first container's file", func() bool {
		b, _ := os.ReadFile(filepath.Join(mp, "f"))
		return string(b) == "shared\n"
	})
	if !mountedAt(t, mp) {
		t.Errorf("%s is not a mount point while a container uses it", mp)
	}
	// A second container sees the same tmpfs, with its size and owner.
	out := ok(t, "run", "--rm", "-v", "it-tvol:/data", "busybox", "sh", "-c", "cat /data/f; stat -c %u /data; df -k /data | tail -1")
	if !strings.HasPrefix(out, "shared\n1000\n") || !strings.Contains(out, " 2048 ") {
		t.Errorf("second container: %q (want the file, uid 1000, a 2048 KiB file system)", out)
	}
	// Still mounted: the first container runs.
	if !mountedAt(t, mp) {
		t.Errorf("%s unmounted while the first container still uses it", mp)
	}
	ok(t, "rm", "-f", "it_tvol1")
	waitFor(t, 10*time.Second, "the tmpfs unmounted after its last user", func() bool { return !mountedAt(t, mp) })
	if out := ok(t, "run", "--rm", "-v", "it-tvol:/data", "busybox", "ls", "/data"); out != "" {
		t.Errorf("a tmpfs volume kept data after its last user: %q", out)
	}

	// bind: a host directory.
	host := t.TempDir()
	ok(t, "volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device="+host, "it-bvol")
	defer run(t, "volume", "rm", "-f", "it-bvol")
	ok(t, "run", "--rm", "-v", "it-bvol:/data", "busybox", "sh", "-c", "echo bound > /data/g")
	if b, _ := os.ReadFile(filepath.Join(host, "g")); string(b) != "bound\n" {
		t.Errorf("bind volume: the host directory holds %q", b)
	}
	ok(t, "volume", "rm", "it-bvol")
	if b, _ := os.ReadFile(filepath.Join(host, "g")); string(b) != "bound\n" {
		t.Errorf("volume rm of a bind volume touched the host directory: %q", b)
	}

	// Refused, and nothing made.
	for _, args := range [][]string{
		{"--opt", "size=1m"},
		{"--opt", "type=none", "--opt", "device=" + host},
		{"--opt", "type=none", "--opt", "o=bind"},
		{"--driver", "nfs-plugin"},
		{"--opt", "notkeyvalue"},
	} {
		r := run(t, append(append([]string{"volume", "create"}, args...), "it-badvol")...)
		if r.code != 125 {
			t.Errorf("volume create %v: exit %d (%q), want 125", args, r.code, r.stderr)
		}
	}
	if r := run(t, "volume", "inspect", "it-badvol"); r.code == 0 {
		t.Errorf("a refused volume exists")
	}
}
