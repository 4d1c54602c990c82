package layer

import (
	"archive/tar"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// cleanName turns an entry name (or a hardlink's Linkname) into a clean
// path relative to the layer root; "." is the root itself. It refuses names
// containing NUL, absolute names and names that climb out of the root.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", refusal("name contains NUL")
	}
	if strings.HasPrefix(name, "/") {
		return "", refusal("absolute name")
	}
	rel := path.Clean(name) // "" becomes "."
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", refusal("name escapes the layer root")
	}
	return rel, nil
}

// splitName splits a clean relative name into its parent ("." at the top)
// and final component.
func splitName(rel string) (parent, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel
	}
	return rel[:i], rel[i+1:]
}

// unpacker holds the state of one Unpack call.
type unpacker struct {
	root   string // clean absolute target directory
	opts   Options
	buf    []byte
	stats  Stats
	warned map[string]bool

	// dirs caches the directories (clean relative names, "." for the root)
	// known to be real directories reached without traversing a symlink,
	// mapped to the header whose metadata is applied at the end (nil for
	// directories created implicitly). Every ancestor of a key is a key, so
	// a name that is not a key has no descendants in the cache.
	dirs map[string]*tar.Header
}

func newUnpacker(root string, opts Options, buf []byte) *unpacker {
	return &unpacker{
		root:   root,
		opts:   opts,
		buf:    buf,
		warned: make(map[string]bool),
		dirs:   map[string]*tar.Header{".": nil},
	}
}

// abs returns the host path of a clean relative name. Only use it on names
// whose parent has been checked by mkdirParents or checkParent.
func (u *unpacker) abs(rel string) string {
	return filepath.Join(u.root, rel)
}

// warn reports a degradation once per kind.
func (u *unpacker) warn(kind, msg string) {
	if u.warned[kind] || u.opts.Warn == nil {
		return
	}
	u.warned[kind] = true
	u.opts.Warn(msg)
}

// forget drops rel and everything below it from the directory cache; call
// it before a cached directory is removed or replaced.
func (u *unpacker) forget(rel string) {
	if _, ok := u.dirs[rel]; !ok {
		return
	}
	delete(u.dirs, rel)
	prefix := rel + "/"
	for k := range u.dirs {
		if strings.HasPrefix(k, prefix) {
			delete(u.dirs, k)
		}
	}
}

// checkParent refuses a directory name whose resolution inside the root
// traverses a symlink: securejoin resolves symlinks scoped to the root, so
// any traversal makes its result differ from the lexical join.
func (u *unpacker) checkParent(rel string) error {
	if _, ok := u.dirs[rel]; ok {
		return nil
	}
	resolved, err := securejoin.SecureJoin(u.root, rel)
	if errors.Is(err, unix.ELOOP) {
		return refusal("path %q traverses a symlink loop", rel)
	}
	if err != nil {
		return err
	}
	if resolved != u.abs(rel) {
		return refusal("path %q traverses a symlink", rel)
	}
	return nil
}

// mkdirParents checks the parent directory rel (see checkParent), creates
// whatever part of it is missing with mode 0755, and returns its host path.
func (u *unpacker) mkdirParents(rel string) (string, error) {
	if _, ok := u.dirs[rel]; ok {
		return u.abs(rel), nil
	}
	if err := u.checkParent(rel); err != nil {
		return "", err
	}
	for i := 0; i <= len(rel); i++ {
		if i < len(rel) && rel[i] != '/' {
			continue
		}
		if err := u.mkdirImplicit(rel[:i]); err != nil {
			return "", err
		}
	}
	return u.abs(rel), nil
}

// mkdirImplicit makes sure the cleaned relative directory rel exists and
// caches it; its parent has already been handled.
func (u *unpacker) mkdirImplicit(rel string) error {
	if _, ok := u.dirs[rel]; ok {
		return nil
	}
	p := u.abs(rel)
	err := unix.Mkdir(p, 0o755)
	switch {
	case err == nil:
		// Mkdir is subject to the umask; implicit directories are 0755.
		if err := unix.Fchmodat(unix.AT_FDCWD, p, 0o755, 0); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	case errors.Is(err, unix.EEXIST):
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return refusal("parent %q is not a directory", rel)
		}
	default:
		return &os.PathError{Op: "mkdir", Path: p, Err: err}
	}
	u.dirs[rel] = nil
	return nil
}
