package layer

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The OCI whiteout names (image-spec layer.md) and the AUFS metadata prefix.
const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	whiteoutOpaque     = ".wh..wh..opq"

	opaqueXattr = "trusted.overlay.opaque"
)

// isAUFSMeta reports whether rel is AUFS metadata: a component starting with
// ".wh..wh." that is not a final opaque marker. Such entries are skipped.
func isAUFSMeta(rel string) bool {
	if !strings.Contains(rel, whiteoutMetaPrefix) {
		return false
	}
	parent, base := splitName(rel)
	if base != whiteoutOpaque && strings.HasPrefix(base, whiteoutMetaPrefix) {
		return true
	}
	for c := range strings.SplitSeq(parent, "/") {
		if strings.HasPrefix(c, whiteoutMetaPrefix) {
			return true
		}
	}
	return false
}

// whiteout applies the entry parent/.wh.NAME: an opaque marker when NAME is
// ".wh..opq", else a whiteout of parent/NAME in the overlayfs format.
//
// A whiteout hides only lower layers. If NAME already exists in this layer
// it stays: a directory is marked opaque (its lower contents are hidden),
// anything else already hides the lower object on its own.
func (u *unpacker) whiteout(parent, name string) error {
	opaque := whiteoutPrefix+name == whiteoutOpaque
	if !opaque && (name == "" || name == "." || name == "..") {
		return refusal("whiteout %q names no file", whiteoutPrefix+name)
	}
	if !u.opts.Privileged {
		return ErrNotPrivileged
	}
	parentPath, err := u.mkdirParents(parent)
	if err != nil {
		return err
	}
	if opaque {
		return u.setOpaque(parentPath)
	}
	p := parentPath + "/" + name
	err = unix.Mknod(p, unix.S_IFCHR, int(unix.Mkdev(0, 0)))
	if !errors.Is(err, unix.EEXIST) {
		return wrapPath("mknod", p, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return u.setOpaque(p)
	}
	return nil
}

// setOpaque marks the directory p opaque for overlayfs.
func (u *unpacker) setOpaque(p string) error {
	if !u.opts.Privileged {
		return ErrNotPrivileged
	}
	if err := unix.Lsetxattr(p, opaqueXattr, []byte("y"), 0); err != nil {
		return fmt.Errorf("set %s on %s: %w", opaqueXattr, p, err)
	}
	return nil
}

// isWhiteoutDevice reports whether fi is an overlayfs whiteout (a 0:0
// character device). Layers cannot carry device nodes, so under the root
// only this package's whiteouts match.
func isWhiteoutDevice(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0
}
