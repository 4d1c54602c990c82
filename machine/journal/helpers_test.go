package journal

import (
	"os"
	"path/filepath"
	"testing"
)

// socketPath returns a path for a fake journald socket in a fresh
// directory short enough for sun_path (108 bytes), and points *v at it
// for the test's duration.
func socketPath(t *testing.T, v *string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "journal-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "sock")
	old := *v
	*v = p
	t.Cleanup(func() { *v = old })
	return p
}
