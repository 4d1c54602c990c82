package nsinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/berth/berth/machine/journal"

	"golang.org/x/sys/unix"
)

// StartError is a container that could not start, with Docker's exit
// code for it (ExitSetup, ExitCannotExec, ExitNotFound).
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// ResumeSignal tells a set-up child to exec the command (see Resume).
const ResumeSignal = unix.SIGUSR1

// Resume lets the container whose PID 1 is pid exec its command; the
// unit's ExecStartPost calls it once systemd has taken pid as its main
// process.
func Resume(pid int) error {
	if err := unix.Kill(pid, ResumeSignal); err != nil {
		return fmt.Errorf("resume container process %d: %w", pid, err)
	}
	return nil
}

// Cloneflags are the namespaces every container gets.
const Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Start runs argv (berth itself, re-executed as `__nsinit`, which must
// call Child) in new namespaces, sends it cfg and waits for its report.
// It returns the child's PID once the child is about to exec the
// container's command; the child is not waited for: it is the
// container's PID 1, and the caller hands it to systemd. It also returns
// journald's ends of the container's output streams (Result.LogStreams).
// A child that fails is reaped and its failure returned as a
// *StartError.
func Start(cfg *Config, exe string, argv []string) (int, []uint64, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, &StartError{ExitSetup, fmt.Sprintf("init: socketpair: %v", err)}
	}
	parent := os.NewFile(uintptr(fds[0]), "init-parent")
	child := os.NewFile(uintptr(fds[1]), "init-child")
	defer parent.Close()
	files := []*os.File{child} // fd 3
	streams, peers := openStreams(cfg)
	if streams != nil {
		files = append(files, streams...) // fds 4 and 5
		defer streams[0].Close()
		defer streams[1].Close()
	}
	cfg.Streams = streams != nil

	cmd := &exec.Cmd{
		Path:        exe,
		Args:        argv,
		Env:         []string{},
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  files,
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: Cloneflags},
	}
	err = cmd.Start()
	child.Close()
	if err != nil {
		return 0, nil, &StartError{ExitSetup, fmt.Sprintf("init: start container process: %v", err)}
	}
	if err := json.NewEncoder(parent).Encode(cfg); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, nil, &StartError{ExitSetup, fmt.Sprintf("init: send config: %v", err)}
	}
	var res Result
	if err := json.NewDecoder(parent).Decode(&res); err != nil {
		werr := cmd.Wait()
		if errors.Is(err, io.EOF) {
			return 0, nil, &StartError{ExitSetup, fmt.Sprintf("init: container process died during setup (%v)", werr)}
		}
		return 0, nil, &StartError{ExitSetup, fmt.Sprintf("init: read report: %v", err)}
	}
	if !res.OK {
		cmd.Wait()
		return 0, nil, &StartError{res.Code, res.Error}
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return pid, peers, nil
}

// openStreams connects the container's stdout and stderr to journald,
// with Docker's priorities (info for stdout, err for stderr) so that
// readers can tell them apart, and returns them with journald's ends of
// them (journal.StreamPeer). The parent connects them, not the child:
// journald's end of a connection lives in the network namespace of the
// process that connected, and the cleanup that waits for it to close
// runs in the host's. Without journald the container keeps the unit's
// own output (nil).
func openStreams(cfg *Config) ([]*os.File, []uint64) {
	var files []*os.File
	var peers []uint64
	for _, prio := range []int{6, 3} {
		f, err := journal.OpenStream(cfg.LogIdentifier, cfg.Unit, prio)
		if err == nil {
			var ino uint64
			if ino, err = journal.StreamPeer(f, 2*time.Second); err == nil {
				files, peers = append(files, f), append(peers, ino)
				continue
			}
			f.Close()
		}
		fmt.Fprintf(os.Stderr, "berth: warning: container output not separated by stream: %v\n", err)
		for _, f := range files {
			f.Close()
		}
		return nil, nil
	}
	return files, peers
}
