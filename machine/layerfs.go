package machine

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// LayersFS is a read-only view of unpacked image layers (top first)
// merged as overlayfs would merge them, for reading the few files berth
// needs before the container runs (/etc/passwd and /etc/group for -u)
// without mounting anything. A whiteout (a 0:0 character device) hides
// the file in the layers below it; each layer is an os.Root, so symlinks
// cannot leave it. Opaque directories are not honoured: a file below an
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

// Open opens name from the topmost layer that has it.
func (l LayersFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	for _, r := range l {
		fi, err := r.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if isWhiteout(fi) {
			break
		}
		return r.FS().Open(name)
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}
