package layer

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// entry applies one tar entry. r reads the entry's contents.
func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX global header: carries no file
	}
	fail := func(op string, err error) error {
		return &EntryError{Name: hdr.Name, Op: op, Err: err}
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return fail("check name", err)
	}
	if isAUFSMeta(rel) {
		u.warn("aufs", "skipping AUFS metadata entries (.wh..wh.*) in layer")
		return nil
	}
	if rel == "." {
		if hdr.Typeflag != tar.TypeDir {
			return fail("check name", refusal("non-directory entry for the layer root"))
		}
		u.dirs["."] = hdr
		u.stats.Entries++
		return nil
	}
	parent, base := splitName(rel)
	if wh, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if err := u.whiteout(parent, wh); err != nil {
			return fail("whiteout", err)
		}
		u.stats.Entries++
		return nil
	}

	op, err := u.create(hdr, r, rel, parent, base)
	if err != nil {
		return fail(op, err)
	}
	u.stats.Entries++
	return nil
}

// create extracts a non-whiteout entry at rel (parent/base) and returns the
// failing operation's name with any error.
func (u *unpacker) create(hdr *tar.Header, r io.Reader, rel, parent, base string) (string, error) {
	// Check everything about the entry itself before touching the disk.
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		return "check type", refusal("device nodes are not allowed in layers")
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
			return "check symlink", refusal("symlink target is empty or contains NUL")
		}
	case tar.TypeLink:
		return u.hardlink(hdr, rel, parent, base)
	case tar.TypeDir, tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont, tar.TypeFifo:
	default:
		return "check type", refusal("unsupported entry type %q", hdr.Typeflag)
	}

	parentPath, err := u.mkdirParents(parent)
	if err != nil {
		return "parent", err
	}
	// The parent is checked and base is one component that is neither ""
	// nor "." nor "..": p names the entry itself, which is never followed.
	p := parentPath + "/" + base

	switch hdr.Typeflag {
	case tar.TypeDir:
		return "mkdir", u.mkdir(hdr, rel, p)
	case tar.TypeSymlink:
		err := u.replace(rel, p, func() error { return unix.Symlink(hdr.Linkname, p) })
		if err != nil {
			return "symlink", err
		}
		return "metadata", u.applyMeta(hdr, p, -1)
	case tar.TypeFifo:
		err := u.replace(rel, p, func() error { return unix.Mkfifo(p, 0o600) })
		if err != nil {
			return "mkfifo", err
		}
		return "metadata", u.applyMeta(hdr, p, -1)
	default:
		return u.regular(hdr, r, rel, p)
	}
}

// replace runs create, which makes a new object at p and fails with EEXIST
// if something is in the way; it then removes what is there (never following
// it) and runs create once more. Trying first saves an lstat per entry in
// the common case of a fresh name.
func (u *unpacker) replace(rel, p string, create func() error) error {
	err := create()
	if !errors.Is(err, unix.EEXIST) {
		return wrapPath("create", p, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if err := u.remove(rel, p, fi); err != nil {
		return err
	}
	return wrapPath("create", p, create())
}

// remove deletes the existing object at p, described by fi. Only a
// directory is removed recursively (os.RemoveAll does not follow symlinks).
func (u *unpacker) remove(rel, p string, fi os.FileInfo) error {
	if fi.IsDir() {
		u.forget(rel)
		return os.RemoveAll(p)
	}
	return wrapPath("unlink", p, unix.Unlink(p))
}

// mkdir extracts a directory entry. An existing directory is kept (a later
// entry for it updates its metadata); anything else is replaced. Metadata is
// applied by finishDirs.
func (u *unpacker) mkdir(hdr *tar.Header, rel, p string) error {
	err := unix.Mkdir(p, 0o700)
	if errors.Is(err, unix.EEXIST) {
		err = u.replaceWithDir(rel, p)
	}
	if err != nil {
		return wrapPath("mkdir", p, err)
	}
	u.dirs[rel] = hdr
	return nil
}

func (u *unpacker) replaceWithDir(rel, p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return nil // cached already: every directory under root was made by us
	}
	if err := u.remove(rel, p, fi); err != nil {
		return err
	}
	if err := unix.Mkdir(p, 0o700); err != nil {
		return err
	}
	if isWhiteoutDevice(fi) {
		// This layer deleted rel from the lower layers, then recreated it
		// as a directory: lower contents must stay hidden.
		return u.setOpaque(p)
	}
	return nil
}

// regular extracts a regular file: created exclusively and without
// following a symlink, filled from r, then given its metadata through the
// open descriptor.
func (u *unpacker) regular(hdr *tar.Header, r io.Reader, rel, p string) (string, error) {
	var f *os.File
	err := u.replace(rel, p, func() error {
		var err error
		f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
		return err
	})
	if err != nil {
		return "create", err
	}
	n, err := io.CopyBuffer(writerOnly{f}, r, u.buf)
	u.stats.Bytes += n
	if err != nil {
		f.Close()
		return "write", classify(err)
	}
	if err := u.applyMeta(hdr, p, int(f.Fd())); err != nil {
		f.Close()
		return "metadata", err
	}
	return "close", f.Close()
}

// writerOnly hides (*os.File).ReadFrom, whose fallback would allocate its
// own buffer instead of using ours.
type writerOnly struct{ io.Writer }

// hardlink extracts a hardlink. Its target must already exist inside the
// root, be reachable without traversing a symlink, and not be a directory.
func (u *unpacker) hardlink(hdr *tar.Header, rel, parent, base string) (string, error) {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return "check link target", err
	}
	if target == rel {
		return "check link target", refusal("hardlink to itself")
	}
	targetPath, err := u.existingLinkTarget(target)
	if err != nil {
		return "check link target", err
	}
	parentPath, err := u.mkdirParents(parent)
	if err != nil {
		return "parent", err
	}
	p := parentPath + "/" + base
	// linkat without AT_SYMLINK_FOLLOW links a symlink itself, never its
	// target.
	err = u.replace(rel, p, func() error {
		return unix.Linkat(unix.AT_FDCWD, targetPath, unix.AT_FDCWD, p, 0)
	})
	return "link", err
}

// existingLinkTarget resolves a hardlink target and checks that it exists
// and is not a directory.
func (u *unpacker) existingLinkTarget(target string) (string, error) {
	if target == "." {
		return "", refusal("hardlink to a directory")
	}
	parent, _ := splitName(target)
	if err := u.checkParent(parent); err != nil {
		return "", err
	}
	p := u.abs(target)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
		return "", refusal("hardlink target %q does not exist", target)
	case err != nil:
		return "", err
	case fi.IsDir():
		return "", refusal("hardlink to directory %q", target)
	}
	return p, nil
}

// wrapPath wraps a bare errno as an *os.PathError; nil stays nil.
func wrapPath(op, p string, err error) error {
	if errno, ok := err.(unix.Errno); ok {
		return &os.PathError{Op: op, Path: p, Err: errno}
	}
	return err
}
