package nsinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// exitOnSignal makes a signal that would end the command end this
// process the same way while it is still berth's: `berth stop` right
// after `berth run -d` may send the stop signal (any, with --stop-signal)
// before the exec. As the init of a PID namespace this process cannot be
// killed by its own signal, and Go's runtime would exit with status 2
// instead ("exited (2)") or drop the signal; it exits 128+signal, as a
// shell reports a command that signal killed, and as Docker shows it.
// Signals whose default is not to terminate are left as they are (Go's
// runtime uses SIGURG itself; SIGPIPE keeps Go's handling). execve
// resets the handlers: the command gets its signals as usual.
//
// Each signal signal.Notify enables is a round trip to the runtime's
// signal thread (about 25 µs here), and all of them would hold the
// container's start up by 1.5 ms: the signals a stop or Ctrl-C sends
// are enabled before the setup starts, the others beside it, done by
// the time signalsEnabled is closed.
func exitOnSignal() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		signal.Notify(sigs)
		close(signalsEnabled)
	}()
	go func() {
		for sig := range sigs {
			if s, ok := sig.(syscall.Signal); ok && terminates(s) {
				os.Exit(128 + int(s))
			}
		}
	}()
}

// signalsEnabled is closed once exitOnSignal has enabled every signal.
var signalsEnabled = make(chan struct{})

// installSeccompQuiet installs the filter once no enabling of signals
// is under way: that talks to the runtime's signal thread (futex), and
// this thread may then wake it under a filter that denies futex.
func installSeccompQuiet(prog []bpf.RawInstruction) error {
	<-signalsEnabled
	return installSeccomp(prog)
}

// terminates reports whether sig's default action ends a process
// (signal(7)); SIGPIPE is left to Go's runtime.
func terminates(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGCHLD, syscall.SIGCONT, syscall.SIGURG, syscall.SIGWINCH,
		syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE:
		return false
	}
	return true
}

// childFD is the socket to the parent in the child.
const childFD = 3

// Child is the container's PID 1 before it becomes the command: it reads
// its Config from the parent, sets the container up and execs the
// command. It returns only by exiting the process.
func Child() {
	// Capabilities and no_new_privs are per thread: everything from here
	// to execve runs on this one.
	runtime.LockOSThread()
	exitOnSignal()
	unix.CloseOnExec(childFD)
	unix.CloseOnExec(resumeFD)
	conn := os.NewFile(childFD, "init")
	mfd, err := receiveRootfs() // userns_linux.go
	if err != nil {
		fail(conn, ExitSetup, err)
	}
	var cfg Config
	if err := json.NewDecoder(conn).Decode(&cfg); err != nil {
		fail(conn, ExitSetup, fmt.Errorf("init: read config: %w", err))
	}
	if cfg.Protocol != Protocol {
		fail(conn, ExitSetup, fmt.Errorf("init: %s speaks protocol %d, berth %d: install berth and %s from one build", os.Args[0], Protocol, cfg.Protocol, HelperName))
	}
	cfg.rootfsFD = mfd
	// Nothing past the descriptors it knows reaches the container: the
	// parent may have passed the child's own binary (a user namespace,
	// see Start).
	firstUnknown := uint(resumeFD + 1)
	if cfg.Streams {
		firstUnknown = uint(stderrFD + 1)
	}
	if err := unix.CloseRange(firstUnknown, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fail(conn, ExitSetup, fmt.Errorf("init: close-on-exec: %w", err))
	}
	path, filter, err := setup(&cfg)
	if err != nil {
		code := ExitSetup
		var se *StartError
		if errors.As(err, &se) {
			code = se.Code
		}
		fail(conn, code, err)
	}
	// Exec only once the parent has made this process the unit's main
	// process (MAINPID=, acknowledged by systemd): a command that exited
	// before would leave systemd a dead main PID ("does not exist or is
	// a zombie"). A parent that dies instead closes the pipe: then exit.
	json.NewEncoder(conn).Encode(Result{OK: true})
	conn.Close()
	p := cfg.Spec.Process
	// The seccomp filter goes on last, so that nothing of the setup
	// runs under it, only the wait and execve (and, should they fail,
	// the message and exit): before the wait when the filter allows
	// what the wait does (Config.SeccompEarly), else after it. Without
	// no_new_privs it is already on (see prepare).
	early := filter != nil && p.NoNewPrivileges && cfg.SeccompEarly
	if early {
		if err := installSeccompQuiet(filter); err != nil {
			fmt.Fprintf(os.Stderr, "berth: %v\n", err)
			os.Exit(ExitSetup)
		}
	}
	var b [1]byte
	n, err := unix.Read(resumeFD, b[:])
	for err == unix.EINTR {
		n, err = unix.Read(resumeFD, b[:])
	}
	if n != 1 {
		fmt.Fprintf(os.Stderr, "berth: init: no go-ahead to exec (%d bytes, %v): the unit's __init has ended\n", n, err)
		os.Exit(ExitSetup)
	}
	unix.Close(resumeFD)
	if filter != nil && p.NoNewPrivileges && !early {
		if err := installSeccompQuiet(filter); err != nil {
			fmt.Fprintf(os.Stderr, "berth: %v\n", err)
			os.Exit(ExitSetup)
		}
	}
	err = unix.Exec(path, p.Args, p.Env)
	code := ExitCannotExec
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	fmt.Fprintf(os.Stderr, "berth: exec %s: %v\n", p.Args[0], err)
	os.Exit(code)
}

func fail(conn *os.File, code int, err error) {
	json.NewEncoder(conn).Encode(Result{Code: code, Error: err.Error()})
	os.Exit(code)
}

// Descriptors the parent passes (see Start): the pipe to wait on before
// exec, and the journal streams.
const (
	resumeFD = 4
	stdoutFD = 5
	stderrFD = 6
)

// setup prepares the container and returns the command's path and its
// seccomp filter (nil: none); the journal streams from the parent become
// stdout and stderr.
func setup(cfg *Config) (string, []bpf.RawInstruction, error) {
	path, filter, err := prepare(cfg)
	if err != nil {
		return "", nil, err
	}
	if cfg.Streams {
		unix.Dup3(stdoutFD, 1, 0)
		unix.Dup3(stderrFD, 2, 0)
		unix.Close(stdoutFD)
		unix.Close(stderrFD)
	}
	return path, filter, nil
}

// prepare does the setup up to exec and returns the command's path and
// its seccomp filter. With no_new_privs the filter is installed by
// Child just before exec; without it the kernel wants CAP_SYS_ADMIN to
// install one, which a user other than root loses at setuid, so it is
// installed here, before the switch of user (as runc does), and the
// rest of the setup runs under it.
func prepare(cfg *Config) (path string, filter []bpf.RawInstruction, err error) {
	s := cfg.Spec
	if s == nil || s.Process == nil || len(s.Process.Args) == 0 {
		return "", nil, errors.New("init: spec without a process")
	}
	if s.Linux != nil && s.Linux.Seccomp != nil {
		if len(cfg.SeccompFilter) == 0 {
			return "", nil, errors.New("init: the spec has a seccomp profile but the parent sent no filter for it")
		}
		filter = cfg.SeccompFilter
	}
	path, err = prepareRoot(cfg, filter)
	return path, filter, err
}

// prepareRoot is prepare after the spec is checked: mounts, pivot_root,
// limits, capabilities, user.
func prepareRoot(cfg *Config, filter []bpf.RawInstruction) (string, error) {
	s := cfg.Spec
	if cfg.NetNS != "" {
		// --network container:OTHER: this thread (the one that execs)
		// joins the other container's network namespace.
		fd, err := unix.Open(cfg.NetNS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", fmt.Errorf("init: join the network of the other container: %w", err)
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			return "", fmt.Errorf("init: join the network of the other container: %w", err)
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return "", mountErr("make / rslave", "", "/", err)
	}
	if err := mountOverlay(cfg); err != nil {
		return "", err
	}
	root := cfg.Rootfs
	for _, m := range s.Mounts {
		if err := mountOne(root, m, slices.Contains(cfg.CopyUp, m.Destination)); err != nil {
			return "", err
		}
		if m.Destination == "/dev" {
			if err := populateDev(root); err != nil {
				return "", err
			}
			if cfg.HostDevices {
				if err := hostDevices(root); err != nil {
					return "", err
				}
			}
			if s.Linux != nil {
				if err := makeDevices(root, s.Linux.Devices, cfg.DeviceSources); err != nil {
					return "", err
				}
			}
		}
	}
	if err := etcFiles(cfg); err != nil {
		return "", err
	}
	if s.Linux != nil {
		for _, p := range s.Linux.MaskedPaths {
			if err := maskPath(root, p); err != nil {
				return "", err
			}
		}
		for _, p := range s.Linux.ReadonlyPaths {
			if err := readonlyPath(root, p); err != nil {
				return "", err
			}
		}
	}
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return "", fmt.Errorf("init: sethostname: %w", err)
		}
	}
	if !cfg.HostNetwork && cfg.NetNS == "" {
		if err := loopbackUp(); err != nil {
			return "", err
		}
	}
	if err := pivotRoot(root); err != nil {
		return "", err
	}
	p := s.Process
	for _, r := range p.Rlimits {
		if err := setRlimit(r); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(p.Cwd, 0o755); err != nil {
		return "", fmt.Errorf("init: working directory %s: %w", p.Cwd, err)
	}
	// Read-only only now: the working directory may have had to be made.
	if s.Root != nil && s.Root.Readonly {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return "", mountErr("remount read-only", "", "/", err)
		}
	}
	if p.Capabilities != nil {
		if err := dropBounding(p.Capabilities.Bounding); err != nil {
			return "", fmt.Errorf("init: %w", err)
		}
	}
	if err := clearInheritable(); err != nil {
		return "", fmt.Errorf("init: %w", err)
	}
	if filter != nil && !p.NoNewPrivileges {
		if err := installSeccompQuiet(filter); err != nil {
			return "", fmt.Errorf("init: %w", err)
		}
	}
	if err := switchUser(p.User); err != nil {
		return "", err
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return "", fmt.Errorf("init: chdir to %s: %w", p.Cwd, err)
	}
	path, code, err := LookPath(p.Args[0], p.Env, func(name string) (uint32, error) {
		var st unix.Stat_t
		err := unix.Stat(name, &st)
		return st.Mode, err
	})
	if err != nil {
		return "", &StartError{code, err.Error()}
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return "", fmt.Errorf("init: no_new_privs: %w", err)
		}
	}
	return path, nil
}

// MountError says which mount failed and how.
type MountError struct {
	Op, Source, Target string
	Err                error
}

func (e *MountError) Error() string {
	if e.Source == "" {
		return fmt.Sprintf("init: %s %s: %v", e.Op, e.Target, e.Err)
	}
	return fmt.Sprintf("init: %s %s on %s: %v", e.Op, e.Source, e.Target, e.Err)
}
func (e *MountError) Unwrap() error { return e.Err }

func mountErr(op, src, target string, err error) error {
	return &MountError{Op: op, Source: src, Target: target, Err: err}
}

// mountOverlay mounts the image layers and the container's upper at
// cfg.Rootfs, in this mount namespace only.
func mountOverlay(cfg *Config) error {
	if cfg.rootfsFD >= 0 {
		return moveRootfs(cfg, cfg.rootfsFD) // made by the parent: userns_linux.go
	}
	data, rel, err := OverlayData(cfg.LowerDirs, cfg.Upper, cfg.Work)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if rel {
		if err := unix.Chdir(commonParent(cfg.LowerDirs)); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	if err := unix.Mount("overlay", cfg.Rootfs, "overlay", 0, data); err != nil {
		return mountErr("mount overlay", "", cfg.Rootfs, err)
	}
	return nil
}

// cgroupMountType is the filesystem for the container's /sys/fs/cgroup:
// cgroup2 when the host has it (unified or hybrid), "" when it has only
// v1 hierarchies (then /sys/fs/cgroup stays empty).
func cgroupMountType() string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "cgroup2"
	}
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "cgroup2"
	}
	return ""
}

// mountOne mounts m in the root. A bind source is opened without
// following symlinks and mounted through its descriptor
// (openBindSource); with copyUpFirst, an empty volume is seeded from the
// image first (copyUp).
func mountOne(root string, m specs.Mount, copyUpFirst bool) error {
	typ, src := m.Type, m.Source
	if flags, _ := ParseMountOptions(m.Options); flags&unix.MS_BIND != 0 {
		f, err := openBindSource(src)
		if err != nil {
			return fmt.Errorf("init: mount on %s: %w", m.Destination, err)
		}
		defer f.Close()
		src = fdPath(f)
		if copyUpFirst {
			if err := copyUp(root, m, src); err != nil {
				return err
			}
		}
	}
	target, err := securejoin.SecureJoin(root, m.Destination)
	if err != nil {
		return fmt.Errorf("init: mount target %s: %w", m.Destination, err)
	}
	if typ == "cgroup" {
		if typ = cgroupMountType(); typ == "" {
			return nil
		}
		src = "cgroup2"
	}
	flags, data := ParseMountOptions(m.Options)
	if err := makeTarget(src, target, flags&unix.MS_BIND != 0); err != nil {
		return fmt.Errorf("init: mount target %s: %w", m.Destination, err)
	}
	if flags&unix.MS_BIND != 0 {
		if err := unix.Mount(src, target, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return mountErr("bind", m.Source, m.Destination, err)
		}
		if prop := propagation(m.Options); prop != 0 {
			if err := unix.Mount("", target, "", prop, ""); err != nil {
				return mountErr("set propagation of", "", m.Destination, err)
			}
		}
		if flags&^(unix.MS_BIND|unix.MS_REC) != 0 {
			if err := unix.Mount("", target, "", flags|unix.MS_REMOUNT, ""); err != nil {
				return mountErr("remount", "", m.Destination, err)
			}
		}
		return nil
	}
	err = unix.Mount(src, target, typ, flags, data)
	if typ == "sysfs" && errors.Is(err, unix.EPERM) {
		// A user namespace may mount sysfs only with a network
		// namespace of its own; with the host's (--network host or
		// container:…) it gets the host's /sys, read-only, as runc and
		// Podman do.
		err = bindSysfs(target, flags)
	}
	if err != nil {
		return mountErr("mount "+typ, "", m.Destination, err)
	}
	return nil
}

// bindSysfs bind-mounts the host's /sys (with its sub-mounts) at target,
// read-only when flags say so.
func bindSysfs(target string, flags uintptr) error {
	if err := unix.Mount("/sys", target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|flags&(unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC), "")
}

// makeTarget makes the mount point: a directory, or for a bind mount of
// a file an empty file (with its directories).
func makeTarget(src, target string, bind bool) error {
	if bind {
		if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	}
	return os.MkdirAll(target, 0o755)
}

// propagation is the mount(2) propagation flags of OCI options such as
// "rprivate".
func propagation(opts []string) uintptr {
	flags := map[string]uintptr{
		"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
		"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
		"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	}
	var p uintptr
	for _, o := range opts {
		if f, ok := flags[o]; ok {
			p = f
		}
	}
	return p
}

// devices are the nodes of the minimal /dev, as runc's default list.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// populateDev creates the device nodes (or, where mknod is not allowed,
// bind-mounts the host's) and the usual symlinks.
func populateDev(root string) error {
	// Resolved in the root as the mount was: a /dev that the image made a
	// symlink to a host path must not take the nodes there.
	dev, err := securejoin.SecureJoin(root, "/dev")
	if err != nil {
		return fmt.Errorf("init: /dev: %w", err)
	}
	for _, d := range devices {
		p := filepath.Join(dev, d.name)
		err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor)))
		if err == nil {
			unix.Chmod(p, 0o666) // mknod applies the umask
			continue
		}
		if !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("init: mknod /dev/%s: %w", d.name, err)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("init: /dev/%s: %w", d.name, err)
		}
		f.Close()
		if err := unix.Mount("/dev/"+d.name, p, "", unix.MS_BIND, ""); err != nil {
			return mountErr("bind", "/dev/"+d.name, "/dev/"+d.name, err)
		}
	}
	links := [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
	}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("init: /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

// etcFileContents are the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf (when it has one), by name.
func etcFileContents(cfg *Config) map[string]string {
	files := map[string]string{
		"hostname": cfg.Spec.Hostname + "\n",
		"hosts":    hostsFile(cfg),
	}
	if cfg.ResolvConf != "" {
		files["resolv.conf"] = cfg.ResolvConf
	}
	return files
}

// writeEtcFiles writes etcFileContents into the container's state
// directory, as Docker keeps them (the parent does, see Start).
func writeEtcFiles(cfg *Config) error {
	for name, content := range etcFileContents(cfg) {
		if err := os.WriteFile(filepath.Join(cfg.StateDir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("init: /etc/%s: %w", name, err)
		}
	}
	return nil
}

// etcFiles bind-mounts the files of writeEtcFiles on the container's
// /etc/hostname, /etc/hosts and /etc/resolv.conf.
func etcFiles(cfg *Config) error {
	files := etcFileContents(cfg)
	for name := range files {
		src := filepath.Join(cfg.StateDir, name)
		target, err := securejoin.SecureJoin(cfg.Rootfs, "/etc/"+name)
		if err != nil {
			return fmt.Errorf("init: /etc/%s: %w", name, err)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("init: /etc/%s: %w", name, err)
		}
		if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(target, nil, 0o644); err != nil {
				return fmt.Errorf("init: /etc/%s: %w", name, err)
			}
		}
		if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
			return mountErr("bind", src, "/etc/"+name, err)
		}
	}
	return nil
}

// maskPath hides p: /dev/null over a file, an empty read-only tmpfs over
// a directory, as runc does.
func maskPath(root, p string) error {
	target, err := securejoin.SecureJoin(root, p)
	if err != nil {
		return fmt.Errorf("init: mask %s: %w", p, err)
	}
	fi, err := os.Stat(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("init: mask %s: %w", p, err)
	}
	if fi.IsDir() {
		err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_RDONLY, "size=0k")
	} else {
		err = unix.Mount("/dev/null", target, "", unix.MS_BIND, "")
	}
	if err != nil {
		return mountErr("mask", "", p, err)
	}
	return nil
}

// readonlyPath bind-mounts p read-only over itself.
func readonlyPath(root, p string) error {
	target, err := securejoin.SecureJoin(root, p)
	if err != nil {
		return fmt.Errorf("init: read-only %s: %w", p, err)
	}
	if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return mountErr("bind", "", p, err)
	}
	var st unix.Statfs_t
	unix.Statfs(target, &st)
	flags := uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY) | uintptr(st.Flags)&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return mountErr("remount read-only", "", p, err)
	}
	return nil
}

// loopbackUp brings up lo in the new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("init: loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("init: loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("init: loopback: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("init: loopback up: %w", err)
	}
	return nil
}

// pivotRoot makes root the root of this mount namespace and drops the
// old one, as runc does: pivot_root(".", ".") then a lazy unmount.
func pivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("init: pivot_root %s: %w", root, err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return mountErr("make old root rslave", "", "/", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("init: unmount old root: %w", err)
	}
	return unix.Chdir("/")
}

var rlimitNames = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

func setRlimit(r specs.POSIXRlimit) error {
	n, ok := rlimitNames[r.Type]
	if !ok {
		return fmt.Errorf("init: unknown rlimit %q", r.Type)
	}
	lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
	if n == unix.RLIMIT_NOFILE {
		// Never above what the kernel allows (fs.nr_open).
		if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
			var max uint64
			fmt.Sscan(strings.TrimSpace(string(b)), &max)
			if max > 0 && lim.Max > max {
				lim.Max, lim.Cur = max, min(lim.Cur, max)
			}
		}
	}
	err := unix.Setrlimit(n, &lim)
	if errors.Is(err, unix.EPERM) {
		// Raising a hard limit takes CAP_SYS_RESOURCE, which a nested
		// host may lack: keep the limit as high as allowed.
		var cur unix.Rlimit
		if unix.Getrlimit(n, &cur) == nil && lim.Max > cur.Max {
			lim.Max, lim.Cur = cur.Max, min(lim.Cur, cur.Max)
			err = unix.Setrlimit(n, &lim)
		}
	}
	if err != nil {
		return fmt.Errorf("init: setrlimit %s: %w", r.Type, err)
	}
	return nil
}

// switchUser sets the supplementary groups, the group and the user, for
// every thread (Go's syscall package does that since Go 1.16).
func switchUser(u specs.User) error {
	gids := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		gids[i] = int(g)
	}
	if err := syscall.Setgroups(gids); err != nil {
		return fmt.Errorf("init: setgroups: %w", err)
	}
	if err := syscall.Setgid(int(u.GID)); err != nil {
		return fmt.Errorf("init: setgid %d: %w", u.GID, err)
	}
	if err := syscall.Setuid(int(u.UID)); err != nil {
		return fmt.Errorf("init: setuid %d: %w", u.UID, err)
	}
	return nil
}
