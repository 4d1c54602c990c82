package console

import (
	"errors"
	"os"
	"testing"
)

// Fetch finds a master among a process's descriptors by its number and
// its slave's device, and the copy it returns is the same terminal.
// The process here is the test itself (pidfd_getfd of oneself).
func TestOpenFetch(t *testing.T) {
	p, err := Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer p.Close()
	if err := SetSize(p.Master, 30, 90); err != nil {
		t.Fatal(err)
	}
	if rows, cols, ok := Size(p.Slave); !ok || rows != 30 || cols != 90 {
		t.Errorf("Size of the slave = %d, %d, %v; want 30, 90", rows, cols, ok)
	}
	if !IsTerminal(p.Slave) {
		t.Error("the slave is not a terminal")
	}
	m, err := Fetch(os.Getpid(), p.Index, p.Dev)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer m.Close()
	if _, err := m.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := p.Slave.Read(buf)
	if err != nil || string(buf[:n]) != "hi\n" {
		t.Errorf("the slave read %q, %v through the fetched master", buf[:n], err)
	}
	if _, err := Fetch(os.Getpid(), p.Index, p.Dev+1); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Fetch on another devpts = %v, want ErrNotHeld", err)
	}
	if _, err := Fetch(os.Getpid(), 1<<20, p.Dev); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Fetch of a terminal nobody holds = %v, want ErrNotHeld", err)
	}
}
