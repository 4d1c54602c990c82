package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/console"
	"github.com/berth/berth/machine/journal"
	"golang.org/x/sys/unix"
)

// The log of a -t container (see console.Relay): __init starts `berth
// __ttylog` beside the container's PID 1, in the unit, with the
// terminal's master, a journal stream for the container's output (the
// same fields and priority as a container without -t: `berth logs`
// reads it), a listening socket for clients (ttySocket in the
// container's directory) and a pidfd of PID 1. The relay ends when PID 1
// has ended and the master has been read to the end; systemd's SIGKILL
// for what is left in the unit (KillMode=mixed) would end it anyway.

// ttySocket is the relay's socket in the container's directory.
const ttySocket = "tty.sock"

// ttyRelayArg is the argument that makes berth the relay.
const ttyRelayArg = "__ttylog"

// ttyDrain is how long the relay reads on after PID 1 has ended.
const ttyDrain = 100 * time.Millisecond

// startTTYRelay starts the relay of rec's terminal (master) whose PID 1
// is pid, and returns journald's end of its log stream, for __cleanup
// to wait on (journal.WaitStreamsDrained).
func startTTYRelay(exe, dir string, rec *machine.Container, master *os.File, pid int) (uint64, error) {
	stream, err := journal.OpenStream(machine.ShortID(rec.ID), rec.Unit, 6)
	if err != nil {
		return 0, fmt.Errorf("log of the terminal: %w", err)
	}
	defer stream.Close()
	peer, err := journal.StreamPeer(stream, 2*time.Second)
	if err != nil {
		return 0, fmt.Errorf("log of the terminal: %w", err)
	}
	sock := filepath.Join(dir, ttySocket)
	os.Remove(sock)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return 0, fmt.Errorf("log of the terminal: %w", err)
	}
	l.SetUnlinkOnClose(false)
	// The terminal's output is the container's: root only (the
	// directory may be traversable, see machine.Containers.Create).
	if err := os.Chmod(sock, 0o600); err != nil {
		l.Close()
		return 0, fmt.Errorf("log of the terminal: %w", err)
	}
	lf, err := l.File()
	l.Close()
	if err != nil {
		return 0, fmt.Errorf("log of the terminal: %w", err)
	}
	defer lf.Close()
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return 0, fmt.Errorf("log of the terminal: pidfd of %d: %w", pid, err)
	}
	pf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pf.Close()
	cmd := exec.Command(exe, ttyRelayArg)
	cmd.Args[0] = "berth"
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.ExtraFiles = []*os.File{master, stream, lf, pf} // 3, 4, 5, 6
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("log of the terminal: %w", err)
	}
	cmd.Process.Release()
	return peer, nil
}

// ttyRelay is berth run as the relay (ttyRelayArg).
func ttyRelay() int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	if err := unix.SetNonblock(3, true); err != nil {
		fmt.Fprintf(os.Stderr, "berth: tty log: %v\n", err)
		return 1
	}
	master := os.NewFile(3, "tty-master")
	stream := os.NewFile(4, "log")
	lf := os.NewFile(5, "socket")
	l, err := net.FileListener(lf)
	lf.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth: tty log: %v\n", err)
		return 1
	}
	done := make(chan struct{})
	go func() {
		fds := []unix.PollFd{{Fd: 6, Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		close(done)
	}()
	if a, ok := l.Addr().(*net.UnixAddr); ok {
		defer os.Remove(a.Name) // clients waiting for a restart's relay see it gone
	}
	console.Relay(master, stream, l, done, ttyDrain)
	return 0
}

// inContainerPIDNS keeps the pids that are in the PID namespace of the
// container's PID 1 (pid1): the container's processes and exec'd ones,
// not berth's own in the unit (the relay of a -t container). Without a
// readable namespace of PID 1 it keeps them all.
func inContainerPIDNS(pid1 int, pids []int) []int {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid1))
	if err != nil {
		return pids
	}
	var out []int
	for _, p := range pids {
		if other, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p)); err != nil || other == ns {
			out = append(out, p)
		}
	}
	return out
}
