package fscopy

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLstat(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "file"), []byte("hello"), 0o640)
	os.Chmod(filepath.Join(dir, "etc", "file"), 0o640|os.ModeSetuid)
	os.Symlink("file", filepath.Join(dir, "etc", "rel"))
	os.Symlink("/etc/sub", filepath.Join(dir, "etc", "abs"))
	os.Symlink("../../../../../outside", filepath.Join(dir, "etc", "escape"))
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chtimes(filepath.Join(dir, "etc", "file"), mtime, mtime)
	r := openRoot(t, dir)

	tests := []struct {
		path string
		want PathInfo
	}{
		{"/etc/file", PathInfo{Name: "file", Size: 5, Mode: 0o640 | os.ModeSetuid, Mtime: mtime}},
		{"/etc/sub/", PathInfo{Name: "sub", Mode: 0o755 | os.ModeDir}},
		{"/etc/rel", PathInfo{Name: "rel", Mode: 0o777 | os.ModeSymlink, LinkTarget: "/etc/file"}},
		{"/etc/abs", PathInfo{Name: "abs", Mode: 0o777 | os.ModeSymlink, LinkTarget: "/etc/sub"}},
		// A link's target is a path in the root, never reached here.
		{"/etc/escape", PathInfo{Name: "escape", Mode: 0o777 | os.ModeSymlink, LinkTarget: "/outside"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := r.Lstat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode&os.ModeDir != 0 || got.Mode&os.ModeSymlink != 0 { // sizes and times the test did not set
				got.Size, got.Mtime = 0, time.Time{}
			}
			if got != tt.want {
				t.Errorf("Lstat(%s) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
	if _, err := r.Lstat("/etc/nosuch"); !IsNotExist(err) {
		t.Errorf("Lstat of a missing path: %v, want not-exist", err)
	}
}
