package unitproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"golang.org/x/sys/unix"
)

// TTYSocket is the relay's socket in the container's directory.
const TTYSocket = "tty.sock"

// TTYRelayArg is the argument that makes berth the relay.
const TTYRelayArg = "__ttylog"

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
	sock := filepath.Join(dir, TTYSocket)
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
	cmd := exec.Command(exe, TTYRelayArg)
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
