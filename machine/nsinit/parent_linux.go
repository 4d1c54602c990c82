package nsinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// StartError is a container that could not start, with Docker's exit
// code for it (ExitSetup, ExitCannotExec, ExitNotFound).
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// Cloneflags are the namespaces every container gets.
const Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Start runs argv (berth itself, re-executed as `__nsinit`, which must
// call Child) in new namespaces, sends it cfg and waits for its report.
// It returns the child's PID once the child is about to exec the
// container's command; the child is not waited for: it is the
// container's PID 1, and the caller hands it to systemd. A child that
// fails is reaped and its failure returned as a *StartError.
func Start(cfg *Config, exe string, argv []string) (int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, &StartError{ExitSetup, fmt.Sprintf("init: socketpair: %v", err)}
	}
	parent := os.NewFile(uintptr(fds[0]), "init-parent")
	child := os.NewFile(uintptr(fds[1]), "init-child")
	defer parent.Close()

	cmd := &exec.Cmd{
		Path:        exe,
		Args:        argv,
		Env:         []string{},
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  []*os.File{child}, // fd 3
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: Cloneflags},
	}
	err = cmd.Start()
	child.Close()
	if err != nil {
		return 0, &StartError{ExitSetup, fmt.Sprintf("init: start container process: %v", err)}
	}
	if err := json.NewEncoder(parent).Encode(cfg); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, &StartError{ExitSetup, fmt.Sprintf("init: send config: %v", err)}
	}
	var res Result
	if err := json.NewDecoder(parent).Decode(&res); err != nil {
		werr := cmd.Wait()
		if errors.Is(err, io.EOF) {
			return 0, &StartError{ExitSetup, fmt.Sprintf("init: container process died during setup (%v)", werr)}
		}
		return 0, &StartError{ExitSetup, fmt.Sprintf("init: read report: %v", err)}
	}
	if !res.OK {
		cmd.Wait()
		return 0, &StartError{res.Code, res.Error}
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return pid, nil
}
