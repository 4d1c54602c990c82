package fscopy

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarOf builds an archive of entries: name → content; a name ending in
// "/" is a directory, content "->X" a symlink to X.
func tarOf(t *testing.T, entries ...[2]string) *tar.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		switch {
		case strings.HasSuffix(e[0], "/"):
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case strings.HasPrefix(e[1], "->"):
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e[1][2:], 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			io.WriteString(tw, e[1])
		}
	}
	tw.Close()
	return tar.NewReader(&b)
}

func openRoot(t *testing.T, dir string) *Root {
	t.Helper()
	r, err := OpenRoot(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// A symlink in the root that points at a directory outside it (by its
// absolute host path, or by climbing with "..") leads to the root's own
// path of that name: nothing is written outside.
func TestExtractStaysInRoot(t *testing.T) {
	me := FixedOwner(os.Getuid(), os.Getgid())
	tests := []struct {
		name, link, lands string // lands: where, inside the root
	}{
		{"absolute", "ABS", "ABS"},
		{"dotdot", "../../../../../../../..", "."},
		{"dotdot to outside", "../../../../../../../../ABS", "ABS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outside, root := t.TempDir(), t.TempDir()
			target := strings.Replace(tt.link, "ABS", outside, 1)
			if err := os.Symlink(target, filepath.Join(root, "evil")); err != nil {
				t.Fatal(err)
			}
			// The root's own copy of the path the link names.
			inside := filepath.Join(root, strings.Replace(tt.lands, "ABS", outside, 1))
			if err := os.MkdirAll(inside, 0o755); err != nil {
				t.Fatal(err)
			}
			r := openRoot(t, root)
			if err := r.ExtractTar(tarOf(t, [2]string{"evil/pwned", "x"}), "/", me); err != nil {
				t.Fatal(err)
			}
			if err := r.ExtractTar(tarOf(t, [2]string{"pwned2", "y"}), "/evil", me); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"pwned", "pwned2"} {
				if _, err := os.Stat(filepath.Join(outside, n)); err == nil {
					t.Errorf("%s was written outside the root, through the symlink", n)
				}
				if _, err := os.Stat(filepath.Join(inside, n)); err != nil {
					t.Errorf("%s is not inside the root: %v", n, err)
				}
			}
		})
	}
}

func TestExtractRefuses(t *testing.T) {
	me := FixedOwner(os.Getuid(), os.Getgid())
	tests := []struct {
		name    string
		entries [][2]string
		want    string
	}{
		{"climbing entry", [][2]string{{"../x", "x"}}, "leaves the destination"},
		{"directory over a file", [][2]string{{"f", "x"}, {"f/", ""}}, "cannot overwrite non-directory"},
		{"file over a directory", [][2]string{{"d/", ""}, {"d", "x"}}, "cannot overwrite directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := openRoot(t, t.TempDir())
			err := r.ExtractTar(tarOf(t, tt.entries...), "/", me)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ExtractTar = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// WriteTar then ExtractTar reproduces a tree: files, modes, symlinks
// (as links), hard links.
func TestRoundTrip(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(src, "d/sub"), 0o750)
	os.WriteFile(filepath.Join(src, "d/a"), []byte("aaa"), 0o640)
	os.WriteFile(filepath.Join(src, "d/sub/b"), []byte("bb"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(src, "d/link"))
	os.Link(filepath.Join(src, "d/a"), filepath.Join(src, "d/hard"))
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := openRoot(t, src).WriteTar(tw, "/d", "copy", false); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	if err := openRoot(t, dst).ExtractTar(tar.NewReader(&b), "/", FixedOwner(os.Getuid(), os.Getgid())); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p, content string
		mode       os.FileMode
	}{{"copy/a", "aaa", 0o640}, {"copy/sub/b", "bb", 0o755}, {"copy/hard", "aaa", 0o640}} {
		fi, err := os.Stat(filepath.Join(dst, c.p))
		got, _ := os.ReadFile(filepath.Join(dst, c.p))
		if err != nil || string(got) != c.content || fi.Mode().Perm() != c.mode {
			t.Errorf("%s: %v %q %v, want %q %v", c.p, err, got, fi, c.content, c.mode)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "copy/sub")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("copy/sub: %v %v, want mode 0750", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "copy/link")); l != "/etc/passwd" {
		t.Errorf("copy/link -> %q (%v), want /etc/passwd", l, err)
	}
	a, _ := os.Stat(filepath.Join(dst, "copy/a"))
	h, _ := os.Stat(filepath.Join(dst, "copy/hard"))
	if !os.SameFile(a, h) {
		t.Error("copy/hard is not a hard link of copy/a")
	}
}
