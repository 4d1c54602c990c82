package layer

import (
	"archive/tar"
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// paxXattrPrefix prefixes the PAX records that carry xattrs.
const paxXattrPrefix = "SCHILY.xattr."

// applyMeta applies hdr's ownership (when privileged), permission bits,
// xattrs and times to the object at p, in that order: chown clears setuid
// and security.capability, so it goes first. fd, if not -1, is an open
// descriptor of the object and is used instead of p. Without fd, p is a
// symlink or FIFO this package has just created at a checked path.
func (u *unpacker) applyMeta(hdr *tar.Header, p string, fd int) error {
	if u.opts.Privileged {
		var err error
		if fd >= 0 {
			err = unix.Fchown(fd, hdr.Uid, hdr.Gid)
		} else {
			err = unix.Lchown(p, hdr.Uid, hdr.Gid)
		}
		if err != nil {
			return &os.PathError{Op: "chown", Path: p, Err: err}
		}
	}
	if hdr.Typeflag != tar.TypeSymlink { // symlinks have no mode of their own
		mode := uint32(hdr.Mode) & 0o7777
		var err error
		if fd >= 0 {
			err = unix.Fchmod(fd, mode)
		} else {
			// Only FIFOs get here; p was created by mkfifo, so it is no
			// symlink and following is harmless (AT_SYMLINK_NOFOLLOW
			// needs fchmodat2, Linux 6.6).
			err = unix.Fchmodat(unix.AT_FDCWD, p, mode, 0)
		}
		if err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	if err := u.applyXattrs(hdr, p, fd); err != nil {
		return err
	}
	return setTimes(hdr, p)
}

// setTimes sets p's access and modification times without following a
// symlink at p. A missing access time defaults to the modification time.
func setTimes(hdr *tar.Header, p string) error {
	if hdr.ModTime.IsZero() {
		return nil
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	at, err := unix.TimeToTimespec(atime)
	if err != nil {
		return fmt.Errorf("access time %v: %w", atime, err)
	}
	mt, err := unix.TimeToTimespec(hdr.ModTime)
	if err != nil {
		return fmt.Errorf("modification time %v: %w", hdr.ModTime, err)
	}
	err = unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{at, mt}, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &os.PathError{Op: "utimensat", Path: p, Err: err}
	}
	return nil
}

// applyXattrs sets the xattrs of hdr's SCHILY.xattr.* PAX records that the
// policy allows (see xattrAllowed).
func (u *unpacker) applyXattrs(hdr *tar.Header, p string, fd int) error {
	for key, value := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(key, paxXattrPrefix)
		if !ok {
			continue
		}
		if ok, err := u.xattrAllowed(name); !ok {
			if err != nil {
				return fmt.Errorf("xattr %q: %w", name, err)
			}
			continue
		}
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, name, []byte(value), 0)
		} else {
			err = unix.Lsetxattr(p, name, []byte(value), 0)
		}
		if err != nil && !u.xattrDegraded(hdr, name, err) {
			return &os.PathError{Op: "setxattr " + name, Path: p, Err: err}
		}
	}
	return nil
}

// xattrAllowed applies the xattr policy: user.* and security.* are set,
// trusted.* needs privilege, trusted.overlay.* and other namespaces are
// skipped with a warning.
func (u *unpacker) xattrAllowed(name string) (bool, error) {
	switch {
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "security."):
		return true, nil
	case strings.HasPrefix(name, "trusted.overlay."):
		u.warn("xattr-overlay", fmt.Sprintf("ignoring xattr %q (and all trusted.overlay.* xattrs) in layer: overlayfs metadata comes only from whiteout entries", name))
		return false, nil
	case strings.HasPrefix(name, "trusted."):
		if !u.opts.Privileged {
			return false, ErrNotPrivileged
		}
		return true, nil
	default:
		u.warn("xattr-namespace", fmt.Sprintf("ignoring xattr %q (and all xattrs outside user.*, security.*, trusted.*) in layer", name))
		return false, nil
	}
}

// xattrDegraded reports whether a failure to set an xattr is a tolerated
// degradation, and warns once if so: the filesystem does not support the
// xattr, or it is refused for lack of privilege or on a symlink (Linux
// allows no user.* xattrs on symlinks).
func (u *unpacker) xattrDegraded(hdr *tar.Header, name string, err error) bool {
	switch {
	case errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP):
		u.warn("xattr-enotsup", fmt.Sprintf("filesystem does not support xattr %q; unsupported layer xattrs are dropped", name))
		return true
	case errors.Is(err, unix.EPERM) && (!u.opts.Privileged || hdr.Typeflag == tar.TypeSymlink):
		u.warn("xattr-eperm", fmt.Sprintf("not permitted to set xattr %q; such layer xattrs are dropped", name))
		return true
	}
	return false
}

// finishDirs applies the metadata of directory entries, deepest first and
// the root last, once all children exist.
func (u *unpacker) finishDirs() error {
	type dir struct {
		rel   string
		hdr   *tar.Header
		depth int
	}
	var dirs []dir
	for rel, hdr := range u.dirs {
		if hdr == nil {
			continue
		}
		depth := strings.Count(rel, "/")
		if rel == "." {
			depth = -1
		}
		dirs = append(dirs, dir{rel, hdr, depth})
	}
	slices.SortFunc(dirs, func(a, b dir) int { return cmp.Compare(b.depth, a.depth) })
	for _, d := range dirs {
		if err := u.dirMeta(d.hdr, u.abs(d.rel)); err != nil {
			return &EntryError{Name: d.hdr.Name, Op: "metadata", Err: err}
		}
	}
	return nil
}

// dirMeta applies hdr's metadata to the directory p through a descriptor
// opened without following a symlink.
func (u *unpacker) dirMeta(hdr *tar.Header, p string) error {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	return u.applyMeta(hdr, p, fd)
}
