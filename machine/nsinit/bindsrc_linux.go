package nsinit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// openBindSource opens a bind mount's source as an O_PATH descriptor
// with openat2(RESOLVE_NO_SYMLINKS): the CLI resolved every symlink of
// the path when it made the container, so a symlink found now was put
// there since (a directory swapped for a link to /etc) and the mount is
// refused rather than followed. The caller mounts /proc/self/fd/N, the
// very inode checked, so nothing can be swapped between the check and
// the mount either.
func openBindSource(src string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, src, &how)
	if err == unix.ELOOP {
		return nil, fmt.Errorf("bind source %s: a path component is now a symlink (refused; berth resolves symlinks only when the container is created): %w", src, err)
	}
	if err != nil {
		return nil, fmt.Errorf("bind source %s: %w", src, err)
	}
	return os.NewFile(uintptr(fd), src), nil
}

// fdPath is the magic link of f, for mount(2) and stat(2).
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// copyUp seeds an empty volume with what the image has at the mount's
// target, as Docker does on a volume's first use: the directory's own
// owner and mode, then its tree (directories, files, symlinks, device
// nodes and FIFOs, with owners and modes). src is the volume's host
// directory (already opened safely by the caller as fd); nothing is
// copied when it has any entry or the image has no directory there.
// The image's tree is walked with lstat only, so its symlinks are
// copied as links and never followed.
func copyUp(root string, m specs.Mount, dst string) error {
	ents, err := os.ReadDir(dst)
	if err != nil {
		return fmt.Errorf("init: volume %s: %w", m.Source, err)
	}
	if len(ents) > 0 {
		return nil
	}
	from, err := securejoin.SecureJoin(root, m.Destination)
	if err != nil {
		return fmt.Errorf("init: volume target %s: %w", m.Destination, err)
	}
	fi, err := os.Lstat(from)
	if err != nil || !fi.IsDir() {
		return nil
	}
	if err := copyMeta(dst, fi, false); err != nil {
		return fmt.Errorf("init: seed volume at %s: %w", m.Destination, err)
	}
	if err := copyTree(from, dst); err != nil {
		return fmt.Errorf("init: seed volume at %s: %w", m.Destination, err)
	}
	return nil
}

func copyTree(from, to string) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		src, dst := filepath.Join(from, e.Name()), filepath.Join(to, e.Name())
		fi, err := os.Lstat(src)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch fi.Mode().Type() {
		case os.ModeDir:
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
			if err := copyTree(src, dst); err != nil {
				return err
			}
		case os.ModeSymlink:
			link, err := os.Readlink(src)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, dst); err != nil {
				return err
			}
		case 0:
			if err := copyFile(src, dst); err != nil {
				return err
			}
		default:
			if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
				return err
			}
		}
		if err := copyMeta(dst, fi, fi.Mode().Type() == os.ModeSymlink); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMeta gives dst fi's owner, mode and modification time.
func copyMeta(dst string, fi os.FileInfo, link bool) error {
	st := fi.Sys().(*syscall.Stat_t)
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if link {
		return nil
	}
	// chmod after chown: chown clears setuid and setgid bits.
	if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
		return err
	}
	ts := []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}
