package console

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockedBuffer is a log that the test reads while Relay writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Relay gives what the terminal shows to the log and to every greeted
// client, and, once done, drains the terminal and ends the clients'
// streams.
func TestRelay(t *testing.T) {
	p, err := Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer p.Close()
	fd, err := unix.Dup(int(p.Master.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(fd, true)
	master := os.NewFile(uintptr(fd), "master")
	defer master.Close()
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		Relay(master, &log, l, done, 50*time.Millisecond)
		close(ended)
	}()
	dial := func(mode byte) net.Conn {
		c, err := net.Dial("unix", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write([]byte{mode})
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != RelayGreeting {
			t.Fatalf("greeting: %v %v", b, err)
		}
		return c
	}
	clients := []net.Conn{dial(RelayNew), dial(RelayNew)}
	p.Slave.Write([]byte("first\n"))
	waitFor := func(want string) {
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(log.String(), want); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the log never got %q: %q", want, log.String())
			}
		}
	}
	waitFor("first")
	// A new client gets what comes from now on, a following one also
	// what came since the relay started.
	late, follow := dial(RelayNew), dial(RelayFollow)
	p.Slave.Write([]byte("last\n"))
	waitFor("last")
	close(done)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("Relay did not end after done")
	}
	for i, c := range clients {
		b, err := io.ReadAll(c) // ends: Relay closed it
		if err != nil || !strings.Contains(string(b), "first") || !strings.HasSuffix(string(b), "last\r\n") {
			t.Errorf("client %d read %q, %v", i, b, err)
		}
	}
	if s := log.String(); s != "first\r\nlast\r\n" {
		t.Errorf("log = %q", s)
	}
	if b, _ := io.ReadAll(late); string(b) != "last\r\n" {
		t.Errorf("a client that came late read %q, want the last line only", b)
	}
	if b, _ := io.ReadAll(follow); string(b) != "first\r\nlast\r\n" {
		t.Errorf("a following client read %q, want both lines", b)
	}
}
