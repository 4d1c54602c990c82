package fscopy

import (
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// PathInfo is what Docker's archive endpoints report of a path in a
// container (the X-Docker-Container-Path-Stat header): its final symlink
// is not followed, and LinkTarget is a symlink's target as a path in the
// root (a relative target joined to the link's directory).
type PathInfo struct {
	Name       string      `json:"name"`
	Size       int64       `json:"size"`
	Mode       os.FileMode `json:"mode"`
	Mtime      time.Time   `json:"mtime"`
	LinkTarget string      `json:"linkTarget"`
}

// Lstat describes p inside the root without following a final symlink;
// a missing p is an error for which IsNotExist is true.
func (r *Root) Lstat(p string) (PathInfo, error) {
	fd, err := r.open(p, unix.O_PATH, false)
	if err != nil {
		return PathInfo{}, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return PathInfo{}, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	clean := path.Clean("/" + p)
	info := PathInfo{Name: path.Base(clean), Size: st.Size, Mode: fileMode(st.Mode), Mtime: time.Unix(st.Mtim.Unix()).UTC()}
	if info.Mode&os.ModeSymlink != 0 {
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return PathInfo{}, &os.PathError{Op: "readlink", Path: p, Err: err}
		}
		info.LinkTarget = string(buf[:n])
		if !path.IsAbs(info.LinkTarget) {
			info.LinkTarget = path.Join(path.Dir(clean), info.LinkTarget)
		}
	}
	return info, nil
}

// fileMode turns a stat mode into Go's os.FileMode, as Docker encodes it.
func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
