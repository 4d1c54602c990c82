package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCp copies in both directions with Docker's rules, into a running
// container (through its mount namespace) and a stopped one (through
// its overlay), and checks that a symlink in the container that points
// at /etc leads a copy to the container's /etc, never the host's.
func TestCp(t *testing.T) {
	busybox(t)
	setup := "mkdir -p /data/sub && echo hi > /data/sub/f && ln -s /etc /evil && ln -s /data/sub/f /flink"
	for _, state := range []string{"running", "stopped"} {
		t.Run(state, func(t *testing.T) {
			name := "it_cp_" + state
			if state == "running" {
				ok(t, "run", "-d", "--name", name, "busybox", "sh", "-c", setup+" && touch /ready && exec sleep 1000")
				waitFor(t, 5*time.Second, "the setup", func() bool { return run(t, "exec", name, "test", "-e", "/ready").code == 0 })
			} else {
				ok(t, "run", "--name", name, "busybox", "sh", "-c", setup)
			}
			defer run(t, "rm", "-f", name)
			upper := filepath.Join("/var/lib/berth/containers", inspect(t, name).ID, "upper")
			// inside reads a file in the container: through exec while it
			// runs, from its overlay's upper directory when it is stopped.
			inside := func(p string) (string, int) {
				if state == "running" {
					r := run(t, "exec", name, "sh", "-c", "cat "+p+" && stat -c %u "+p+" >&2")
					uid := -1
					if r.code == 0 {
						uid = atoi(strings.TrimSpace(r.stderr))
					}
					return r.stdout, uid
				}
				b, err := os.ReadFile(filepath.Join(upper, p))
				if err != nil {
					return "", -1
				}
				fi, _ := os.Stat(filepath.Join(upper, p))
				return string(b), int(fi.Sys().(*syscall.Stat_t).Uid)
			}
			dir := t.TempDir()
			local := func(p string) string { return filepath.Join(dir, p) }
			os.WriteFile(local("in.txt"), []byte("from the host\n"), 0o644)
			os.Chown(local("in.txt"), 1234, 1234)
			os.MkdirAll(local("tree/deep"), 0o755)
			os.WriteFile(local("tree/deep/x"), []byte("x\n"), 0o600)
			os.Mkdir(local("existing"), 0o755)
			read := func(p string) string { b, _ := os.ReadFile(local(p)); return string(b) }

			// Through the container's symlink to /etc: the container's.
			pwned := "berth-cp-pwned-" + state
			ok(t, "cp", local("in.txt"), name+":/evil/"+pwned)
			ok(t, "cp", local("tree"), name+":/evil/")
			for _, p := range []string{"/etc/" + pwned, "/etc/tree"} {
				if _, err := os.Lstat(p); err == nil {
					os.RemoveAll(p)
					t.Errorf("cp through the container's /evil -> /etc wrote the host's %s", p)
				}
			}
			if got, _ := inside("/etc/" + pwned); got != "from the host\n" {
				t.Errorf("cp through /evil: the container's /etc/%s has %q", pwned, got)
			}
			if got, _ := inside("/etc/tree/deep/x"); got != "x\n" {
				t.Errorf("cp through /evil/: the container's /etc/tree/deep/x has %q", got)
			}

			// Out of the container.
			ok(t, "cp", name+":/data/sub/f", local("f.out"))
			ok(t, "cp", name+":/data/sub/f", local("existing"))
			ok(t, "cp", name+":/data", local("datacopy"))
			ok(t, "cp", name+":/data/.", local("existing"))
			ok(t, "cp", "-L", name+":/flink", local("followed"))
			ok(t, "cp", name+":/flink", local("link"))
			for p, want := range map[string]string{"f.out": "hi\n", "existing/f": "hi\n", "datacopy/sub/f": "hi\n", "existing/sub/f": "hi\n", "followed": "hi\n"} {
				if got := read(p); got != want {
					t.Errorf("copied out %s: %q, want %q", p, got, want)
				}
			}
			if l, err := os.Readlink(local("link")); l != "/data/sub/f" {
				t.Errorf("cp without -L copied the symlink as %q, %v", l, err)
			}
			var b bytes.Buffer
			c := exec.Command(binary(t, "BERTH_BIN"), "cp", name+":/data", "-")
			c.Stdout = &b
			if err := c.Run(); err != nil {
				t.Fatalf("cp to -: %v", err)
			}
			if names := tarNames(t, &b); !strings.Contains(names, "data/sub/f ") {
				t.Errorf("cp %s:/data - wrote %q, want data/sub/f in it", name, names)
			}

			// Into the container.
			ok(t, "cp", local("in.txt"), name+":/data/in.txt")
			ok(t, "cp", "-a", local("in.txt"), name+":/data/kept.txt")
			ok(t, "cp", local("tree"), name+":/data")
			ok(t, "cp", local("tree"), name+":/data/newtree")
			c = exec.Command(binary(t, "BERTH_BIN"), "cp", "-", name+":/data")
			c.Stdin = tarOf(t, "fromtar", "streamed\n")
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("cp - %s:/data: %v %s", name, err, out)
			}
			for _, tc := range []struct {
				p, want string
				uid     int
			}{
				{"/data/in.txt", "from the host\n", 0},
				{"/data/kept.txt", "from the host\n", 1234},
				{"/data/tree/deep/x", "x\n", 0},
				{"/data/newtree/deep/x", "x\n", 0},
				{"/data/fromtar", "streamed\n", 0},
			} {
				if got, uid := inside(tc.p); got != tc.want || uid != tc.uid {
					t.Errorf("copied in %s: %q owned by %d, want %q owned by %d", tc.p, got, uid, tc.want, tc.uid)
				}
			}

			// Docker's errors.
			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"cp", name + ":/nope", dir}, "No such container:path: " + name + ":/nope"},
				{[]string{"cp", name + ":/data/sub/f", local("missing/f")}, `invalid output path: directory "` + local("missing") + `" does not exist`},
				{[]string{"cp", local("in.txt"), name + ":/missing/in.txt"}, "No such container:path: " + name + ":/missing"},
				{[]string{"cp", local("in.txt"), name + ":/data/newdir/"}, "no such directory"},
				{[]string{"cp", local("tree"), name + ":/data/in.txt"}, "cannot copy directory"},
				{[]string{"cp", local("nope"), name + ":/data"}, "lstat " + local("nope") + ": no such file or directory"},
				{[]string{"cp", local("in.txt"), dir}, "must specify at least one container source"},
				{[]string{"cp", name + ":/a", name + ":/b"}, "copying between containers is not supported"},
			} {
				if r := run(t, tc.args...); r.code != 1 || !strings.Contains(r.stderr, tc.want) {
					t.Errorf("berth %s: exit %d, %q; want 1 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
				}
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// tarNames lists the entries of an archive, each followed by a space.
func tarNames(t *testing.T, r io.Reader) string {
	t.Helper()
	var names strings.Builder
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names.String()
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		names.WriteString(h.Name + " ")
	}
}

// tarOf is an archive of one file.
func tarOf(t *testing.T, name, content string) io.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	io.WriteString(tw, content)
	tw.Close()
	return &b
}

// TestCpVolume: a running container's volumes are reached through its
// mount namespace: a file copied into one is in the volume.
func TestCpVolume(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_cpvol", "-v", "it_cpvol:/vol", "busybox", "sleep", "1000")
	defer func() { run(t, "rm", "-f", "it_cpvol"); run(t, "volume", "rm", "it_cpvol") }()
	f := filepath.Join(t.TempDir(), "x")
	os.WriteFile(f, []byte("in the volume\n"), 0o644)
	ok(t, "cp", f, "it_cpvol:/vol/x")
	run(t, "rm", "-f", "it_cpvol")
	if out := ok(t, "run", "--rm", "-v", "it_cpvol:/vol", "busybox", "cat", "/vol/x"); out != "in the volume\n" {
		t.Errorf("the volume has %q", out)
	}
}
