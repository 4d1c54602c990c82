package journal

import (
	"fmt"
	"os"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

// OpenStream connects to journald's stdout stream socket
// /run/systemd/journal/stdout and writes the header that systemd writes
// for StandardOutput=journal:
//
//	identifier\n unit_id\n priority\n level_prefix\n forward_to_syslog\n forward_to_kmsg\n forward_to_console\n
//
// with level_prefix and the forwards 0. Every line written to the
// returned file becomes one entry with SYSLOG_IDENTIFIER=identifier and
// PRIORITY=priority (0-7). journald honours unit only from root, and only
// as a fallback for a sender whose cgroup it cannot read; it may be empty.
//
// The returned file is for writing only (its read side is shut down, as
// systemd does) and in blocking mode: the caller dup2()s it onto a
// process's stdout or stderr, or writes to it, and closes it.
func OpenStream(identifier, unit string, priority int) (*os.File, error) {
	if strings.ContainsAny(identifier, "\n\x00") || strings.ContainsAny(unit, "\n\x00") {
		return nil, fmt.Errorf("journal: open stream: identifier %q, unit %q: newline or NUL: %w", identifier, unit, errdefs.ErrInvalid)
	}
	if priority < 0 || priority > 7 {
		return nil, fmt.Errorf("journal: open stream: priority %d is not 0-7: %w", priority, errdefs.ErrInvalid)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: open stream: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: streamSocket}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("journal: open stream: connect %s: %w: %w", streamSocket, errdefs.ErrUnavailable, err)
	}
	if err := unix.Shutdown(fd, unix.SHUT_RD); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("journal: open stream: shutdown: %w", err)
	}
	f := os.NewFile(uintptr(fd), "journal-stream:"+identifier)
	header := fmt.Sprintf("%s\n%s\n%d\n0\n0\n0\n0\n", identifier, unit, priority)
	if _, err := f.WriteString(header); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: open stream: write header: %w", err)
	}
	return f, nil
}
