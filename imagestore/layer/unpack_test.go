package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// ent is one tar entry to build: a header and, for regular files, a body.
type ent struct {
	tar.Header
	body string
}

var epoch = time.Unix(1600000000, 0)

func dirEnt(name string, mode int64) ent {
	return ent{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch}}
}

func fileEnt(name string, mode int64, body string) ent {
	return ent{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, ModTime: epoch}, body: body}
}

func symlinkEnt(name, target string) ent {
	return ent{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func linkEnt(name, target string) ent {
	return ent{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: epoch}}
}

func typeEnt(name string, typ byte) ent {
	return ent{Header: tar.Header{Typeflag: typ, Name: name, Mode: 0o644, ModTime: epoch, Devmajor: 1, Devminor: 3}}
}

// buildTar writes ents into an in-memory tar stream.
func buildTar(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		hdr := e.Header
		hdr.Size = int64(len(e.body))
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("write header %q: %v", hdr.Name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatalf("write body %q: %v", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func isRoot() bool { return os.Geteuid() == 0 }

func requireRoot(t *testing.T) {
	t.Helper()
	if !isRoot() {
		t.Skip("needs root: mknod, trusted.* xattrs and chown")
	}
}

// unpackInto makes parent/root and unpacks data there.
func unpackInto(t *testing.T, parent string, data []byte, opts Options) (string, Stats, error) {
	t.Helper()
	root := filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := Unpack(context.Background(), bytes.NewReader(data), root, opts)
	return root, st, err
}

// describe lists the tree under root as rel name -> "kind mode detail".
func describe(t *testing.T, root string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		perm := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			out[rel] = fmt.Sprintf("dir %04o", perm)
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %04o %q", perm, b)
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "symlink " + target
		case unix.S_IFIFO:
			out[rel] = fmt.Sprintf("fifo %04o", perm)
		case unix.S_IFCHR:
			out[rel] = fmt.Sprintf("char %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		default:
			out[rel] = fmt.Sprintf("mode %o", st.Mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTree(t *testing.T, got, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: got %q, want %q", k, got[k], want[k])
		}
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		name, want string
		refused    bool
	}{
		{name: "a/b", want: "a/b"},
		{name: "./a/b/", want: "a/b"},
		{name: "a//b/./c", want: "a/b/c"},
		{name: "a/../b", want: "b"},
		{name: "a/..", want: "."},
		{name: "", want: "."},
		{name: "./", want: "."},
		{name: "..", refused: true},
		{name: "../escape", refused: true},
		{name: "a/../../escape", refused: true},
		{name: "/etc/passwd", refused: true},
		{name: "a\x00b", refused: true},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.name)
		if tt.refused {
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Errorf("cleanName(%q) = %q, %v; want ErrInvalid", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestUnpackTree(t *testing.T) {
	longDir := "long/" + strings.Repeat("d", 120)
	longFile := longDir + "/" + strings.Repeat("f", 120)
	longTarget := "/" + strings.Repeat("t", 150)
	withXattr := fileEnt("etc/xattr", 0o600, "x")
	withXattr.PAXRecords = map[string]string{"SCHILY.xattr.user.berth": "value"}
	setuid := fileEnt("usr/bin/su", 0o4755, "su")
	ro := dirEnt("ro/", 0o555)

	for _, format := range []tar.Format{tar.FormatPAX, tar.FormatGNU} {
		t.Run(format.String(), func(t *testing.T) {
			ents := []ent{
				dirEnt("./", 0o755),
				dirEnt("usr/", 0o755),
				dirEnt("usr/bin/", 0o755),
				fileEnt("usr/bin/tool", 0o755, "#!/bin/sh\n"),
				setuid,
				symlinkEnt("usr/bin/sh", "/bin/bash"),
				linkEnt("usr/bin/tool2", "usr/bin/tool"),
				fileEnt("etc/passwd", 0o644, "root:x:0:0::/root:/bin/sh\n"), // implicit parent
				typeEnt("run/fifo", tar.TypeFifo),
				fileEnt(longFile, 0o644, "long"),
				symlinkEnt("long/link", longTarget),
				linkEnt("long/hard", longFile),
				withXattr,
				ro,
				fileEnt("ro/file", 0o444, "ro"),
				fileEnt("empty", 0o600, ""),
			}
			for i := range ents {
				if format == tar.FormatGNU {
					ents[i].Format = format
					ents[i].PAXRecords = nil // GNU has no PAX records
				}
			}
			opts := Options{Privileged: isRoot()}
			root, stats, err := unpackInto(t, t.TempDir(), buildTar(t, ents...), opts)
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			// Let the TempDir cleanup remove ro/file when not root.
			t.Cleanup(func() { os.Chmod(filepath.Join(root, "ro"), 0o755) })
			if stats.Entries != len(ents) {
				t.Errorf("Entries = %d, want %d", stats.Entries, len(ents))
			}
			diffTree(t, describe(t, root), map[string]string{
				"usr":           "dir 0755",
				"usr/bin":       "dir 0755",
				"usr/bin/tool":  "file 0755 \"#!/bin/sh\\n\"",
				"usr/bin/tool2": "file 0755 \"#!/bin/sh\\n\"",
				"usr/bin/su":    "file 4755 \"su\"", // chmod after chown keeps setuid
				"usr/bin/sh":    "symlink /bin/bash",
				"etc":           "dir 0755",
				"etc/passwd":    "file 0644 \"root:x:0:0::/root:/bin/sh\\n\"",
				"etc/xattr":     "file 0600 \"x\"",
				"run":           "dir 0755",
				"run/fifo":      "fifo 0644",
				"long":          "dir 0755",
				longDir:         "dir 0755",
				longFile:        "file 0644 \"long\"",
				"long/link":     "symlink " + longTarget,
				"long/hard":     "file 0644 \"long\"",
				"ro":            "dir 0555",
				"ro/file":       "file 0444 \"ro\"",
				"empty":         "file 0600 \"\"",
			})
			if want := int64(len("#!/bin/sh\n") + len("su") + len("root:x:0:0::/root:/bin/sh\n") + len("long") + len("x") + len("ro")); stats.Bytes != want {
				t.Errorf("Bytes = %d, want %d", stats.Bytes, want)
			}

			// Explicit entries keep their mtime, directories included
			// (children were written after them); implicit ones do not.
			for _, name := range []string{".", "usr", "usr/bin", "usr/bin/tool", "usr/bin/sh", "run/fifo", "ro", longFile} {
				fi, err := os.Lstat(filepath.Join(root, name))
				if err != nil {
					t.Fatal(err)
				}
				if !fi.ModTime().Equal(epoch) {
					t.Errorf("%s: mtime %v, want %v", name, fi.ModTime(), epoch)
				}
			}
			same(t, filepath.Join(root, "usr/bin/tool"), filepath.Join(root, "usr/bin/tool2"))
			same(t, filepath.Join(root, longFile), filepath.Join(root, "long/hard"))

			if format == tar.FormatPAX {
				val := make([]byte, 64)
				n, err := unix.Lgetxattr(filepath.Join(root, "etc/xattr"), "user.berth", val)
				if err != nil || string(val[:n]) != "value" {
					t.Errorf("user.berth xattr = %q, %v; want \"value\"", val[:n], err)
				}
			}
		})
	}
}

// same fails unless a and b are the same inode.
func same(t *testing.T, a, b string) {
	t.Helper()
	fa, err := os.Lstat(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Lstat(b)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fa, fb) {
		t.Errorf("%s and %s are not hardlinked", a, b)
	}
}

func TestUnpackSparse(t *testing.T) {
	// Made with GNU tar 1.34 from a 3 MiB file holding "hello" at 0 and
	// "world" at 2 MiB: --sparse --format=gnu (old GNU 'S' entries) and
	// --format=posix --sparse-version=1.0 (PAX GNU.sparse.* records).
	for _, name := range []string{"sparse-gnu.tar", "sparse-pax.tar"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			root, stats, err := unpackInto(t, t.TempDir(), data, Options{Privileged: isRoot()})
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(root, "sparse"))
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, 3<<20)
			copy(want, "hello")
			copy(want[2<<20:], "world")
			if !bytes.Equal(got, want) {
				t.Errorf("sparse file content differs (len %d)", len(got))
			}
			if stats.Bytes != 3<<20 || stats.Entries != 1 {
				t.Errorf("stats = %+v, want 1 entry of 3 MiB", stats)
			}
		})
	}
}

// snapshot records everything under parent except the root directory, so a
// test can prove that unpacking wrote nothing outside root.
func snapshot(t *testing.T, parent string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == filepath.Join(parent, "root") {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		out[p] = fmt.Sprintf("mode=%o size=%d nlink=%d mtime=%d.%d", st.Mode, st.Size, st.Nlink, st.Mtim.Sec, st.Mtim.Nsec)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnpackHostile(t *testing.T) {
	tests := []struct {
		name string
		// ents builds the layer; parent is the directory holding root,
		// parent/sentinel/{keep,e/} and parent/outside.
		ents func(parent string) []ent
		// contained: the layer is accepted, but must stay inside root.
		contained bool
	}{
		{name: "dotdot", ents: func(string) []ent { return []ent{fileEnt("../escape", 0o644, "x")} }},
		{name: "dotdot inside", ents: func(string) []ent { return []ent{fileEnt("a/../../escape", 0o644, "x")} }},
		{name: "absolute", ents: func(string) []ent { return []ent{fileEnt("/etc/passwd", 0o644, "x")} }},
		{name: "absolute dir", ents: func(string) []ent { return []ent{dirEnt("/", 0o755)} }},
		{name: "file as root", ents: func(string) []ent { return []ent{fileEnt(".", 0o644, "x")} }},
		{name: "symlink to parent then write", ents: func(parent string) []ent {
			return []ent{symlinkEnt("evil", parent), fileEnt("evil/x", 0o644, "x")}
		}},
		{name: "symlink to dotdot then write", ents: func(string) []ent {
			return []ent{symlinkEnt("evil", ".."), fileEnt("evil/x", 0o644, "x")}
		}},
		{name: "symlink to slash then write", ents: func(parent string) []ent {
			return []ent{symlinkEnt("evil", "/"), fileEnt("evil"+parent+"/x", 0o644, "x")}
		}},
		{name: "symlink chain then mkdir", ents: func(parent string) []ent {
			return []ent{symlinkEnt("a", "b"), symlinkEnt("b", parent), dirEnt("a/x/", 0o755)}
		}},
		{name: "symlink loop", ents: func(string) []ent {
			return []ent{symlinkEnt("a", "b"), symlinkEnt("b", "a"), fileEnt("a/x", 0o644, "x")}
		}},
		{name: "symlink then hardlink through it", ents: func(parent string) []ent {
			return []ent{symlinkEnt("evil", parent), linkEnt("h", "evil/outside")}
		}},
		{name: "hardlink outside", ents: func(string) []ent { return []ent{linkEnt("h", "../outside")} }},
		{name: "hardlink absolute", ents: func(parent string) []ent {
			return []ent{linkEnt("h", filepath.Join(parent, "outside"))}
		}},
		{name: "hardlink missing", ents: func(string) []ent { return []ent{linkEnt("h", "nope")} }},
		{name: "hardlink to dir", ents: func(string) []ent { return []ent{dirEnt("d/", 0o755), linkEnt("h", "d")} }},
		{name: "hardlink to itself", ents: func(string) []ent { return []ent{fileEnt("h", 0o644, "x"), linkEnt("h", "h")} }},
		{name: "char device", ents: func(string) []ent { return []ent{typeEnt("null", tar.TypeChar)} }},
		{name: "block device", ents: func(string) []ent { return []ent{typeEnt("sda", tar.TypeBlock)} }},
		{name: "whiteout dot", ents: func(string) []ent { return []ent{fileEnt(".wh..", 0, "")} }},
		{name: "whiteout empty", ents: func(string) []ent { return []ent{fileEnt("d/.wh.", 0, "")} }},
		{name: "dir replaced by symlink then write", ents: func(parent string) []ent {
			return []ent{
				dirEnt("d/", 0o755),
				symlinkEnt("d", filepath.Join(parent, "sentinel")),
				fileEnt("d/f", 0o644, "x"),
			}
		}},
		{name: "cached subdir replaced through parent symlink", ents: func(parent string) []ent {
			return []ent{
				dirEnt("d/", 0o755),
				dirEnt("d/e/", 0o755),
				fileEnt("d/e/ok", 0o644, "x"),
				symlinkEnt("d", filepath.Join(parent, "sentinel")),
				fileEnt("d/e/f", 0o644, "x"),
			}
		}},
		{name: "symlink replaced by file", contained: true, ents: func(parent string) []ent {
			return []ent{symlinkEnt("f", filepath.Join(parent, "outside")), fileEnt("f", 0o644, "new")}
		}},
		{name: "symlink replaced by dir", contained: true, ents: func(parent string) []ent {
			return []ent{
				symlinkEnt("d", filepath.Join(parent, "sentinel")),
				dirEnt("d/", 0o700),
				fileEnt("d/keep", 0o644, "new"),
			}
		}},
		{name: "symlink replaced by fifo", contained: true, ents: func(parent string) []ent {
			return []ent{symlinkEnt("f", filepath.Join(parent, "outside")), typeEnt("f", tar.TypeFifo)}
		}},
		{name: "hardlink to symlink links the symlink", contained: true, ents: func(parent string) []ent {
			return []ent{symlinkEnt("s", filepath.Join(parent, "outside")), linkEnt("h", "s")}
		}},
		{name: "dangling absolute symlinks", contained: true, ents: func(string) []ent {
			return []ent{symlinkEnt("etc/shadow", "/etc/shadow"), symlinkEnt("up", "../../..")}
		}},
		{name: "dotdot that stays inside", contained: true, ents: func(string) []ent {
			return []ent{fileEnt("a/../b", 0o644, "x")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			mustWrite(t, filepath.Join(parent, "sentinel", "keep"), "keep")
			mustWrite(t, filepath.Join(parent, "sentinel", "e", "keep"), "keep")
			mustWrite(t, filepath.Join(parent, "outside"), "outside")
			data := buildTar(t, tt.ents(parent)...)
			root := filepath.Join(parent, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, parent)

			_, err := Unpack(context.Background(), bytes.NewReader(data), root, Options{Privileged: isRoot()})
			if tt.contained {
				if err != nil {
					t.Fatalf("Unpack: %v", err)
				}
			} else {
				var ee *EntryError
				if !errors.Is(err, errdefs.ErrInvalid) || !errors.As(err, &ee) {
					t.Fatalf("Unpack = %v; want an *EntryError wrapping ErrInvalid", err)
				}
				t.Logf("refused: %v", err)
			}
			if after := snapshot(t, parent); !mapsEqual(before, after) {
				t.Errorf("something outside root changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnpackReplace(t *testing.T) {
	ents := []ent{
		dirEnt("d/", 0o755),
		fileEnt("d/f", 0o644, "in d"),
		fileEnt("d", 0o600, "d is a file now"), // dir replaced by file
		fileEnt("e", 0o644, "e"),
		dirEnt("e/", 0o700), // file replaced by dir
		fileEnt("e/f", 0o644, "in e"),
		dirEnt("k/", 0o755),
		fileEnt("k/f", 0o644, "kept"),
		dirEnt("k/", 0o711), // existing dir kept, metadata updated
		fileEnt("r", 0o644, "old"),
		fileEnt("r", 0o640, "new"),
		symlinkEnt("s", "old"),
		symlinkEnt("s", "new"),
		fileEnt("x", 0o644, "x"),
		linkEnt("y", "x"),
		symlinkEnt("x", "/elsewhere"), // y keeps the old inode
	}
	root, _, err := unpackInto(t, t.TempDir(), buildTar(t, ents...), Options{Privileged: isRoot()})
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	diffTree(t, describe(t, root), map[string]string{
		"d":   "file 0600 \"d is a file now\"",
		"e":   "dir 0700",
		"e/f": "file 0644 \"in e\"",
		"k":   "dir 0711",
		"k/f": "file 0644 \"kept\"",
		"r":   "file 0640 \"new\"",
		"s":   "symlink new",
		"x":   "symlink /elsewhere",
		"y":   "file 0644 \"x\"",
	})
}

func TestUnpackWhiteouts(t *testing.T) {
	requireRoot(t)
	ents := []ent{
		fileEnt(".wh.foo", 0o644, ""),
		dirEnt("d/", 0o755),
		fileEnt("d/.wh..wh..opq", 0o644, ""),
		fileEnt("d/new", 0o644, "new"),
		fileEnt("e/.wh.bar", 0o644, ""), // implicit parent
		fileEnt("keep", 0o644, "keep"),
		fileEnt(".wh.keep", 0o644, ""), // same layer: keep stays
		dirEnt("x/", 0o755),
		fileEnt("x/a", 0o644, "a"),
		fileEnt(".wh.x", 0o644, ""), // same layer dir: stays, becomes opaque
		fileEnt(".wh.y", 0o644, ""),
		dirEnt("y/", 0o755), // recreated after its whiteout: opaque
		dirEnt(".wh..wh.plnk/", 0o700),
		fileEnt(".wh..wh.plnk/123.456", 0o644, "aufs"),
		fileEnt(".wh..wh.aufs", 0o644, ""),
	}
	var warnings []string
	opts := Options{Privileged: true, Warn: func(msg string) { warnings = append(warnings, msg) }}
	root, stats, err := unpackInto(t, t.TempDir(), buildTar(t, ents...), opts)
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	diffTree(t, describe(t, root), map[string]string{
		"foo":   "char 0:0",
		"d":     "dir 0755",
		"d/new": "file 0644 \"new\"",
		"e":     "dir 0755",
		"e/bar": "char 0:0",
		"keep":  "file 0644 \"keep\"",
		"x":     "dir 0755",
		"x/a":   "file 0644 \"a\"",
		"y":     "dir 0755",
	})
	for _, dir := range []string{"d", "x", "y"} {
		if got := opaque(t, filepath.Join(root, dir)); got != "y" {
			t.Errorf("%s: trusted.overlay.opaque = %q, want \"y\"", dir, got)
		}
	}
	for _, dir := range []string{".", "e"} {
		if got := opaque(t, filepath.Join(root, dir)); got != "" {
			t.Errorf("%s: trusted.overlay.opaque = %q, want none", dir, got)
		}
	}
	if want := len(ents) - 3; stats.Entries != want {
		t.Errorf("Entries = %d, want %d", stats.Entries, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "AUFS") {
		t.Errorf("warnings = %q, want one about AUFS metadata", warnings)
	}
}

// opaque returns the trusted.overlay.opaque xattr of p, "" if unset.
func opaque(t *testing.T, p string) string {
	t.Helper()
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(p, opaqueXattr, buf)
	if errors.Is(err, unix.ENODATA) {
		return ""
	}
	if err != nil {
		t.Fatalf("getxattr %s: %v", p, err)
	}
	return string(buf[:n])
}

func TestUnpackUnprivileged(t *testing.T) {
	trusted := fileEnt("f", 0o644, "x")
	trusted.PAXRecords = map[string]string{"SCHILY.xattr.trusted.berth": "1"}
	tests := []struct {
		name string
		ent  ent
	}{
		{"whiteout", fileEnt(".wh.foo", 0o644, "")},
		{"opaque", fileEnt("d/.wh..wh..opq", 0o644, "")},
		{"trusted xattr", trusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := unpackInto(t, t.TempDir(), buildTar(t, tt.ent), Options{})
			var ee *EntryError
			if !errors.Is(err, ErrNotPrivileged) || !errors.As(err, &ee) || errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("Unpack = %v; want an *EntryError wrapping ErrNotPrivileged", err)
			}
		})
	}

	t.Run("ownership ignored", func(t *testing.T) {
		f := fileEnt("f", 0o644, "x")
		f.Uid, f.Gid = 1234, 5678
		root, _, err := unpackInto(t, t.TempDir(), buildTar(t, f), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, "f"), &st); err != nil {
			t.Fatal(err)
		}
		if int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid() {
			t.Errorf("owner %d:%d, want the caller's %d:%d", st.Uid, st.Gid, os.Geteuid(), os.Getegid())
		}
	})
}

func TestUnpackOwnership(t *testing.T) {
	requireRoot(t)
	f := fileEnt("bin/su", 0o4755, "su")
	f.Uid, f.Gid = 1234, 5678
	d := dirEnt("home/u/", 0o2750)
	d.Uid, d.Gid = 1000, 1001
	l := symlinkEnt("home/u/link", "/nowhere")
	l.Uid, l.Gid = 42, 43
	p := typeEnt("fifo", tar.TypeFifo)
	p.Uid, p.Gid = 7, 8
	root, _, err := unpackInto(t, t.TempDir(), buildTar(t, f, d, l, p), Options{Privileged: true})
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	for _, want := range []struct {
		name     string
		uid, gid uint32
		mode     uint32
	}{
		{"bin/su", 1234, 5678, 0o4755},
		{"home/u", 1000, 1001, 0o2750},
		{"home/u/link", 42, 43, 0o777},
		{"fifo", 7, 8, 0o644},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, want.name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want.uid || st.Gid != want.gid || st.Mode&0o7777 != want.mode {
			t.Errorf("%s: %d:%d %04o, want %d:%d %04o", want.name, st.Uid, st.Gid, st.Mode&0o7777, want.uid, want.gid, want.mode)
		}
	}
}

func TestUnpackXattrPolicy(t *testing.T) {
	var ents []ent
	for _, name := range []string{"a", "b"} {
		e := fileEnt(name, 0o644, name)
		e.PAXRecords = map[string]string{
			"SCHILY.xattr.user.ok":                  "1",
			"SCHILY.xattr.trusted.overlay.redirect": "/etc",
			"SCHILY.xattr.system.berth":             "1",
		}
		ents = append(ents, e)
	}
	var warnings []string
	opts := Options{Privileged: isRoot(), Warn: func(msg string) { warnings = append(warnings, msg) }}
	root, _, err := unpackInto(t, t.TempDir(), buildTar(t, ents...), opts)
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	if len(warnings) != 2 {
		t.Errorf("warnings = %q, want one per kind (2)", warnings)
	}
	for _, name := range []string{"a", "b"} {
		p := filepath.Join(root, name)
		buf := make([]byte, 64)
		if _, err := unix.Lgetxattr(p, "trusted.overlay.redirect", buf); !errors.Is(err, unix.ENODATA) {
			t.Errorf("%s: trusted.overlay.redirect: %v, want ENODATA", name, err)
		}
		if n, err := unix.Lgetxattr(p, "user.ok", buf); err != nil || string(buf[:n]) != "1" {
			t.Errorf("%s: user.ok = %q, %v", name, buf[:n], err)
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestUnpackReadsToEOF(t *testing.T) {
	small := buildTar(t, dirEnt("d/", 0o755), fileEnt("d/f", 0o644, "hello"))
	// GNU tar pads the archive to a 10 KiB record after the trailer.
	padded := append(slices.Clone(small), make([]byte, 10240-len(small)%10240)...)
	sparse, err := os.ReadFile("testdata/sparse-pax.tar")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"writer": small, "padded": padded, "gnu-tar": sparse} {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			cr := &countingReader{r: bytes.NewReader(data)}
			if _, err := Unpack(context.Background(), cr, root, Options{Privileged: isRoot()}); err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if cr.n != len(data) {
				t.Errorf("read %d bytes, want all %d", cr.n, len(data))
			}
		})
	}
}

func TestUnpackCancelled(t *testing.T) {
	data := buildTar(t, fileEnt("f", 0o644, "x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := t.TempDir()
	_, err := Unpack(ctx, bytes.NewReader(data), root, Options{})
	if err != ctx.Err() {
		t.Fatalf("Unpack = %v, want %v", err, ctx.Err())
	}
	if names, _ := os.ReadDir(root); len(names) != 0 {
		t.Errorf("cancelled Unpack wrote %v", names)
	}
}

func TestUnpackTarget(t *testing.T) {
	data := buildTar(t, fileEnt("f", 0o644, "x"))
	notEmpty := t.TempDir()
	mustWrite(t, filepath.Join(notEmpty, "old"), "old")
	if _, err := Unpack(context.Background(), bytes.NewReader(data), notEmpty, Options{}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("non-empty dir: Unpack = %v, want ErrInvalid", err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := Unpack(context.Background(), bytes.NewReader(data), missing, Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: Unpack = %v, want ErrNotExist", err)
	}
}

func TestUnpackMalformed(t *testing.T) {
	data := buildTar(t, fileEnt("f", 0o644, strings.Repeat("x", 2000)))
	_, _, err := unpackInto(t, t.TempDir(), data[:1500], Options{})
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("truncated tar: Unpack = %v, want ErrInvalid", err)
	}
}

func TestEntryErrorString(t *testing.T) {
	err := &EntryError{Name: "../x", Op: "check name", Err: refusal("name escapes the layer root")}
	want := `layer entry "../x": check name: name escapes the layer root: invalid argument`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
