package systemd

import (
	"fmt"
	"os"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

// NotifyBarrier sends state (sd_notify(3) assignments, such as
// "MAINPID=42\nREADY=1") to the service manager over $NOTIFY_SOCKET, then
// a BARRIER=1 message carrying the write end of a pipe, and waits until
// the manager has closed it (sd_notify_barrier(3)): the manager handles
// messages in order, so by then it has acted on state. timeout bounds the
// wait.
func NotifyBarrier(state string, timeout time.Duration) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return fmt.Errorf("sd_notify: no NOTIFY_SOCKET: %w", errdefs.ErrUnavailable)
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrUnix{Name: addr}
	if err := unix.Sendmsg(fd, []byte(state), nil, to, 0); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("sd_notify barrier: %w", err)
	}
	defer unix.Close(p[0])
	err = unix.Sendmsg(fd, []byte("BARRIER=1"), unix.UnixRights(p[1]), to, 0)
	unix.Close(p[1])
	if err != nil {
		return fmt.Errorf("sd_notify barrier: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return fmt.Errorf("sd_notify barrier: the service manager did not answer in %v", timeout)
		}
		fds := []unix.PollFd{{Fd: int32(p[0])}}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sd_notify barrier: %w", err)
		}
		if n > 0 && fds[0].Revents&unix.POLLHUP != 0 {
			return nil
		}
	}
}

// SystemNotifySocket is the service manager's notification socket, for
// a process that is not started with $NOTIFY_SOCKET (a health check's
// unit notifying for a container's).
const SystemNotifySocket = "/run/systemd/notify"

// NotifyAs sends state to the service manager's socket on behalf of
// process pid (sd_pid_notify(3)): the message carries pid in its
// credentials, which the kernel lets a process with CAP_SYS_ADMIN set,
// so systemd takes it as coming from pid and acts on it for pid's unit
// (with NotifyAccess=all, or =main when pid is the main process). The
// unit's process need not be in the sender's cgroup, nor do anything;
// it must live until systemd has read the message (a container's PID 1
// does). socket "" is $NOTIFY_SOCKET, else SystemNotifySocket.
func NotifyAs(pid int, state, socket string) error {
	if socket == "" {
		if socket = os.Getenv("NOTIFY_SOCKET"); socket == "" {
			socket = SystemNotifySocket
		}
	}
	if socket[0] == '@' {
		socket = "\x00" + socket[1:]
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer unix.Close(fd)
	creds := unix.UnixCredentials(&unix.Ucred{Pid: int32(pid), Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())})
	if err := unix.Sendmsg(fd, []byte(state), creds, &unix.SockaddrUnix{Name: socket}, 0); err != nil {
		return fmt.Errorf("sd_notify as process %d: %w", pid, err)
	}
	return nil
}
