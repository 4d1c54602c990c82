package console

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotHeld is Fetch's error when the process holds no such terminal.
var ErrNotHeld = errors.New("no terminal held for the container")

// Fetch takes a copy of the master of terminal index on devpts dev from
// process pid (systemd, PID 1, whose file descriptor store holds it),
// with pidfd_getfd(2), which needs the right to ptrace it (root has).
// The master is found by the tty-index line of /proc/PID/fdinfo, and
// checked by the device of its slave, since indexes repeat across
// devpts instances.
func Fetch(pid, index int, dev uint64) (*os.File, error) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("terminal of the container: %w", err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("terminal of the container: pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	want := "tty-index:\t" + strconv.Itoa(index)
	for _, e := range ents {
		if !hasLine(filepath.Join(dir, e.Name()), want) {
			continue
		}
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			return nil, fmt.Errorf("terminal of the container: pidfd_getfd: %w", err)
		}
		if sameTerminal(fd, dev) {
			unix.CloseOnExec(fd)
			return os.NewFile(uintptr(fd), "pty-master"), nil
		}
		unix.Close(fd)
	}
	return nil, ErrNotHeld
}

func hasLine(p, want string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == want || sc.Text() == want {
			return true
		}
	}
	return false
}

// sameTerminal reports whether fd is a master whose slave lives on dev.
func sameTerminal(fd int, dev uint64) bool {
	s, err := peer(fd)
	if err != nil {
		return false
	}
	defer unix.Close(s)
	var st unix.Stat_t
	return unix.Fstat(s, &st) == nil && st.Dev == dev
}

// FetchFD takes a copy of descriptor fd of process pid with
// pidfd_getfd(2), close-on-exec.
func FetchFD(pid, fd int) (*os.File, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	n, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_getfd %d of %d: %w", fd, pid, err)
	}
	unix.CloseOnExec(n)
	return os.NewFile(uintptr(n), fmt.Sprintf("fd %d of %d", fd, pid)), nil
}
