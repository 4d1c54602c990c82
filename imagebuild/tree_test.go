package imagebuild

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/berth/berth/internal/testutil"
	"golang.org/x/sys/unix"
)

// layers makes layer directories (top first) from specs: "name" a file,
// "name/" a directory, "-name" a whiteout, "name/!" an opaque directory.
func layers(t *testing.T, specs ...[]string) []string {
	t.Helper()
	var dirs []string
	for _, spec := range specs {
		d := t.TempDir()
		for _, e := range spec {
			switch {
			case e[0] == '-':
				p := filepath.Join(d, e[1:])
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := unix.Mknod(p, unix.S_IFCHR, 0); err != nil {
					t.Fatal(err)
				}
			case len(e) > 2 && e[len(e)-2:] == "/!":
				p := filepath.Join(d, e[:len(e)-2])
				os.MkdirAll(p, 0o755)
				if err := unix.Setxattr(p, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
					t.Fatal(err)
				}
			case e[len(e)-1] == '/':
				os.MkdirAll(filepath.Join(d, e), 0o755)
			default:
				p := filepath.Join(d, e)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(e), 0o644)
			}
		}
		dirs = append(dirs, d)
	}
	return dirs
}

func TestViewMerged(t *testing.T) {
	testutil.RequiresRoot(t) // whiteouts are device nodes; opaque marks trusted xattrs
	dirs := layers(t,
		[]string{"a/new", "-a/gone", "-b", "c/!", "c/top"},
		[]string{"a/old", "a/gone", "b/x", "c/lower", "d/y.txt", "d/z.txt", "d/w.log"},
	)
	v, err := openView(dirs)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	tests := []struct {
		dir  string
		want []string
	}{
		{"a", []string{"new", "old"}},
		{"c", []string{"top"}},
		{"/", []string{"a", "c", "d"}},
	}
	for _, tt := range tests {
		got, err := v.readDir(tt.dir)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("readDir(%q) = %q, %v; want %q", tt.dir, got, err, tt.want)
		}
	}
	for p, want := range map[string]bool{"a/gone": false, "b/x": false, "c/lower": false, "a/old": true, "/d/y.txt": true} {
		fi, _, err := v.lstat(p)
		if err != nil || (fi != nil) != want {
			t.Errorf("lstat(%q) exists = %v, %v; want %v", p, fi != nil, err, want)
		}
	}
	got, err := v.glob("d/*.txt")
	if err != nil || !reflect.DeepEqual(got, []string{"d/y.txt", "d/z.txt"}) {
		t.Errorf("glob = %q, %v", got, err)
	}
}

func TestDiffUpper(t *testing.T) {
	testutil.RequiresRoot(t)
	lowerDirs := layers(t, []string{"etc/passwd", "keep/", "data/old", "bin/vi"})
	lower, err := openView(lowerDirs)
	if err != nil {
		t.Fatal(err)
	}
	defer lower.close()
	tests := []struct {
		name  string
		upper []string
		want  []string
	}{
		{"nothing changed", []string{"keep/", "etc/hostname", "cache/"}, nil},
		{"new file and deletion", []string{"bin/-vi", "etc/new"}, []string{"bin/", "bin/.wh.vi", "etc/", "etc/new"}},
		{"replaced directory", []string{"data/!", "data/fresh"}, []string{"data/", "data/.wh..wh..opq", "data/fresh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spec []string
			for _, e := range tt.upper {
				if i := len(e) - len(filepath.Base(e)); e[i] == '-' {
					spec = append(spec, "-"+e[:i]+e[i+1:])
					continue
				}
				spec = append(spec, e)
			}
			up := layers(t, spec)[0]
			if fi, err := os.Stat(filepath.Join(up, "etc/hostname")); err == nil && fi.Size() > 0 {
				os.WriteFile(filepath.Join(up, "etc/hostname"), nil, 0o644) // an empty mount stub
			}
			var buf bytes.Buffer
			n, err := diffUpper(up, lower, map[string]bool{"cache": true}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			tr := tar.NewReader(&buf)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, h.Name)
			}
			sort.Strings(names)
			if n != len(names) || !reflect.DeepEqual(names, tt.want) {
				t.Errorf("diff = %q (n=%d), want %q", names, n, tt.want)
			}
		})
	}
}
