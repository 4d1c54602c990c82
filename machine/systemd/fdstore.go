package systemd

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

// StoreFD hands f to the service manager's file descriptor store of
// this process's unit under name (sd_pid_notify_with_fds(3) with
// FDSTORE=1 and FDNAME=); the unit needs FileDescriptorStoreMax= room
// for it. systemd keeps it until the unit stops for good, passes it
// back to the next main process on a restart (ListenFDs), and drops it
// early if it reports POLLHUP or POLLERR.
func StoreFD(f *os.File, name string) error {
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
	msg := "FDSTORE=1\nFDNAME=" + name
	if err := unix.Sendmsg(fd, []byte(msg), unix.UnixRights(int(f.Fd())), &unix.SockaddrUnix{Name: addr}, 0); err != nil {
		return fmt.Errorf("sd_notify FDSTORE %s: %w", name, err)
	}
	return nil
}

// ListenFDs returns the descriptors the service manager passed to this
// process by name (sd_listen_fds_with_names(3): LISTEN_PID, LISTEN_FDS,
// LISTEN_FDNAMES, from descriptor 3 on), close-on-exec, and unsets the
// variables. Without them it returns nil.
func ListenFDs() map[string]*os.File {
	defer os.Unsetenv("LISTEN_PID")
	defer os.Unsetenv("LISTEN_FDS")
	defer os.Unsetenv("LISTEN_FDNAMES")
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	out := map[string]*os.File{}
	for i := range n {
		fd := 3 + i
		unix.CloseOnExec(fd)
		name := "unknown"
		if i < len(names) {
			name = names[i]
		}
		out[name] = os.NewFile(uintptr(fd), name)
	}
	return out
}
