package nsinit

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ExecOptions describe a process to run in a running container
// (`berth exec`).
type ExecOptions struct {
	// Pid is the container's PID 1 (host PID).
	Pid int
	// Args, Env and Cwd are the command, its environment and its working
	// directory inside the container.
	Args []string
	Env  []string
	Cwd  string
	// User is who it runs as; Bounding its capabilities; NoNewPrivileges
	// as the container's.
	User            specs.User
	Bounding        []string
	NoNewPrivileges bool
	// SeccompFilter is the container's seccomp profile compiled by
	// machine.ExecSeccompFilter (nil: none); see execSeccomp.
	SeccompFilter []bpf.RawInstruction
	// Stdin, Stdout and Stderr are the process's; nil is /dev/null.
	Stdin          *os.File
	Stdout, Stderr *os.File
	// Terminal: Stdin is a terminal that becomes the controlling one of
	// the process's new session (Ctrl-C, SIGWINCH and hangups reach it).
	Terminal bool
}

// Exec starts a process in the namespaces of the running container whose
// PID 1 is o.Pid and returns it (the caller waits for it). Go cannot
// join a mount namespace (setns refuses a process whose threads share
// their file system state), so the process joins the container's pid,
// network, UTS, IPC and cgroup namespaces, and sees the container's file
// system through a chroot to /proc/PID/root, which resolves in the
// container's mount namespace: it sees the container's mounts, /proc
// included, as the container does. Namespaces, the capability bounding
// set and no_new_privs are set on a locked OS thread, which the child is
// forked from and inherits them; that thread is never used again. A
// command that is not found is a *StartError with ExitNotFound, one that
// cannot run ExitCannotExec, as for a new container.
func Exec(o ExecOptions) (*os.Process, error) {
	type result struct {
		p   *os.Process
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread's namespaces and capabilities are
		// the container's now, and it dies with this goroutine.
		runtime.LockOSThread()
		p, err := execOnThisThread(o)
		done <- result{p, err}
	}()
	r := <-done
	return r.p, r.err
}

func execOnThisThread(o ExecOptions) (*os.Process, error) {
	for _, ns := range []struct {
		name string
		flag int
	}{{"pid", unix.CLONE_NEWPID}, {"net", unix.CLONE_NEWNET}, {"uts", unix.CLONE_NEWUTS},
		{"ipc", unix.CLONE_NEWIPC}, {"cgroup", unix.CLONE_NEWCGROUP}} {
		f, err := os.Open("/proc/" + strconv.Itoa(o.Pid) + "/ns/" + ns.name)
		if err != nil {
			return nil, fmt.Errorf("exec: the container's %s namespace: %w", ns.name, err)
		}
		err = unix.Setns(int(f.Fd()), ns.flag)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("exec: join the container's %s namespace: %w", ns.name, err)
		}
	}
	if err := dropBounding(o.Bounding); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if err := clearInheritable(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if o.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("exec: no_new_privs: %w", err)
		}
	}
	root := "/proc/" + strconv.Itoa(o.Pid) + "/root"
	if o.SeccompFilter != nil {
		if err := execSeccomp(o.SeccompFilter); err != nil {
			return nil, err
		}
	}
	path, code, err := LookPath(o.Args[0], o.Env, func(name string) (uint32, error) {
		var st unix.Stat_t
		err := unix.Stat(root+"/"+name, &st)
		return st.Mode, err
	})
	if err != nil {
		return nil, &StartError{code, err.Error()}
	}
	gids := make([]uint32, len(o.User.AdditionalGids))
	copy(gids, o.User.AdditionalGids)
	attr := &os.ProcAttr{
		Dir:   o.Cwd,
		Env:   o.Env,
		Files: []*os.File{o.Stdin, o.Stdout, o.Stderr},
		Sys: &syscall.SysProcAttr{
			Chroot:     root,
			Credential: &syscall.Credential{Uid: o.User.UID, Gid: o.User.GID, Groups: gids},
			Setsid:     o.Terminal,
			Setctty:    o.Terminal,
			Ctty:       0,
		},
	}
	p, err := os.StartProcess(path, o.Args, attr)
	if err != nil {
		code := ExitCannotExec
		if os.IsNotExist(err) {
			code = ExitNotFound
		}
		return nil, &StartError{code, fmt.Sprintf("exec: %s: %v", o.Args[0], err)}
	}
	return p, nil
}

// execSeccomp installs the container's seccomp filter on this thread,
// which the exec'd process is forked from and inherits it; the thread
// is never used again. What runs under it before the command is Go's
// fork (clone without namespace flags, which Docker's profile allows)
// and the child's setup before execve, including chroot: the filter
// (machine.ExecSeccompFilter) allows chroot in front of the
// container's rules (the command itself still needs the capability for
// it). No thread of berth's other than this one is filtered.
func execSeccomp(filter []bpf.RawInstruction) error {
	if err := installSeccomp(filter); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}
