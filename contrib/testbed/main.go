package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const stateRoot = "/run/berth-testbed"

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$`)

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  testbed up [--bind SRC[:DST]]… NAME
  testbed exec NAME [--] CMD…
  testbed down NAME
  testbed run [--bind SRC[:DST]]… [NAME] -- CMD…
  testbed status NAME
  testbed leftovers [NAME]
`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "up":
		binds, rest := parseBinds(args)
		if len(rest) != 1 {
			usage()
		}
		err = up(rest[0], binds)
	case "exec":
		if len(args) < 2 {
			usage()
		}
		name, argv := args[0], args[1:]
		if argv[0] == "--" {
			argv = argv[1:]
		}
		if len(argv) == 0 {
			usage()
		}
		err = execIn(name, argv) // returns only on error
	case "down":
		if len(args) != 1 {
			usage()
		}
		err = down(args[0])
	case "run":
		binds, rest := parseBinds(args)
		name, argv := "testbed", rest
		if len(rest) > 0 && rest[0] != "--" {
			name, argv = rest[0], rest[1:]
		}
		if len(argv) < 2 || argv[0] != "--" {
			usage()
		}
		os.Exit(run(name, binds, argv[1:]))
	case "status":
		if len(args) != 1 {
			usage()
		}
		err = status(args[0])
	case "leftovers":
		if len(args) > 1 {
			usage()
		}
		err = leftovers(args...)
	case "__boot":
		err = boot(args[0], args[1:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func parseBinds(args []string) (binds, rest []string) {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--bind" && i+1 < len(args):
			binds = append(binds, args[i+1])
			i++
		case strings.HasPrefix(args[i], "--bind="):
			binds = append(binds, strings.TrimPrefix(args[i], "--bind="))
		default:
			return binds, args[i:]
		}
	}
	return binds, nil
}

// state is where a testbed keeps what down needs: the cgroup directories,
// the supervisor's and the leader's PIDs, and the boot log.
type state struct{ name, dir string }

func stateOf(name string) (state, error) {
	if !nameRE.MatchString(name) {
		return state{}, fmt.Errorf("invalid testbed name %q (letters, digits, - and _, at most 40)", name)
	}
	return state{name, filepath.Join(stateRoot, name)}, nil
}

func (s state) path(f string) string { return filepath.Join(s.dir, f) }

func (s state) readInt(f string) int {
	b, _ := os.ReadFile(s.path(f))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (s state) cgroups() []string {
	b, _ := os.ReadFile(s.path("cgroups"))
	return strings.Fields(string(b))
}

// up boots testbed name and returns when its systemd is running.
func up(name string, binds []string) error {
	s, err := stateOf(name)
	if err != nil {
		return err
	}
	// Checked here too, so that the reason reaches the caller (the
	// supervisor's own check only reaches its log).
	for _, b := range append([]string{repoDir()}, binds...) {
		src, _, _ := strings.Cut(b, ":")
		if err := safeBind(src); src != "" && err != nil {
			return err
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("the testbed needs root")
	}
	if err := ensureTools(); err != nil {
		return err
	}
	if err := down(name); err != nil {
		return fmt.Errorf("clean stale testbed: %w", err)
	}
	start := time.Now()
	if err := os.MkdirAll(s.path("fs"), 0o700); err != nil {
		return err
	}
	dirs, err := createCgroups(name)
	if werr := os.WriteFile(s.path("cgroups"), []byte(strings.Join(dirs, "\n")+"\n"), 0o644); err == nil {
		err = werr
	}
	if err != nil {
		down(name)
		return err
	}
	if err := spawn(s, binds); err != nil {
		fmt.Fprintf(os.Stderr, "%s", tail(s.path("boot.log"), 40))
		down(name)
		return err
	}
	fmt.Fprintf(os.Stderr, "testbed %s: up in %.1fs (leader PID %d, log %s)\n", name,
		time.Since(start).Seconds(), s.readInt("leader"), s.path("boot.log"))
	return nil
}

// ensureTools installs what the testbed needs when it is missing.
func ensureTools() error {
	need := map[string]string{"systemd-nspawn": "systemd-container", "nsenter": "util-linux"}
	var pkgs []string
	for bin, pkg := range need {
		if _, err := exec.LookPath(bin); err != nil {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	fmt.Fprintf(os.Stderr, "testbed: installing %s\n", strings.Join(pkgs, " "))
	for _, argv := range [][]string{{"apt-get", "update", "-qq"}, append([]string{"apt-get", "install", "-y", "-qq"}, pkgs...)} {
		c := exec.Command(argv[0], argv[1:]...)
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := c.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
	}
	return nil
}

// spawn starts the supervisor (this binary's __boot, which becomes
// systemd-nspawn) in a new session and mount namespace, then waits for
// the container's systemd to be up and makes its cgroups writable.
func spawn(s state, binds []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	log, err := os.Create(s.path("boot.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	c := exec.Command(self, append([]string{"__boot", s.name}, binds...)...)
	c.Stdout, c.Stderr = log, log
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Unshareflags: syscall.CLONE_NEWNS}
	if err := c.Start(); err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	sup := c.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	os.WriteFile(s.path("nspawn"), []byte(strconv.Itoa(sup)), 0o644)

	leader := 0
	deadline := time.Now().Add(30 * time.Second)
	for leader == 0 {
		select {
		case err := <-exited:
			return fmt.Errorf("systemd-nspawn exited before the container started: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("no container leader after 30s")
		}
		leader = findLeader(sup)
	}
	os.WriteFile(s.path("leader"), []byte(strconv.Itoa(leader)), 0o644)

	if err := waitRunning(s, leader, exited, 90*time.Second); err != nil {
		return err
	}
	// nspawn hands v1 controllers over read-only; systemd only uses a
	// controller it can write, so remount them and let it look again.
	remount := `for d in /sys/fs/cgroup/*/; do
  d=${d%/}; case "$d" in */systemd|*/unified) continue;; esac
  mountpoint -q "$d" && mount -o remount,bind,rw "$d"
done; systemctl daemon-reexec`
	if out, err := inside(leader, 30*time.Second, "/bin/sh", "-c", remount); err != nil {
		return fmt.Errorf("make cgroup controllers writable: %v: %s", err, out)
	}
	return waitRunning(s, leader, exited, 60*time.Second)
}

// findLeader returns the PID of the container's PID 1: the child of
// systemd-nspawn that is PID 1 in its own PID namespace.
func findLeader(nspawn int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		if ppid, nspid := statusFields(b); ppid == nspawn && len(nspid) > 1 && nspid[len(nspid)-1] == "1" {
			return pid
		}
	}
	return 0
}

// statusFields returns PPid and the NSpid list of a /proc/PID/status.
func statusFields(b []byte) (ppid int, nspid []string) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "PPid":
			ppid, _ = strconv.Atoi(strings.TrimSpace(v))
		case "NSpid":
			nspid = strings.Fields(v)
		}
	}
	return ppid, nspid
}

// inside runs argv in every namespace of the leader and returns its
// combined output.
func inside(leader int, timeout time.Duration, argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(leader), "-a", "--"}, argv...)...)
	return c.CombinedOutput()
}

// waitRunning waits until systemd in the testbed reports running or
// degraded; on failure it prints the boot log and the failed units.
func waitRunning(s state, leader int, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("systemd-nspawn exited during boot: %v", err)
		default:
		}
		out, _ := inside(leader, 5*time.Second, "systemctl", "is-system-running")
		last = strings.TrimSpace(string(out))
		switch last {
		case "running":
			return nil
		case "degraded":
			failed, _ := inside(leader, 5*time.Second, "systemctl", "--failed", "--no-legend", "--plain")
			fmt.Fprintf(os.Stderr, "testbed %s: degraded; failed units:\n%s", s.name, failed)
			return nil
		case "maintenance", "stopping":
			return fmt.Errorf("systemd in the testbed is %s", last)
		}
		if time.Now().After(deadline) {
			jl, _ := inside(leader, 10*time.Second, "journalctl", "-b", "--no-pager", "-n", "60")
			return fmt.Errorf("systemd not running after %s (last state %q); journal:\n%s", timeout, last, jl)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// execIn replaces this process with CMD run inside the testbed, after
// moving itself into the testbed's exec cgroup so that down finds
// whatever CMD leaves behind.
func execIn(name string, argv []string) error {
	s, err := stateOf(name)
	if err != nil {
		return err
	}
	leader, sup := s.readInt("leader"), s.readInt("nspawn")
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", leader))
	if ppid, _ := statusFields(b); err != nil || leader == 0 || ppid != sup {
		return fmt.Errorf("testbed %s is not running (start it with: testbed up %s)", name, name)
	}
	if err := joinCgroups(s.cgroups(), "exec"); err != nil {
		return err
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = "/"
	}
	env := append(os.Environ(), "BERTH_TESTBED="+name)
	// nsenter's --wd opens the directory before it enters the mount
	// namespace, leaving a working directory that getcwd(3) cannot name
	// inside ("(unreachable)/work/main"; conmon refuses to run there).
	// So the directory is entered inside, by a shell, by path (or "/"
	// when the testbed does not have it).
	args := append([]string{"nsenter", "-t", strconv.Itoa(leader), "-a", "--",
		"/bin/sh", "-c", `cd "$0" 2>/dev/null || cd /; exec "$@"`, wd}, argv...)
	return syscall.Exec(nsenter, args, env)
}

// run boots a testbed, runs argv inside it and tears it down, returning
// argv's exit status (or 1 when the testbed failed).
func run(name string, binds, argv []string) int {
	if err := up(name, binds); err != nil {
		fmt.Fprintf(os.Stderr, "testbed up: %v\n", err)
		return 1
	}
	self, _ := os.Executable()
	c := exec.Command(self, append([]string{"exec", name, "--"}, argv...)...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	code := 1
	if err := c.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "testbed exec: %v\n", err)
	} else {
		go func() {
			for sig := range sigs {
				c.Process.Signal(sig)
			}
		}()
		err := c.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			code = 0
		case errors.As(err, &ee) && ee.ExitCode() >= 0:
			code = ee.ExitCode()
		case errors.As(err, &ee):
			code = 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
		}
	}
	signal.Stop(sigs)
	if err := down(name); err != nil {
		fmt.Fprintf(os.Stderr, "testbed down: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// down tears testbed name down: kills every process in its cgroups,
// removes the cgroups, detaches any mount that might have leaked into
// this mount namespace, and removes its state. Missing parts are fine.
func down(name string) error {
	s, err := stateOf(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var errs []error
	if err := destroyCgroups(s.cgroups(), 20*time.Second); err != nil {
		errs = append(errs, err)
	}
	if err := unmountBelow(s.dir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Remove only what up made: never RemoveAll a directory that might
	// still have something mounted on it.
	for _, f := range []string{"cgroups", "boot.log", "leader", "nspawn"} {
		os.Remove(s.path(f))
	}
	if err := os.Remove(s.path("fs")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := os.Remove(s.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	os.Remove(stateRoot) // only when empty: other testbeds may run
	return errors.Join(errs...)
}

// unmountBelow detaches every mount at or below dir in this mount
// namespace, deepest first. The testbed's mounts live in a private
// namespace, so there is normally nothing to do.
func unmountBelow(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	ms, err := parseMountinfo(f)
	if err != nil {
		return err
	}
	var errs []error
	for i := len(ms) - 1; i >= 0; i-- {
		p := ms[i].Point
		if p == dir || strings.HasPrefix(p, dir+"/") {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

func status(name string) error {
	s, err := stateOf(name)
	if err != nil {
		return err
	}
	leader := s.readInt("leader")
	if leader == 0 {
		return fmt.Errorf("testbed %s is not running", name)
	}
	out, _ := inside(leader, 5*time.Second, "systemctl", "is-system-running")
	fmt.Printf("testbed %s: leader PID %d, systemd %s\n", name, leader, bytes.TrimSpace(out))
	return nil
}

// boot runs in the supervisor process, in its own mount namespace (made
// private by the caller): it joins the testbed's cgroups, mounts the
// tmpfs and the overlay root, prepares the root, then becomes
// systemd-nspawn.
func boot(name string, binds []string) error {
	s, err := stateOf(name)
	if err != nil {
		return err
	}
	if err := joinCgroups(s.cgroups(), "boot"); err != nil {
		return err
	}
	fsDir := s.path("fs")
	if err := syscall.Mount("tmpfs", fsDir, "tmpfs", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", fsDir, err)
	}
	upper, work, root, varlib := filepath.Join(fsDir, "upper"), filepath.Join(fsDir, "work"),
		filepath.Join(fsDir, "root"), filepath.Join(fsDir, "var-lib-berth")
	for _, d := range []string{upper, work, root, varlib} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(varlib, 0o700); err != nil {
		return err
	}
	opts := "lowerdir=/,upperdir=" + upper + ",workdir=" + work
	if err := syscall.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay root: %w", err)
	}
	if err := prepareRoot(root); err != nil {
		return fmt.Errorf("prepare root: %w", err)
	}
	args := []string{"systemd-nspawn", "-D", root, "--register=no", "--keep-unit",
		"--private-network", "--capability=all", "-M", name, "--console=passive",
		"--bind=" + varlib + ":/var/lib/berth"}
	if repo := repoDir(); repo != "" {
		if err := safeBind(repo); err != nil {
			return err
		}
		args = append(args, "--bind="+repo)
	}
	for _, b := range binds {
		src, _, _ := strings.Cut(b, ":")
		if err := safeBind(src); err != nil {
			return err
		}
		args = append(args, "--bind="+b)
	}
	args = append(args, "-b", "systemd.unit=berth-testbed.target")
	for _, u := range maskedUnits {
		args = append(args, "systemd.mask="+u)
	}
	nspawn, err := exec.LookPath("systemd-nspawn")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "testbed %s: %s\n", name, strings.Join(args, " "))
	return syscall.Exec(nspawn, args, os.Environ())
}

// maskedUnits never start in a testbed even if something pulls them in.
var maskedUnits = []string{
	"getty@tty1.service", "console-getty.service", "serial-getty@.service",
	"postgresql.service", "postgresql@.service",
	"apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "dpkg-db-backup.timer",
	"e2scrub_all.timer", "fstrim.timer", "logrotate.timer", "systemd-timesyncd.service",
	// It ages out old files in /var/tmp, where CI clones the repository
	// that the testbed binds.
	"systemd-tmpfiles-clean.timer",
}

// safeBind refuses to bind a host directory that systemd in the testbed
// would clean or that is the host's system: systemd-tmpfiles empties
// /tmp at boot (Debian's tmp.conf: "D /tmp"), and through a bind that is
// the host's /tmp. (It happened once, from a testbed started in /tmp.)
func safeBind(dir string) error {
	d := filepath.Clean(dir)
	if !filepath.IsAbs(d) {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
	}
	for _, bad := range []string{"/tmp", "/run", "/proc", "/sys"} {
		if d == bad || strings.HasPrefix(d, bad+"/") {
			return fmt.Errorf("refusing to bind %s into the testbed: systemd there cleans or owns %s; start the testbed from a git work tree elsewhere, or set TESTBED_REPO", dir, bad)
		}
	}
	// Device nodes (/dev/loop0) may be bound; /dev itself not.
	for _, bad := range []string{"/", "/dev", "/etc", "/usr", "/var", "/var/lib", "/boot", "/home", "/root"} {
		if d == bad {
			return fmt.Errorf("refusing to bind %s into the testbed: a system directory; start the testbed from a git work tree, or set TESTBED_REPO", dir)
		}
	}
	return nil
}

// testbedTarget is the unit systemd boots into: the base system plus
// what berth talks to.
const testbedTarget = `[Unit]
Description=berth testbed
Requires=basic.target dbus.socket
Wants=systemd-machined.service systemd-journald.service
After=basic.target dbus.socket
AllowIsolate=yes
`

// prepareRoot writes into the overlay (its tmpfs upper): a machine ID of
// its own, so the testbed's journal is not the host's, and the target it
// boots into.
func prepareRoot(root string) error {
	id := make([]byte, 16)
	rand.Read(id)
	if err := os.WriteFile(filepath.Join(root, "etc/machine-id"), []byte(hex.EncodeToString(id)+"\n"), 0o444); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "etc/systemd/system/berth-testbed.target"), []byte(testbedTarget), 0o644)
}

// repoDir is the repository to bind into the testbed at its own path:
// $TESTBED_REPO, else the git work tree of the working directory, else
// the working directory.
func repoDir() string {
	if r := os.Getenv("TESTBED_REPO"); r != "" {
		return r
	}
	if out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
		return string(bytes.TrimSpace(out))
	}
	wd, _ := os.Getwd()
	return wd
}

// tail returns the last n lines of file f.
func tail(f string, n int) string {
	b, _ := os.ReadFile(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// leftovers reports anything any testbed (or only the testbed named)
// left on the host: state directories, cgroups, mounts, nspawn
// processes. It is what CI checks after the tests; with a name, other
// testbeds running beside it (another engineer's) are not reported.
func leftovers(only ...string) error {
	var found []string
	mine := func(name string) bool { return len(only) == 0 || name == only[0] }
	if ents, _ := os.ReadDir(stateRoot); len(ents) > 0 {
		for _, e := range ents {
			if mine(e.Name()) {
				found = append(found, "state "+filepath.Join(stateRoot, e.Name()))
			}
		}
	}
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if name, ok := strings.CutPrefix(d.Name(), "berth-testbed-"); ok && mine(name) {
			found = append(found, "cgroup "+p)
			return filepath.SkipDir
		}
		return nil
	})
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		ms, _ := parseMountinfo(f)
		f.Close()
		for _, m := range ms {
			if strings.Contains(m.Point, "berth-testbed") && (len(only) == 0 || strings.Contains(m.Point, "/"+only[0]+"/") || strings.HasSuffix(m.Point, "/"+only[0])) {
				found = append(found, "mount "+m.Point)
			}
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.HasPrefix(cmd, []byte("systemd-nspawn\x00")) && bytes.Contains(cmd, []byte(stateRoot)) &&
			(len(only) == 0 || bytes.Contains(cmd, []byte(filepath.Join(stateRoot, only[0])+"/"))) {
			found = append(found, "process "+e.Name()+" "+string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("left behind:\n  %s", strings.Join(found, "\n  "))
	}
	fmt.Println("testbed: nothing left behind (no state, cgroup, mount or nspawn process)")
	return nil
}
