package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/berth/berth/machine/console"
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

// ttyDrain is how long the relay reads on after PID 1 has ended.
const ttyDrain = 100 * time.Millisecond

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
