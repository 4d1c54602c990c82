package imagebuild

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// view is a root filesystem read without mounting it: layer
// directories, top first, merged as overlayfs merges them (a 0:0
// character device whites out a name, a directory with the xattr
// trusted.overlay.opaque=y hides what the layers below have in it), or
// a single plain directory (the build context). Every access goes
// through an os.Root per layer, so no symlink in an image or a context
// leads out of it. Symlinks are not followed by the view: COPY copies a
// link as a link, as Docker does.
type view struct {
	roots []*os.Root
}

func openView(dirs []string) (*view, error) {
	v := &view{}
	for _, d := range dirs {
		r, err := os.OpenRoot(d)
		if err != nil {
			v.close()
			return nil, err
		}
		v.roots = append(v.roots, r)
	}
	return v, nil
}

func (v *view) close() {
	for _, r := range v.roots {
		r.Close()
	}
}

// clean makes p relative to the view's root ("." for the root itself).
func clean(p string) string {
	p = path.Clean("/" + p)
	if p == "/" {
		return "."
	}
	return p[1:]
}

// lstat finds p (cleaned) in the topmost layer that has it: its info
// and that layer, or a nil layer when p does not exist.
func (v *view) lstat(p string) (fs.FileInfo, *os.Root, error) {
	p = clean(p)
	for _, r := range v.roots {
		fi, err := r.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			if opaqueAbove(r, p) {
				return nil, nil, nil
			}
			continue
		}
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if isWhiteout(fi) {
			return nil, nil, nil
		}
		return fi, r, nil
	}
	return nil, nil, nil
}

// opaqueAbove says whether a directory above p is opaque in layer r: the
// layers below r then cannot have p.
func opaqueAbove(r *os.Root, p string) bool {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if opaque(r, d) {
			return true
		}
	}
	return false
}

// opaque reads the overlayfs opaque mark of directory p in layer r.
func opaque(r *os.Root, p string) bool {
	f, err := r.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 4)
	n, err := unix.Fgetxattr(int(f.Fd()), "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// readDir lists directory p of the merged view, sorted.
func (v *view) readDir(p string) ([]string, error) {
	p = clean(p)
	seen := map[string]bool{}
	var names []string
	for _, r := range v.roots {
		fi, err := r.Lstat(p)
		if err != nil || !fi.IsDir() {
			if err == nil || !errors.Is(err, fs.ErrNotExist) {
				break // a file or whiteout here hides the layers below
			}
			continue
		}
		f, err := r.Open(p)
		if err != nil {
			return nil, err
		}
		ents, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			if info, err := e.Info(); err == nil && isWhiteout(info) {
				continue
			}
			names = append(names, e.Name())
		}
		if opaque(r, p) {
			break
		}
	}
	sort.Strings(names)
	return names, nil
}

// glob expands pattern (path.Match syntax per component) in the view;
// a pattern without meta characters comes back as itself when it exists.
func (v *view) glob(pattern string) ([]string, error) {
	pattern = clean(pattern)
	if !strings.ContainsAny(pattern, "*?[\\") {
		if fi, _, err := v.lstat(pattern); err != nil || fi == nil {
			return nil, err
		}
		return []string{pattern}, nil
	}
	parts := strings.Split(pattern, "/")
	cur := []string{"."}
	for _, part := range parts {
		var next []string
		for _, dir := range cur {
			if !strings.ContainsAny(part, "*?[\\") {
				p := path.Join(dir, part)
				if fi, _, err := v.lstat(p); err == nil && fi != nil {
					next = append(next, p)
				}
				continue
			}
			if fi, _, err := v.lstat(dir); err != nil || fi == nil || !fi.IsDir() {
				continue
			}
			names, err := v.readDir(dir)
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				ok, err := path.Match(part, n)
				if err != nil {
					return nil, err
				}
				if ok {
					next = append(next, path.Join(dir, n))
				}
			}
		}
		cur = next
	}
	return cur, nil
}
