package machine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/testutil"
	"golang.org/x/sys/unix"
)

// layerEntry is one file of a test layer: content for a regular file,
// link for a symlink, whiteout for a 0:0 character device.
type layerEntry struct {
	path     string
	content  string
	link     string
	whiteout bool
	dir      bool
}

func makeLayer(t *testing.T, entries ...layerEntry) string {
	t.Helper()
	dir := t.TempDir()
	for _, e := range entries {
		p := filepath.Join(dir, e.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case e.dir:
			err = os.Mkdir(p, 0o755)
		case e.whiteout:
			err = unix.Mknod(p, unix.S_IFCHR|0o000, 0)
		case e.link != "":
			err = os.Symlink(e.link, p)
		default:
			err = os.WriteFile(p, []byte(e.content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readLayers(t *testing.T, l LayersFS, name string) (string, error) {
	t.Helper()
	f, err := l.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func TestLayersFS(t *testing.T) {
	// outside is a file next to the layers that no layer may reach.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	top := makeLayer(t,
		layerEntry{path: "etc/passwd", content: "top passwd"},
		layerEntry{path: "etc/shadow", link: "/etc/shadow"},
		layerEntry{path: "etc/escape", link: "../../../../../../../../" + filepath.Join(outside, "secret")},
		layerEntry{path: "etc/abs-outside", link: filepath.Join(outside, "secret")},
		layerEntry{path: "etc/group", link: "group.real"},
		layerEntry{path: "etc/group.real", content: "top group"},
		layerEntry{path: "lower-only-link", link: "only-in-bottom"},
		layerEntry{path: "opt", dir: true},
	)
	bottom := makeLayer(t,
		layerEntry{path: "etc/passwd", content: "bottom passwd"},
		layerEntry{path: "etc/hosts", content: "bottom hosts"},
		layerEntry{path: "etc/shadow", content: "bottom shadow"},
		layerEntry{path: "only-in-bottom", content: "deep"},
		layerEntry{path: "opt/app/config", content: "bottom config"},
	)
	l, err := OpenLayers([]string{top, bottom})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	for _, tc := range []struct {
		name    string
		want    string
		err     error // errors.Is; nil: any error when wantErr
		wantErr bool
	}{
		{name: "etc/passwd", want: "top passwd"},
		{name: "etc/hosts", want: "bottom hosts"},
		{name: "only-in-bottom", want: "deep"},
		{name: "opt/app/config", want: "bottom config"},
		{name: "etc/group", want: "top group"},
		{name: "etc/shadow", wantErr: true},
		{name: "etc/escape", wantErr: true},
		{name: "etc/abs-outside", wantErr: true},
		{name: "nope", err: fs.ErrNotExist, wantErr: true},
		{name: "etc/nope", err: fs.ErrNotExist, wantErr: true},
		{name: "/etc/passwd", err: fs.ErrInvalid, wantErr: true},
		{name: "../etc/passwd", err: fs.ErrInvalid, wantErr: true},
		{name: "etc/../etc/passwd", err: fs.ErrInvalid, wantErr: true},
		{name: "etc//passwd", err: fs.ErrInvalid, wantErr: true},
		{name: "etc/passwd/", err: fs.ErrInvalid, wantErr: true},
		{name: "./etc/passwd", err: fs.ErrInvalid, wantErr: true},
		{name: "", err: fs.ErrInvalid, wantErr: true},
	} {
		got, err := readLayers(t, l, tc.name)
		switch {
		case !tc.wantErr && err != nil:
			t.Errorf("Open(%q): %v, want %q", tc.name, err, tc.want)
		case !tc.wantErr && got != tc.want:
			t.Errorf("Open(%q) = %q, want %q", tc.name, got, tc.want)
		case tc.wantErr && err == nil:
			t.Errorf("Open(%q) = %q, want an error", tc.name, got)
		case tc.wantErr && tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("Open(%q): %v, want %v", tc.name, err, tc.err)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "shadow") || strings.Contains(got, "root:") {
			t.Errorf("Open(%q) read %q from outside its layer", tc.name, got)
		}
	}

	// "." is the top layer's root: a directory.
	if f, err := l.Open("."); err != nil {
		t.Errorf(`Open("."): %v`, err)
	} else {
		fi, err := f.Stat()
		if err != nil || !fi.IsDir() {
			t.Errorf(`Open(".") is not a directory: %v %v`, fi, err)
		}
		f.Close()
	}
}

// TestLayersFSSymlinksInImage checks links that stay inside the image,
// as the container sees them: an absolute target is relative to the
// image's root, and a target may lie in another layer.
func TestLayersFSSymlinksInImage(t *testing.T) {
	top := makeLayer(t,
		layerEntry{path: "etc/passwd", link: "/etc/static/passwd"},
		layerEntry{path: "etc/group", link: "group.real"},
		layerEntry{path: "etc/hosts", link: "/etc/hosts.real"},
		layerEntry{path: "etc/hosts.real", content: "top hosts"},
		layerEntry{path: "etc/dotdot", link: "../../../../etc/hosts.real"},
	)
	bottom := makeLayer(t,
		layerEntry{path: "etc/static/passwd", content: "static passwd"},
		layerEntry{path: "etc/group.real", content: "bottom group"},
	)
	l, err := OpenLayers([]string{top, bottom})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var bugs []string
	for _, tc := range []struct{ name, want string }{
		{"etc/hosts", "top hosts"},      // absolute, same layer
		{"etc/dotdot", "top hosts"},     // ".." stops at the image's root
		{"etc/passwd", "static passwd"}, // absolute, lower layer
		{"etc/group", "bottom group"},   // relative, lower layer
	} {
		got, err := readLayers(t, l, tc.name)
		switch {
		case err != nil:
			bugs = append(bugs, fmt.Sprintf("%s: %v", tc.name, err))
		case got != tc.want:
			t.Errorf("Open(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if len(bugs) > 0 {
		t.Fatalf("machine/layerfs.go LayersFS.Open resolves a symlink only inside its own layer's os.Root, "+
			"which refuses absolute targets and cannot see other layers, so an image whose /etc/passwd is a "+
			"symlink (e.g. -> /etc/static/passwd) fails every run: %s", strings.Join(bugs, "; "))
	}
	// Resolving inside the image never reaches the host.
	if _, err := readLayers(t, l, "etc/../../x"); err == nil {
		t.Error("etc/../../x opened")
	}
}

func TestOpenLayers(t *testing.T) {
	good := t.TempDir()
	file := filepath.Join(good, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dirs []string
		n    int
		err  bool
	}{
		{"none", nil, 0, false},
		{"one", []string{good}, 1, false},
		{"missing", []string{good, filepath.Join(good, "nope")}, 0, true},
		{"a file", []string{file}, 0, true},
	} {
		l, err := OpenLayers(tc.dirs)
		if (err != nil) != tc.err || len(l) != tc.n {
			t.Errorf("%s: OpenLayers = %d layers, %v; want %d, error %v", tc.name, len(l), err, tc.n, tc.err)
		}
		l.Close()
	}
	// An empty LayersFS has nothing.
	var empty LayersFS
	if _, err := empty.Open("etc/passwd"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty LayersFS: %v, want ErrNotExist", err)
	}
}

// TestLayersFSResolveUser reads a user through LayersFS as NewContainer
// does, with the passwd file in a lower layer.
func TestLayersFSResolveUser(t *testing.T) {
	top := makeLayer(t, layerEntry{path: "etc/group", content: "app:x:1001:\n"})
	bottom := makeLayer(t, layerEntry{path: "etc/passwd", content: "app:x:1000:1001::/home/app:/bin/sh\n"})
	l, err := OpenLayers([]string{top, bottom})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := ResolveUser(l, "app")
	if err != nil || u.UID != 1000 || u.GID != 1001 || u.Home != "/home/app" {
		t.Errorf("ResolveUser(app) = %+v, %v", u, err)
	}
}

// TestLayersFSWhiteout needs mknod(2) for the 0:0 character device that
// marks a whiteout.
func TestLayersFSWhiteout(t *testing.T) {
	testutil.RequiresRoot(t)
	top := makeLayer(t,
		layerEntry{path: "etc/passwd", whiteout: true},
		layerEntry{path: "etc/hosts", content: "top hosts"},
	)
	middle := makeLayer(t,
		layerEntry{path: "etc/hosts", whiteout: true},
		layerEntry{path: "etc/group", whiteout: true},
		layerEntry{path: "etc/shadow", whiteout: true},
	)
	bottom := makeLayer(t,
		layerEntry{path: "etc/passwd", content: "bottom passwd"},
		layerEntry{path: "etc/hosts", content: "bottom hosts"},
		layerEntry{path: "etc/group", content: "bottom group"},
		layerEntry{path: "etc/motd", content: "bottom motd"},
	)
	// A file re-created above its whiteout is visible again.
	recreated := makeLayer(t, layerEntry{path: "etc/group", content: "new group"})
	l, err := OpenLayers([]string{recreated, top, middle, bottom})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		name string
		want string // "" for hidden
	}{
		{"etc/passwd", ""},
		{"etc/shadow", ""},
		{"etc/hosts", "top hosts"},
		{"etc/group", "new group"},
		{"etc/motd", "bottom motd"},
	} {
		got, err := readLayers(t, l, tc.name)
		switch {
		case tc.want == "" && !errors.Is(err, fs.ErrNotExist):
			t.Errorf("Open(%q) = %q, %v; want ErrNotExist", tc.name, got, err)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("Open(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}

	// A character device that is not 0:0 is a file, not a whiteout.
	dev := makeLayer(t)
	if err := unix.Mknod(filepath.Join(dev, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	below := makeLayer(t, layerEntry{path: "null", content: "below"})
	l2, err := OpenLayers([]string{dev, below})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got, err := readLayers(t, l2, "null"); err != nil || got != "" {
		t.Errorf("Open(null) over a 1:3 device = %q, %v; want the empty device", got, err)
	}
}

// TestLayersFSWhiteoutParent: a whiteout of a directory hides all below
// it, so a file in it is not found, as in the merged overlay.
func TestLayersFSWhiteoutParent(t *testing.T) {
	testutil.RequiresRoot(t)
	top := makeLayer(t, layerEntry{path: "etc", whiteout: true})
	bottom := makeLayer(t, layerEntry{path: "etc/passwd", content: "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n"})
	l, err := OpenLayers([]string{top, bottom})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, err := readLayers(t, l, "etc/passwd")
	if err == nil {
		t.Fatalf("Open(etc/passwd) under a whited-out etc = %q, want ErrNotExist", got)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("machine/layerfs.go LayersFS.Open: under a whited-out parent directory Lstat fails with %v, "+
			"which is not ErrNotExist, so it is returned instead of \"not found\"; ResolveUser then fails the "+
			"container for any -u (readDB treats only ErrNotExist as an empty database)", err)
	}
	if _, err := ResolveUser(l, ""); err != nil {
		t.Errorf("ResolveUser(\"\") with /etc whited out: %v, want root", err)
	}
}
