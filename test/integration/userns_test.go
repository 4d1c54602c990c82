package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// idMap is one line of /proc/PID/uid_map: container id, host id, size.
type idMap struct{ inside, host, size uint64 }

func parseIDMap(t *testing.T, s string) idMap {
	t.Helper()
	var m idMap
	if _, err := fmt.Sscan(s, &m.inside, &m.host, &m.size); err != nil {
		t.Fatalf("uid_map %q: %v", s, err)
	}
	return m
}

// hostIDMap is the uid_map of a running container's PID 1, read on the
// host.
func hostIDMap(t *testing.T, name string) idMap {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", inspect(t, name).State.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return parseIDMap(t, string(b))
}

// TestUsernsAuto: with --userns=auto root in the container is a high,
// otherwise unused uid on the host. Inside, the mapping shows, the
// image's files are root's and root can write anywhere in its rootfs;
// a file root makes in a bind mount is the mapped uid's on the host;
// two containers get disjoint blocks and a removed container's block
// is free again; exec'd processes join the user namespace; capabilities
// inside, even all of them, are the namespace's only; volumes, cp,
// commit and --network host work.
func TestUsernsAuto(t *testing.T) {
	busybox(t)
	// Not t.TempDir: its parent is 0700, and the container's root must
	// be able to reach a bind mount's source (docs/SECURITY.md).
	dir, err := os.MkdirTemp("/var/tmp", "berth-it-userns-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := ok(t, "run", "--rm", "--userns=auto", "-v", dir+":/data", "busybox", "sh", "-c",
		"cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; touch /data/made; stat -c %u:%g / /bin/sh /etc/passwd; echo new > /etc/new && cat /etc/new")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 {
		t.Fatalf("output: %q", out)
	}
	m := parseIDMap(t, lines[0])
	if m.inside != 0 || m.host < 65536 || m.size != 65536 || strings.Join(strings.Fields(lines[1]), " ") != strings.Join(strings.Fields(lines[0]), " ") {
		t.Errorf("uid_map %q, gid_map %q: want 0 → a high host id, 65536 ids, the same for groups", lines[0], lines[1])
	}
	if lines[2] != "0" || lines[3] != "0:0" || lines[4] != "0:0" || lines[5] != "0:0" || lines[6] != "new" {
		t.Errorf("inside: id -u, owners of /, /bin/sh, /etc/passwd, a new file:\n%s", out)
	}
	fi, err := os.Stat(filepath.Join(dir, "made"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); uint64(st.Uid) != m.host || uint64(st.Gid) != m.host {
		t.Errorf("a file made by the container's root is %d:%d on the host, want %d:%d", st.Uid, st.Gid, m.host, m.host)
	}
	if b, _ := os.ReadFile("/etc/subuid"); !strings.Contains(string(b), "berth:") {
		t.Errorf("/etc/subuid has no range for berth:\n%s", b)
	}

	ok(t, "run", "-d", "--name", "it_userns1", "--userns=auto", "busybox", "sleep", "300")
	defer run(t, "rm", "-f", "it_userns1")
	ok(t, "run", "-d", "--name", "it_userns2", "--userns=auto:size=1000", "busybox", "sleep", "300")
	defer run(t, "rm", "-f", "it_userns2")
	a, b := hostIDMap(t, "it_userns1"), hostIDMap(t, "it_userns2")
	if a.size != 65536 || b.size != 1000 || (a.host < b.host+b.size && b.host < a.host+a.size) {
		t.Errorf("blocks of two containers: %v and %v, want disjoint, of 65536 and 1000 ids", a, b)
	}
	var insp []struct {
		HostConfig struct {
			UsernsMode string
			IDMappings struct{ UidMap []string }
		}
	}
	if err := json.Unmarshal([]byte(ok(t, "inspect", "it_userns1")), &insp); err != nil || len(insp) != 1 ||
		insp[0].HostConfig.UsernsMode != "auto" || len(insp[0].HostConfig.IDMappings.UidMap) != 1 ||
		insp[0].HostConfig.IDMappings.UidMap[0] != fmt.Sprintf("0:%d:65536", a.host) {
		t.Errorf("inspect: %+v, %v", insp, err)
	}
	// exec joins the user namespace: root there, not the host's.
	if out := ok(t, "exec", "it_userns1", "sh", "-c", "id -u; cat /proc/self/uid_map"); !strings.HasPrefix(out, "0\n") || parseIDMap(t, strings.SplitN(out, "\n", 2)[1]) != a {
		t.Errorf("exec: %q, want uid 0 and the container's map %v", out, a)
	}
	if out := ok(t, "exec", "-u", "1000", "it_userns1", "id", "-u"); out != "1000\n" {
		t.Errorf("exec -u 1000: %q", out)
	}
	// Removing a container frees its block: the next one gets it.
	ok(t, "rm", "-f", "it_userns1")
	ok(t, "run", "-d", "--name", "it_userns3", "--userns=auto", "busybox", "sleep", "300")
	defer run(t, "rm", "-f", "it_userns3")
	if c := hostIDMap(t, "it_userns3"); c != a {
		t.Errorf("after rm of the first container, a new one got %v, want its freed block %v", c, a)
	}

	// A new named volume becomes the container's root's; berth cp into
	// the container gives files to its root, cp -a out of it its own
	// owners; --network host works (the host's /sys, read-only).
	out = ok(t, "run", "--rm", "--userns=auto", "-v", "it_userns_vol:/vol", "busybox", "sh", "-c", "touch /vol/made; stat -c %u /vol/made")
	defer run(t, "volume", "rm", "it_userns_vol")
	if out != "0\n" {
		t.Errorf("a file made in a named volume: owner %q inside, want 0", out)
	}
	if o := sh(t, "stat -c %u /var/lib/berth/volumes/it_userns_vol/_data/made"); o == "0" {
		t.Errorf("a file made in a named volume is root's on the host")
	}
	if err := os.WriteFile(filepath.Join(dir, "copied"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, "cp", filepath.Join(dir, "copied"), "it_userns3:/copied")
	if out := ok(t, "exec", "it_userns3", "stat", "-c", "%u:%g", "/copied"); out != "0:0\n" {
		t.Errorf("berth cp into the container: owner %q, want 0:0", out)
	}
	ok(t, "exec", "it_userns3", "sh", "-c", "echo x > /made; chown 1000:1000 /made")
	ok(t, "cp", "-a", "it_userns3:/made", filepath.Join(dir, "out"))
	if fi, err := os.Stat(filepath.Join(dir, "out")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Errorf("berth cp -a out of the container: %v, want the container's owner 1000", err)
	}
	if out := ok(t, "run", "--rm", "--userns=auto", "--network", "host", "busybox", "sh", "-c", "test -d /sys/class && id -u"); out != "0\n" {
		t.Errorf("--network host: %q", out)
	}
	// --device binds the host's node in (mknod is refused in a user
	// namespace), with the host's owner and mode: /dev/zero (0666) can
	// be read, the testbed's /dev/net/tun (0600, root's) not even by
	// the container's root.
	if out := ok(t, "run", "--rm", "--userns=auto", "--device", "/dev/zero:/dev/myzero", "busybox", "sh", "-c",
		"[ -c /dev/myzero ] && head -c 3 /dev/myzero | od -An -tx1"); strings.TrimSpace(out) != "00 00 00" {
		t.Errorf("--userns=auto --device /dev/zero:/dev/myzero: %q", out)
	}
	if st, err := os.Stat("/dev/net/tun"); err == nil && st.Mode().Perm() == 0o600 {
		if r := run(t, "run", "--rm", "--userns=auto", "--device", "/dev/net/tun", "busybox", "sh", "-c", "exec 3<>/dev/net/tun && echo opened"); strings.Contains(r.stdout, "opened") {
			t.Errorf("--userns=auto: a root-only host device node was opened")
		}
	}
	// commit gives the layer the container's ids, not the host's.
	ok(t, "commit", "it_userns3", "it-userns-committed")
	defer run(t, "rmi", "it-userns-committed")
	if out := ok(t, "run", "--rm", "it-userns-committed", "stat", "-c", "%u:%g", "/made", "/copied", "/bin/sh"); out != "1000:1000\n0:0\n0:0\n" {
		t.Errorf("owners in the committed image: %q, want 1000:1000, 0:0, 0:0", out)
	}

	// All capabilities, no seccomp filter: still only the namespace's.
	// A root-only host file bind-mounted in is unreadable (root of the
	// namespace has no DAC override over ids it does not map), device
	// nodes cannot be made, and the host's hostname cannot be set
	// (the UTS namespace is the container's).
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("host secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(secret, 0, 0)
	r := run(t, "run", "--rm", "--userns=auto", "--cap-add", "ALL", "--security-opt", "seccomp=unconfined",
		"-v", secret+":/secret", "busybox", "sh", "-c",
		"cat /secret && echo READ; mknod /tmp/mem c 1 1 && echo MKNOD; grep CapEff /proc/self/status")
	if strings.Contains(r.stdout, "READ") || strings.Contains(r.stdout, "MKNOD") || !strings.Contains(r.stdout, "CapEff:\t000001ffffffffff") {
		t.Errorf("--userns=auto --cap-add ALL: %s%s", r.stdout, r.stderr)
	}
	// The same without a user namespace reads it: the check above means
	// something.
	if out := ok(t, "run", "--rm", "-v", secret+":/secret", "busybox", "cat", "/secret"); out != "host secret\n" {
		t.Errorf("without --userns: %q", out)
	}
	if r := run(t, "run", "--rm", "--userns=keep", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "--userns") {
		t.Errorf("--userns=keep: exit %d, %q", r.code, r.stderr)
	}
}

// TestUsernsBinaryInPrivateDir: berth run from a directory the
// container's mapped root cannot reach (as /root, 0700) starts a
// --userns=auto container all the same: its PID 1 execs its binary
// through a descriptor, not a path; and that descriptor does not reach
// the container.
func TestUsernsBinaryInPrivateDir(t *testing.T) {
	busybox(t)
	dir, err := os.MkdirTemp("/var/tmp", "berth-it-private-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := binary(t, "BERTH_BIN")
	copyFile(t, bin, filepath.Join(dir, "berth"))
	copyFile(t, filepath.Join(filepath.Dir(bin), "berth-nsinit"), filepath.Join(dir, "berth-nsinit"))
	c := exec.Command(filepath.Join(dir, "berth"), "run", "--rm", "--userns=auto", "--network", "none", "busybox", "sh", "-c", "id -u; ls /proc/self/fd")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("berth run --userns=auto from a 0700 directory: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 5 || got[0] != "0" || strings.Join(got[1:], " ") != "0 1 2 3" {
		t.Errorf("inside: %q, want uid 0 and descriptors 0 1 2 (and 3, ls's own)", out)
	}
	// berth exec too: its stage runs as the namespace's root.
	priv := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(dir, "berth"), args...).CombinedOutput()
		return string(out), err
	}
	if out, err := priv("run", "-d", "--name", "it_usernspriv", "--userns=auto", "--network", "none", "busybox", "sleep", "60"); err != nil {
		t.Fatalf("run -d: %v\n%s", err, out)
	}
	defer priv("rm", "-f", "it_usernspriv")
	out2, err := priv("exec", "it_usernspriv", "sh", "-c", "id -u; ls /proc/self/fd")
	if err != nil {
		t.Fatalf("berth exec --userns=auto container from a 0700 directory: %v\n%s", err, out2)
	}
	if got := strings.Fields(out2); len(got) != 5 || got[0] != "0" || strings.Join(got[1:], " ") != "0 1 2 3" {
		t.Errorf("exec'd: %q, want uid 0 and descriptors 0 1 2 (and 3, ls's own)", out2)
	}
}
