package journal

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

func TestOpenStream(t *testing.T) {
	tests := []struct {
		name       string
		identifier string
		unit       string
		priority   int
		want       string // header
	}{
		{"container", "berth-abc", "berth-abc.service", 6, "berth-abc\nberth-abc.service\n6\n0\n0\n0\n0\n"},
		{"stderr priority", "web", "", 3, "web\n\n3\n0\n0\n0\n0\n"},
		{"emerg", "x", "", 0, "x\n\n0\n0\n0\n0\n0\n"},
		{"debug, empty identifier", "", "", 7, "\n\n7\n0\n0\n0\n0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t, &streamSocket)
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type result struct {
				got      string
				writeErr error
				err      error
			}
			done := make(chan result, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- result{err: err}
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				header := make([]byte, len(tt.want))
				if _, err := io.ReadFull(c, header); err != nil {
					done <- result{err: err}
					return
				}
				// The client shut down its read side before the header:
				// writing to it fails.
				_, werr := c.Write([]byte("x"))
				rest, err := io.ReadAll(c)
				done <- result{got: string(header) + string(rest), writeErr: werr, err: err}
			}()

			f, err := OpenStream(tt.identifier, tt.unit, tt.priority)
			if err != nil {
				t.Fatalf("OpenStream: %v", err)
			}
			fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
			if err != nil {
				t.Fatal(err)
			}
			if fl&unix.O_NONBLOCK != 0 {
				t.Error("stream is non-blocking; a process given it as stdout would get EAGAIN")
			}
			if _, err := f.WriteString("line one\nline two\nno newline"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r := <-done
			if r.err != nil {
				t.Fatalf("fake journald: %v", r.err)
			}
			if want := tt.want + "line one\nline two\nno newline"; r.got != want {
				t.Errorf("journald got %q\nwant %q", r.got, want)
			}
			if !errors.Is(r.writeErr, syscall.EPIPE) {
				t.Errorf("writing to the client: %v, want EPIPE (read side shut down)", r.writeErr)
			}
		})
	}
}

func TestOpenStreamErrors(t *testing.T) {
	tests := []struct {
		name       string
		identifier string
		unit       string
		priority   int
		listen     bool
		want       error
	}{
		{"priority 8", "x", "", 8, true, errdefs.ErrInvalid},
		{"priority -1", "x", "", -1, true, errdefs.ErrInvalid},
		{"newline in identifier", "a\nb", "", 6, true, errdefs.ErrInvalid},
		{"newline in unit", "a", "u\n.service", 6, true, errdefs.ErrInvalid},
		{"no journald", "x", "", 6, false, unix.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t, &streamSocket)
			if tt.listen {
				ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
			}
			f, err := OpenStream(tt.identifier, tt.unit, tt.priority)
			if err == nil {
				f.Close()
			}
			if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "journal: open stream") {
				t.Fatalf("OpenStream: %v, want %v with context", err, tt.want)
			}
		})
	}
}

// TestStreamPeer checks, on a socket pair of our own, that StreamPeer
// finds the other end and WaitStreamsDrained waits exactly until that
// end is closed.
func TestStreamPeer(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	defer ours.Close()
	peer, err := StreamPeer(ours, time.Second)
	if err != nil {
		t.Skipf("sock_diag unavailable here: %v", err)
	}
	var st unix.Stat_t
	unix.Fstat(int(theirs.Fd()), &st)
	if peer != st.Ino {
		t.Fatalf("StreamPeer = %d, want the other end's inode %d", peer, st.Ino)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := WaitStreamsDrained(ctx, []uint64{peer}); err == nil {
		t.Fatal("WaitStreamsDrained returned while the peer was open")
	}
	theirs.Close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if err := WaitStreamsDrained(ctx2, []uint64{peer}); err != nil {
		t.Fatalf("after close: %v", err)
	}
}
