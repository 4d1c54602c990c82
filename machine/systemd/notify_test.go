package systemd

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNotifyBarrier plays the service manager: it must see the state,
// then BARRIER=1 with a descriptor, and NotifyBarrier must return only
// once that descriptor is closed.
func TestNotifyBarrier(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	released := make(chan time.Time, 1)
	got := make(chan string, 2)
	go func() {
		buf, oob := make([]byte, 256), make([]byte, 256)
		for i := 0; i < 2; i++ {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			got <- string(buf[:n])
			if msgs, _ := unix.ParseSocketControlMessage(oob[:oobn]); len(msgs) == 1 {
				fds, _ := unix.ParseUnixRights(&msgs[0])
				time.Sleep(100 * time.Millisecond)
				released <- time.Now()
				for _, fd := range fds {
					unix.Close(fd)
				}
			}
		}
	}()
	if err := NotifyBarrier("MAINPID=42\nREADY=1", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	done := time.Now()
	if s := <-got; s != "MAINPID=42\nREADY=1" {
		t.Errorf("first message %q", s)
	}
	if s := <-got; !strings.HasPrefix(s, "BARRIER=1") {
		t.Errorf("second message %q", s)
	}
	if r := <-released; done.Before(r) {
		t.Errorf("NotifyBarrier returned %v before the manager closed the barrier", r.Sub(done))
	}

	t.Setenv("NOTIFY_SOCKET", "")
	if err := NotifyBarrier("READY=1", time.Second); err == nil {
		t.Error("NotifyBarrier without NOTIFY_SOCKET succeeded")
	}
}
