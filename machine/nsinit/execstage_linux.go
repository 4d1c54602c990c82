package nsinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The exec'd process starts as a stage: berth again (`berth
// __execstage`, ExecStage), forked from the thread that has joined the
// container's namespaces and cgroups (Exec), which sets the process up
// and execs the command: chroot to /proc/PID/root, capability bounding
// set, user, no_new_privs, and the seccomp filter last. It is a stage,
// and not Go's fork straight to the command, for two reasons:
//
//   - The fork must put the process into the container's unified cgroup
//     (clone3 with CLONE_INTO_CGROUP), and the container's seccomp
//     profile refuses clone3 (ENOSYS, as Docker's: its flags cannot be
//     filtered), so the filter cannot be on the forking thread; it is
//     installed by the stage, after the fork.
//   - In a container with a user namespace of its own (--userns) the
//     process must join that namespace too, or it would be the host's
//     root inside the container. A Go process cannot: setns(2) of a user
//     namespace refuses a multi-threaded caller, and Go has started
//     threads before main. So, as runc's C nsexec does, a single-threaded
//     program joins it: util-linux's nsenter (--user, which then takes
//     uid and gid 0 of the namespace) execs the stage, which is then
//     root of the container's user namespace, with capabilities there
//     and none on the host.
//
// One PID from the fork to the command. The stage is berth's binary
// (run from its read-only mount, see selfprotect_linux.go) in the
// container's PID namespace before its chroot; it makes itself
// non-dumpable at once, so that the container's processes can neither
// ptrace it nor open its /proc/PID files in that window (runc's
// runc:[2:INIT] does the same).

// ExecStageArg is the argument that makes berth the stage.
const ExecStageArg = "__execstage"

// stageFD is the pipe on which the stage reads its ExecOptions.
const stageFD = 3

// nsenterPath is util-linux's nsenter.
var nsenterPath = "nsenter"

// hasOwnUserns reports whether process pid is in a user namespace other
// than this process's.
func hasOwnUserns(pid int) (bool, error) {
	theirs, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/user")
	if err != nil {
		return false, fmt.Errorf("exec: the container's user namespace: %w", err)
	}
	ours, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		return false, fmt.Errorf("exec: own user namespace: %w", err)
	}
	return theirs != ours, nil
}

// startStage starts the stage (exe) on the calling thread, which has
// joined the container's namespaces, with attr (its cgroup), through
// nsenter into the container's user namespace when userns, and sends it
// o.
func startStage(o ExecOptions, exe string, userns bool, attr *syscall.SysProcAttr) (*os.Process, error) {
	path, argv := exe, []string{"berth", ExecStageArg}
	if userns {
		nsenter, err := exec.LookPath(nsenterPath)
		if err != nil {
			return nil, fmt.Errorf("exec: a container with a user namespace needs util-linux's nsenter: %w", err)
		}
		path, argv = nsenter, []string{"nsenter", "--user=/proc/" + strconv.Itoa(o.Pid) + "/ns/user", "--", exe, ExecStageArg}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("exec: pipe: %w", err)
	}
	defer r.Close()
	defer w.Close()
	files := []*os.File{o.Stdin, o.Stdout, o.Stderr, r}
	if userns {
		// nsenter execs the stage as the namespace's root, a host id
		// that may not reach berth's directory (a 0700 /root, say): it
		// gets the binary as descriptor 4, which the stage marks
		// close-on-exec at once.
		bin, err := os.Open(exe)
		if err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
		defer bin.Close()
		files = append(files, bin)
		argv[3] = "/proc/self/fd/4"
	}
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Env: []string{}, Files: files, Sys: attr})
	if err != nil {
		return nil, fmt.Errorf("exec: start %s: %w", path, err)
	}
	r.Close()
	if err := json.NewEncoder(w).Encode(o); err != nil {
		p.Kill()
		p.Wait()
		return nil, fmt.Errorf("exec: send options: %w", err)
	}
	return p, nil
}

// ExecStage is berth run as the stage (ExecStageArg, see above): it
// reads its ExecOptions from descriptor 3, sets up and execs the
// command. It returns only by exiting: 126 or 127 when the command
// cannot run, as Docker's.
func ExecStage() {
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	runtime.LockOSThread()
	var o ExecOptions
	f := os.NewFile(stageFD, "options")
	if err := json.NewDecoder(f).Decode(&o); err != nil {
		stageFail(ExitSetup, fmt.Errorf("exec: read options: %w", err))
	}
	f.Close()
	// Nothing past the options reaches the command (startStage may have
	// passed the stage its own binary).
	if err := unix.CloseRange(stageFD+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		stageFail(ExitSetup, fmt.Errorf("exec: close-on-exec: %w", err))
	}
	if err := syscall.Chroot("/proc/" + strconv.Itoa(o.Pid) + "/root"); err != nil {
		stageFail(ExitSetup, fmt.Errorf("exec: chroot into the container: %w", err))
	}
	if err := syscall.Chdir(o.Cwd); err != nil {
		code := ExitCannotExec
		if errors.Is(err, unix.ENOENT) {
			code = ExitNotFound
		}
		stageFail(code, fmt.Errorf("exec: chdir to %s: %w", o.Cwd, err))
	}
	path, code, err := LookPath(o.Args[0], o.Env, func(name string) (uint32, error) {
		var st unix.Stat_t
		err := unix.Stat(name, &st)
		return st.Mode, err
	})
	if err != nil {
		stageFail(code, err)
	}
	// The bounding set limits what execve gives the command; this
	// process keeps its capabilities until then (chroot above, setuid).
	if err := dropBounding(o.Bounding); err != nil {
		stageFail(ExitSetup, fmt.Errorf("exec: %w", err))
	}
	if err := clearInheritable(); err != nil {
		stageFail(ExitSetup, fmt.Errorf("exec: %w", err))
	}
	// As prepare: without no_new_privs the filter needs CAP_SYS_ADMIN
	// (of this namespace), which a user other than root loses at setuid.
	if o.SeccompFilter != nil && !o.NoNewPrivileges {
		if err := installSeccomp(o.SeccompFilter); err != nil {
			stageFail(ExitSetup, err)
		}
	}
	if err := switchUser(o.User); err != nil {
		stageFail(ExitSetup, err)
	}
	if o.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			stageFail(ExitSetup, fmt.Errorf("exec: no_new_privs: %w", err))
		}
		if o.SeccompFilter != nil {
			if err := installSeccomp(o.SeccompFilter); err != nil {
				stageFail(ExitSetup, err)
			}
		}
	}
	err = unix.Exec(path, o.Args, o.Env)
	code = ExitCannotExec
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	stageFail(code, fmt.Errorf("exec: %s: %w", o.Args[0], err))
}

func stageFail(code int, err error) {
	fmt.Fprintf(os.Stderr, "berth: %v\n", err)
	os.Exit(code)
}
