package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Knowing when journald has read a stream to its end.
//
// A stream's writer cannot tell when journald has taken in the last of
// its lines: journald reads each stream when it gets round to it, and
// its Varlink Synchronize (systemd 252) does not wait for streams to be
// drained (seen: an entry sent after Synchronize was stored before the
// last few thousand lines of a stream that had already ended). But
// journald closes its end of a stream only after it has read the stream
// to EOF, so "journald's socket is gone" means "every line is in the
// journal". StreamPeer finds journald's socket for one of ours, with
// sock_diag(7) (NETLINK_SOCK_DIAG, unix_diag's UDIAG_SHOW_PEER), and
// WaitStreamsDrained waits for such sockets to disappear.

// StreamPeer returns the inode of journald's socket at the other end of
// the stream f (from OpenStream), as sock_diag(7) sees it. Until
// journald has accepted the connection its end has no inode (0), so
// StreamPeer waits for that, up to timeout: a stream that journald
// accepted is one whose end WaitStreamsDrained can see.
func StreamPeer(f *os.File, timeout time.Duration) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("journal: stream peer: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ino, err := peerOf(uint32(st.Ino))
		if err != nil || ino != 0 {
			return ino, err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("journal: stream peer: journald did not accept the stream in %v", timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// peerOf is the inode of the peer of the AF_UNIX socket ino; 0 while
// the peer is not accepted.
func peerOf(ino uint32) (uint64, error) {
	attrs, err := unixDiag(ino, unixDiagShowPeer)
	if err != nil {
		return 0, fmt.Errorf("journal: stream peer: %w", err)
	}
	for len(attrs) >= 4 {
		l := int(binary.NativeEndian.Uint16(attrs[0:2]))
		typ := binary.NativeEndian.Uint16(attrs[2:4])
		if l < 4 || l > len(attrs) {
			break
		}
		if typ == unixDiagPeer && l >= 8 {
			return uint64(binary.NativeEndian.Uint32(attrs[4:8])), nil
		}
		attrs = attrs[(l+3)&^3:]
	}
	return 0, errors.New("journal: stream peer: not connected")
}

// WaitStreamsDrained returns once none of the sockets with the given
// inodes (StreamPeer's results) exists any more in this network
// namespace, that is once journald has read those streams to their end
// and closed them, or when ctx ends. The writers must be gone: a stream
// still open is never drained.
func WaitStreamsDrained(ctx context.Context, inodes []uint64) error {
	for _, ino := range inodes {
		for {
			_, err := unixDiag(uint32(ino), 0)
			if errors.Is(err, unix.ENOENT) {
				break
			}
			if err != nil {
				return fmt.Errorf("journal: wait for stream %d: %w", ino, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("journal: wait for stream %d: %w", ino, ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
	}
	return nil
}

// unix_diag constants (linux/unix_diag.h, linux/sock_diag.h).
const (
	sockDiagByFamily = 20
	unixDiagShowPeer = 0x4
	unixDiagPeer     = 2
	unixDiagMsgLen   = 16
	unixDiagReqLen   = 24
)

// unixDiag asks the kernel about the AF_UNIX socket with inode ino and
// returns the attributes of its reply; ENOENT when there is none.
func unixDiag(ino uint32, show uint32) ([]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	req := make([]byte, unix.NLMSG_HDRLEN+unixDiagReqLen)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:4], uint32(len(req)))
	ne.PutUint16(req[4:6], sockDiagByFamily)
	ne.PutUint16(req[6:8], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:12], 1)
	b := req[unix.NLMSG_HDRLEN:]
	b[0] = unix.AF_UNIX
	ne.PutUint32(b[4:8], 0xffffffff) // all states
	ne.PutUint32(b[8:12], ino)
	ne.PutUint32(b[12:16], show)
	ne.PutUint32(b[16:20], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(b[20:24], 0xffffffff)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return nil, err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case syscall.NLMSG_ERROR:
			if len(m.Data) >= 4 {
				if code := int32(ne.Uint32(m.Data[0:4])); code != 0 {
					return nil, unix.Errno(-code)
				}
			}
		case sockDiagByFamily:
			if len(m.Data) < unixDiagMsgLen {
				return nil, errors.New("short unix_diag reply")
			}
			return m.Data[unixDiagMsgLen:], nil
		}
	}
	return nil, unix.ENOENT
}
