package nsinit

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	// machine.ExecSeccompFilter (nil: none), installed by the exec stage
	// (execstage_linux.go).
	SeccompFilter BPF
	// Stdin, Stdout and Stderr are the process's; nil is /dev/null.
	Stdin          *os.File `json:"-"`
	Stdout, Stderr *os.File `json:"-"`
	// Terminal: Stdin is a terminal that becomes the controlling one of
	// the process's new session (Ctrl-C, SIGWINCH and hangups reach it).
	Terminal bool `json:"-"`
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
// cannot run ExitCannotExec, as for a new container. The process is in
// the container's cgroups from its fork on (joinCgroups), never briefly
// outside its device policy or limits; in a container with a user
// namespace it joins that too (execuserns_linux.go).
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
	userns, err := hasOwnUserns(o.Pid)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("exec: find the berth binary: %w", err)
	}
	cgfd, err := joinCgroups(o.Pid) // cgroupjoin_linux.go
	if err != nil {
		return nil, err
	}
	// The stage execs the command in its own process: the session and
	// its controlling terminal carry over.
	sys := &syscall.SysProcAttr{Setsid: o.Terminal, Setctty: o.Terminal, Ctty: 0}
	if cgfd >= 0 {
		defer unix.Close(cgfd)
		sys.UseCgroupFD, sys.CgroupFD = true, cgfd
	}
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
	// Checked here too, so that a command that cannot run is an error of
	// berth's (-d included), not only the stage's exit status.
	root := "/proc/" + strconv.Itoa(o.Pid) + "/root"
	if _, code, err := LookPath(o.Args[0], o.Env, func(name string) (uint32, error) {
		var st unix.Stat_t
		err := unix.Stat(root+"/"+name, &st)
		return st.Mode, err
	}); err != nil {
		return nil, &StartError{code, err.Error()}
	}
	return startStage(o, exe, userns, sys) // execstage_linux.go
}
