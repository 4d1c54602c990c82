package machine

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// LayersFS is a read-only view of unpacked image layers (top first)
// merged as overlayfs would merge them, for reading the few files berth
// needs before the container runs (/etc/passwd and /etc/group for -u)
// without mounting anything. A whiteout (a 0:0 character device) hides
// the file in the layers below it; symlinks are resolved by LayersFS
// itself within the merged view, so they cannot leave the image, and
// each layer is an os.Root. Opaque directories are not honoured: a file below an
// opaque directory stays visible, which only matters for files that an
// upper layer deleted by replacing their whole directory.
type LayersFS []*os.Root

// OpenLayers opens dirs (top first) as a LayersFS; Close closes them.
func OpenLayers(dirs []string) (LayersFS, error) {
	var l LayersFS
	for _, d := range dirs {
		r, err := os.OpenRoot(d)
		if err != nil {
			l.Close()
			return nil, err
		}
		l = append(l, r)
	}
	return l, nil
}

// Close closes every layer.
func (l LayersFS) Close() {
	for _, r := range l {
		r.Close()
	}
}

// Open opens name from the topmost layer that has it. Symlinks are
// followed through the merged view, as the kernel would in the mounted
// container: an absolute target starts again at the image's root, ".."
// stops there, and a link may point into another layer.
func (l LayersFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	notExist := &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	rest := strings.Split(name, "/")
	if name == "." {
		rest = nil
	}
	var done []string // resolved components, with no symlink among them
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		p := path.Join(append(done, c)...)
		r, fi, err := l.lookup(p)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, notExist
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if hops++; hops > 40 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ELOOP}
		}
		target, err := r.Readlink(p)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	p := path.Join(done...)
	if p == "" {
		p = "."
	}
	r, _, err := l.lookup(p)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notExist
	}
	return r.FS().Open(p)
}

// lookup finds the topmost layer that has p (whose parents hold no
// symlinks) and its lstat; a nil layer when p does not exist in the
// merged view (absent everywhere, or whited out above the layers that
// have it).
func (l LayersFS) lookup(p string) (*os.Root, fs.FileInfo, error) {
	for _, r := range l {
		fi, err := r.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if errors.Is(err, syscall.ENOTDIR) {
			// A parent is a whiteout or a file in this layer: hidden.
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if isWhiteout(fi) {
			return nil, nil, nil
		}
		return r, fi, nil
	}
	return nil, nil, nil
}

func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}
