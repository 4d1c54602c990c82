package journal

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

// The sockets of journald's client interfaces; variables so that tests can
// point them at fakes.
var (
	nativeSocket  = "/run/systemd/journal/socket"
	streamSocket  = "/run/systemd/journal/stdout"
	varlinkSocket = "/run/systemd/journal/io.systemd.journal"
)

// maxDatagram is the size above which Send does not try a datagram and
// passes a memfd straight away, like sd_journal_sendv's 8 MiB send
// buffer. Smaller entries that still do not fit (EMSGSIZE, ENOBUFS) fall
// back to a memfd too.
var maxDatagram = 8 << 20

// Field is one journal field; Name is upper-case [A-Z0-9_], not starting
// with '_' (journald refuses trusted-field names from clients) nor a
// digit, and at most 64 bytes long.
type Field struct{ Name, Value string }

// Send writes one entry with the native protocol to
// /run/systemd/journal/socket (systemd.journal-fields(7),
// https://systemd.io/JOURNAL_NATIVE_PROTOCOL/). Values containing '\n'
// use the binary length-prefixed form (little-endian uint64). If the
// datagram is too large (EMSGSIZE/ENOBUFS), Send writes the entry to a
// sealed memfd and sends the fd with SCM_RIGHTS, as sd_journal_sendv does.
func Send(fields ...Field) error {
	msg, err := encode(fields)
	if err != nil {
		return fmt.Errorf("journal: send: %w", err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("journal: send: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrUnix{Name: nativeSocket}
	if len(msg) <= maxDatagram {
		err = unix.Sendto(fd, msg, 0, to)
		if err == nil {
			return nil
		}
		if err != unix.EMSGSIZE && err != unix.ENOBUFS {
			return sendError(err)
		}
	}
	if err := sendMemfd(fd, to, msg); err != nil {
		return fmt.Errorf("journal: send %d bytes through a memfd: %w", len(msg), err)
	}
	return nil
}

// sendError wraps a failed sendto, classing "no journald there" as
// unavailable.
func sendError(err error) error {
	if err == unix.ENOENT || err == unix.ECONNREFUSED || err == unix.EACCES {
		return fmt.Errorf("journal: send to %s: %w: %w", nativeSocket, errdefs.ErrUnavailable, err)
	}
	return fmt.Errorf("journal: send to %s: %w", nativeSocket, err)
}

// encode serializes fields in the native protocol: NAME=value\n, or
// NAME\n<le64 length><value>\n for values with a newline.
func encode(fields []Field) ([]byte, error) {
	if len(fields) == 0 {
		return nil, fmt.Errorf("no fields: %w", errdefs.ErrInvalid)
	}
	var b []byte
	for _, f := range fields {
		if !validName(f.Name) {
			return nil, fmt.Errorf("field name %q: want [A-Z0-9_], at most 64 bytes, not starting with '_' or a digit: %w", f.Name, errdefs.ErrInvalid)
		}
		b = append(b, f.Name...)
		if strings.IndexByte(f.Value, '\n') < 0 {
			b = append(b, '=')
		} else {
			b = append(b, '\n')
			b = binary.LittleEndian.AppendUint64(b, uint64(len(f.Value)))
		}
		b = append(b, f.Value...)
		b = append(b, '\n')
	}
	return b, nil
}

// validName applies journald's rule for client field names
// (journal_field_valid without protected names).
func validName(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '_' || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, c := range []byte(name) {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// sendMemfd writes msg to a sealed memfd and sends its fd alone, without
// data, which journald reads as one entry.
func sendMemfd(sock int, to unix.Sockaddr, msg []byte) error {
	fd, err := unix.MemfdCreate("journal-message", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "journal-message")
	defer f.Close()
	if _, err := f.Write(msg); err != nil {
		return err
	}
	// journald takes a sealed memfd from any sender and maps it; other
	// fds only from root or from a temporary directory. These are the
	// seals sd_journal_sendv sets.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return fmt.Errorf("seal memfd: %w", err)
	}
	return unix.Sendmsg(sock, nil, unix.UnixRights(fd), to, 0)
}
