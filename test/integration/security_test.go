package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// attackHelper builds testdata/attack static (CGO_ENABLED=0) and
// returns its path, to be bind-mounted into containers (Go's build
// cache makes the second build cheap).
func attackHelper() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	dir, err := os.MkdirTemp("/var/tmp", "berth-it-attack-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "attack")
	c := exec.Command(gobin, "build", "-o", out, "./test/integration/testdata/attack")
	c.Dir = root
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		return "", &buildError{string(b), err}
	}
	return out, nil
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string {
	return "build the attack helper: " + e.err.Error() + ": " + e.out
}

// moduleRoot is the directory of berth's go.mod, above the working
// directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/berth/berth\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func attack(t *testing.T) string {
	t.Helper()
	p, err := attackHelper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(p)) })
	return p
}

// attacks counts the attack cases tried and refused, for the summary
// that docs/SECURITY.md quotes.
type attacks struct {
	t              *testing.T
	tried, refused int
}

func (a *attacks) refused1(name string, refused bool, detail string) {
	a.t.Helper()
	a.tried++
	if refused {
		a.refused++
		return
	}
	a.t.Errorf("attack %q was not refused: %s", name, detail)
}

func (a *attacks) summary() {
	a.t.Logf("attack cases tried: %d, refused: %d", a.tried, a.refused)
}

// TestSecurityDefaults runs the attack cases of docs/SECURITY.md from
// inside default busybox containers and asserts that each is refused.
func TestSecurityDefaults(t *testing.T) {
	busybox(t)
	helper := attack(t)
	a := &attacks{t: t}
	defer a.summary()
	bind := helper + ":/attack:ro"

	// Capabilities: exactly Docker's 14 in the bounding, permitted and
	// effective sets, none inheritable or ambient; no_new_privs.
	status := ok(t, "run", "--rm", "busybox", "cat", "/proc/self/status")
	for _, want := range []string{"CapInh:\t0000000000000000", "CapPrm:\t00000000a80425fb", "CapEff:\t00000000a80425fb",
		"CapBnd:\t00000000a80425fb", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		a.refused1("status "+strings.Fields(want)[0], strings.Contains(status, want+"\n"), "want "+want+" in\n"+status)
	}
	// Our filter is one more than whatever the host has (the testbed's
	// nspawn has its own).
	filters := func(args ...string) int {
		out := ok(t, append(append([]string{"run", "--rm"}, args...), "busybox", "grep", "Seccomp_filters:", "/proc/self/status")...)
		n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "Seccomp_filters:")))
		return n
	}
	def, unconfined := filters(), filters("--security-opt", "seccomp=unconfined")
	a.refused1("seccomp filter installed", def == unconfined+1, "default "+strconv.Itoa(def)+" filters, unconfined "+strconv.Itoa(unconfined))

	// System calls, devices, /proc and /sys, host processes: the helper
	// prints one line per attempt.
	out := ok(t, "run", "--rm", "-v", bind, "busybox", "/attack", "syscalls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 30 {
		t.Fatalf("the helper tried only %d attacks:\n%s", len(lines), out)
	}
	for _, l := range lines {
		a.refused1(strings.SplitN(l, " refused", 2)[0], strings.Contains(l, " refused: "), l)
	}

	// The same with busybox's own tools.
	for _, tc := range []struct{ name, script string }{
		{"busybox mount", "mount -t tmpfs none /mnt"},
		{"busybox unshare -U", "unshare -U true"},
		{"busybox unshare -m", "unshare -m true"},
		{"busybox nsenter host", "nsenter -t 1 -m -u true && ls /proc/1/root/../../../etc/machine-id"},
		{"busybox insmod", "insmod /dev/null"},
		{"busybox sysctl -w", "sysctl -w kernel.domainname=attack"},
		{"busybox hostname of the host", "echo attack > /proc/sys/kernel/hostname"},
		{"busybox sysrq", "echo h > /proc/sysrq-trigger"},
		{"busybox mknod disk", "mknod /tmp/d b 254 0 && head -c1 /tmp/d >/dev/null"},
		{"busybox /proc/kcore", "test -s /proc/kcore && head -c1 /proc/kcore | grep -q ."},
		{"busybox chroot escape", "mkdir -p /tmp/c && chroot /tmp/c /bin/true"},
	} {
		r := run(t, "run", "--rm", "busybox", "sh", "-c", tc.script)
		a.refused1(tc.name, r.code != 0, "exit 0: "+r.stdout+r.stderr)
	}

	// A setuid-root binary does not make a user root: no_new_privs.
	suid := func(args ...string) string {
		return ok(t, append(append([]string{"run", "--rm", "-v", bind}, args...), "busybox", "sh", "-c",
			"cp /attack /tmp/s && chmod 4755 /tmp/s && su -s /tmp/s nobody -c euid")...)
	}
	out = suid()
	a.refused1("setuid root binary", strings.Contains(out, "euid=65534"), out)
	// The control: with no_new_privs lifted the same binary is root, so
	// the case above can fail.
	if out := suid("--security-opt", "no-new-privileges=false"); !strings.Contains(out, "euid=0") {
		t.Errorf("control: the setuid binary without no_new_privs: %q, want euid=0", out)
	}

	// --privileged opens what the defaults close (the control of the
	// device and capability cases).
	out = ok(t, "run", "--rm", "--privileged", "-v", bind, "busybox", "/attack", "syscalls")
	for _, want := range []string{"mount tmpfs ALLOWED", "tun ALLOWED", "write /proc/sys/kernel/hostname ALLOWED"} {
		if !strings.Contains(out, want) {
			t.Errorf("--privileged: want %q in\n%s", want, out)
		}
	}
}

// TestSecurityInitBinary: a process of the container cannot write the
// berth binary through /proc/PID/exe (the CVE-2019-5736 class), neither
// when the container's command is /proc/self/exe nor when `berth exec`
// runs a symlink to it. The attack is run against a copy of berth, and
// the helper really writes when it can, so the hash shows it.
func TestSecurityInitBinary(t *testing.T) {
	busybox(t)
	helper := attack(t)
	a := &attacks{t: t}
	defer a.summary()
	dir, err := os.MkdirTemp("/var/tmp", "berth-it-exe-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	victim := filepath.Join(dir, "berth")
	copyFile(t, binary(t, "BERTH_BIN"), victim)
	before := sha256File(t, victim)
	vrun := func(args ...string) result {
		t.Helper()
		c := exec.Command(victim, args...)
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("berth %v: %v", args, err)
		}
		return result{out.String(), errb.String(), code}
	}
	vok := func(args ...string) string {
		t.Helper()
		r := vrun(args...)
		if r.code != 0 {
			t.Fatalf("berth %v: exit %d: %s%s", args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	fifo := filepath.Join(dir, "x", "fifo")
	os.MkdirAll(filepath.Dir(fifo), 0o755)
	if err := exec.Command("mkfifo", fifo).Run(); err != nil {
		t.Fatal(err)
	}
	// The berth binary here is linked against the host's C library.
	libs := []string{"-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro", "-v", helper + ":/attack:ro", "-v", filepath.Dir(fifo) + ":/x"}

	// 1. The container's command is /proc/self/exe: its PID 1 is berth's
	// binary, blocked opening the FIFO.
	vok(append(append([]string{"run", "-d", "--stop-timeout", "1", "--name", "it_exe_run"}, libs...), "--entrypoint", "/proc/self/exe", "busybox", "--root", "/tmp/r", "load", "-i", "/x/fifo")...)
	defer vrun("rm", "-f", "it_exe_run")
	time.Sleep(300 * time.Millisecond)
	out := vok("exec", "it_exe_run", "/attack", "exe")
	a.refused1("PID 1 running berth's binary from a writable mount", strings.Contains(out, "writable mount of berth binary of pid 1 refused"), out)
	vrun("rm", "-f", "it_exe_run")
	// Its unit's cleanup runs the copy too: wait until nothing does, or
	// the kernel answers ETXTBSY below whatever the mount.
	waitFor(t, 30*time.Second, "no process running the copy of berth", func() bool { return !running(victim) })

	// 2. berth exec runs a symlink to /proc/self/exe; the attacker keeps
	// a handle, kills it and opens the binary for writing. No berth
	// process may run meanwhile (a running binary answers ETXTBSY),
	// so everything here is detached and the report goes to a file.
	vok(append(append([]string{"run", "-d", "--stop-timeout", "1", "--name", "it_exe_exec"}, libs...), "busybox", "sleep", "60")...)
	defer vrun("rm", "-f", "it_exe_exec")
	vok("exec", "it_exe_exec", "ln", "-s", "/proc/self/exe", "/tmp/evil")
	vok("exec", "-d", "it_exe_exec", "/tmp/evil", "--root", "/tmp/r", "load", "-i", "/x/fifo")
	time.Sleep(300 * time.Millisecond)
	vok("exec", "-d", "it_exe_exec", "sh", "-c", "/attack exe --write > /x/out 2>&1; echo done >> /x/out")
	report := filepath.Join(filepath.Dir(fifo), "out")
	waitFor(t, 30*time.Second, "the attack's report", func() bool {
		b, _ := os.ReadFile(report)
		return strings.Contains(string(b), "done")
	})
	b, _ := os.ReadFile(report)
	out = string(b)
	if !strings.Contains(out, "binaries held: 1") {
		t.Fatalf("the attack found no berth process to attack:\n%s", out)
	}
	a.refused1("berth exec child from a writable mount", regexp.MustCompile(`writable mount of berth binary of pid \d+ refused`).MatchString(out), out)
	a.refused1("write the berth binary after it exited", strings.Contains(out, "after it exited refused: open /proc/self/fd/3: read-only file system"), out)
	a.refused1("berth binary unchanged", sha256File(t, victim) == before, "the copy of berth was written:\n"+out)

	// 3. With berth-nsinit next to the copy (as installed), the
	// container's PID 1 before exec is berth-nsinit, run from a
	// read-only mount too: a command of /proc/self/exe runs
	// berth-nsinit's binary, which refuses to do anything, and its file
	// is unchanged.
	nsinitCopy := filepath.Join(dir, "berth-nsinit")
	copyFile(t, filepath.Join(filepath.Dir(binary(t, "BERTH_BIN")), "berth-nsinit"), nsinitCopy)
	nsBefore := sha256File(t, nsinitCopy)
	r := vrun(append(append([]string{"run", "--rm", "--name", "it_exe_nsinit"}, libs...), "--entrypoint", "/proc/self/exe", "busybox", "/attack", "exe", "--write")...)
	a.refused1("berth-nsinit as the command does nothing", r.code == 2 && strings.Contains(r.stderr+r.stdout, "berth-nsinit: berth runs this program"),
		fmt.Sprintf("a command of /proc/self/exe: exit %d, want berth-nsinit's refusal (2):\n%s%s", r.code, r.stdout, r.stderr))
	waitFor(t, 30*time.Second, "no process running the copy of berth-nsinit", func() bool { return !running(nsinitCopy) })
	a.refused1("berth-nsinit unchanged", sha256File(t, nsinitCopy) == nsBefore, "the copy of berth-nsinit was written")
}

// running reports whether a process runs the binary at path.
func running(path string) bool {
	es, _ := os.ReadDir("/proc")
	for _, e := range es {
		if l, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && strings.TrimSuffix(l, " (deleted)") == path {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	outf, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(outf, in); err != nil {
		t.Fatal(err)
	}
	if err := outf.Close(); err != nil {
		t.Fatal(err)
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSecurityDevices: the unit's device cgroup is systemd's
// DevicePolicy=closed with runc's list, --device adds a node the
// container can use, and --group-add reaches the process.
func TestSecurityDevices(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_devpol", "busybox", "sleep", "60")
	defer run(t, "rm", "-f", "it_devpol")
	if p := unitProp(t, "berth-it_devpol.service", "DevicePolicy"); p != "closed" {
		t.Errorf("DevicePolicy = %q, want closed", p)
	}
	allow := unitProp(t, "berth-it_devpol.service", "DeviceAllow")
	for _, want := range []string{"char-pts rwm", "/dev/tty rwm", "char-* m", "block-* m"} {
		if !strings.Contains(allow, want) {
			t.Errorf("DeviceAllow = %q, want %q in it", allow, want)
		}
	}
	run(t, "rm", "-f", "it_devpol")

	// /dev/net/tun is one the testbed lets through: the container gets it
	// only with --device.
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Fatalf("the testbed has no /dev/net/tun: %v", err)
	}
	r := run(t, "run", "--rm", "busybox", "sh", "-c", "mknod /tmp/tun c 10 200 && cat /tmp/tun")
	if !strings.Contains(r.stderr+r.stdout, "Operation not permitted") {
		t.Errorf("tun without --device: exit %d, %q %q; want Operation not permitted", r.code, r.stdout, r.stderr)
	}
	r = run(t, "run", "--rm", "--device", "/dev/net/tun:/dev/xtun:rw", "busybox", "sh", "-c", "ls -l /dev/xtun; cat /dev/xtun")
	// Open works; reading a tun that is not attached is EBADFD.
	if !strings.Contains(r.stdout, "10, 200") || !strings.Contains(r.stderr, "File descriptor in bad state") {
		t.Errorf("--device /dev/net/tun:/dev/xtun:rw: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "run", "--rm", "--device", "/etc/passwd:/dev/x", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "not a device") {
		t.Errorf("--device /etc/passwd:/dev/x: exit %d, %q", r.code, r.stderr)
	}

	out := ok(t, "run", "--rm", "--group-add", "www-data", "--group-add", "4242", "-u", "nobody", "busybox", "id", "-G")
	if f := strings.Fields(out); len(f) != 3 || f[0] != "65534" || f[1] != "33" || f[2] != "4242" {
		t.Errorf("--group-add: id -G = %q, want 65534 33 4242", out)
	}
}

// TestSecurityExec: a process started by `berth exec` has the
// container's seccomp filter, capabilities and no_new_privs.
func TestSecurityExec(t *testing.T) {
	busybox(t)
	helper := attack(t)
	ok(t, "run", "-d", "--name", "it_secexec", "-v", helper+":/attack:ro", "busybox", "sleep", "60")
	defer run(t, "rm", "-f", "it_secexec")
	fields := []string{"grep", "-E", "^(Cap[A-Z][a-z]+|NoNewPrivs|Seccomp):"}
	in := ok(t, append(append([]string{"exec", "it_secexec"}, fields...), "/proc/1/status")...)
	out := ok(t, append(append([]string{"exec", "it_secexec"}, fields...), "/proc/self/status")...)
	if in != out || !strings.Contains(out, "NoNewPrivs:\t1") || !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("exec'd process:\n%s\ncontainer's PID 1:\n%s", out, in)
	}
	// The system calls the container's filter refuses, and the device
	// nodes its device policy refuses: the exec'd process is in the
	// unit's cgroup from its fork on. Not here: ptrace of the container's
	// own PID 1, which Docker's profile allows too.
	r := ok(t, "exec", "it_secexec", "/attack", "syscalls")
	for _, l := range strings.Split(strings.TrimSpace(r), "\n") {
		if strings.HasPrefix(l, "ptrace attach init ") {
			continue
		}
		if !strings.Contains(l, " refused: ") {
			t.Errorf("berth exec: %s", l)
		}
	}
	// Still works with CAP_SYS_CHROOT dropped (exec chroots into the
	// container before the command).
	ok(t, "run", "-d", "--name", "it_secexec2", "--cap-drop", "SYS_CHROOT", "busybox", "sleep", "60")
	defer run(t, "rm", "-f", "it_secexec2")
	if out := ok(t, "exec", "it_secexec2", "echo", "in"); out != "in\n" {
		t.Errorf("exec without CAP_SYS_CHROOT: %q", out)
	}
}

// TestSeccompInstalledLate: a profile that denies what the container's
// init may call while it waits for the go-ahead to exec (tgkill here,
// which Go's runtime calls to raise a fatal signal) is installed after
// that wait rather than before it (machine.SeccompEarly, which Docker's
// default allows): the container still starts, under the filter, and
// what the profile denies is denied.
func TestSeccompInstalledLate(t *testing.T) {
	busybox(t)
	prof := filepath.Join(t.TempDir(), "notgkill.json")
	if err := os.WriteFile(prof, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["tgkill","mkdir"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "run", "--rm", "--security-opt", "seccomp="+prof, "busybox", "sh", "-c", "grep '^Seccomp:' /proc/self/status; mkdir /tmp/x && echo made")
	if r.code == 0 || !strings.Contains(r.stdout, "Seccomp:\t2") || strings.Contains(r.stdout, "made") ||
		!strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("under a profile that denies tgkill and mkdir: exit %d, stdout %q, stderr %q; want the filter on and mkdir refused",
			r.code, r.stdout, r.stderr)
	}
}
