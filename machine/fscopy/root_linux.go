package fscopy

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Root is a directory that paths are resolved inside of: a container's
// root, or "/" for the host.
type Root struct {
	fd int
	// Name says whose root it is in errors ("container web").
	Name string
}

// OpenRoot opens dir as a Root named name.
func OpenRoot(dir, name string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the root of %s: %w", name, &os.PathError{Op: "open", Path: dir, Err: err})
	}
	return &Root{fd: fd, Name: name}, nil
}

// Close closes the root's descriptor.
func (r *Root) Close() error { return unix.Close(r.fd) }

// open resolves p inside the root with openat2 and RESOLVE_IN_ROOT;
// follow says whether a symlink as its last component is followed.
func (r *Root) open(p string, flags int, follow bool) (int, error) {
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, "./"+p, &how)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue // a rename elsewhere raced the lookup
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: p, Err: err}
		}
		return fd, nil
	}
}

// Stat describes p inside the root, following a final symlink if
// follow; a missing p is an error that errors.Is(err, fs.ErrNotExist).
func (r *Root) Stat(p string, follow bool) (Info, error) {
	fd, err := r.open(p, unix.O_PATH, follow)
	if err != nil {
		return Info{}, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Info{}, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return Info{Exists: true, IsDir: st.Mode&unix.S_IFMT == unix.S_IFDIR}, nil
}

// parent opens the directory that holds p, and returns p's last
// component; p = "/" is the root itself, base ".".
func (r *Root) parent(p string) (int, string, error) {
	p = path.Clean("/" + p)
	if p == "/" {
		fd, err := unix.Dup(r.fd)
		return fd, ".", err
	}
	fd, err := r.open(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY, true)
	return fd, path.Base(p), err
}

// WriteTar writes p (recursively, for a directory) to tw, its top entry
// named name and the others under it. follow follows p itself if it is
// a symlink (`cp -L`); symlinks below it are always archived as links.
func (r *Root) WriteTar(tw *tar.Writer, p, name string, follow bool) error {
	w := &tarWriter{tw: tw, links: map[[2]uint64]string{}}
	if follow {
		fd, err := r.open(path.Clean("/"+p), unix.O_PATH, true)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		// Re-open what the path led to as a file or directory to read,
		// through its descriptor, so it is the same inode.
		return w.add(fd, "", name)
	}
	pfd, base, err := r.parent(p)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	return w.add(pfd, base, name)
}

type tarWriter struct {
	tw    *tar.Writer
	links map[[2]uint64]string
}

// add archives base in directory dfd (or dfd itself, an O_PATH
// descriptor, when base is "") as name.
func (w *tarWriter) add(dfd int, base, name string) error {
	var st unix.Stat_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if base == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(dfd, base, &st, flags); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()),
		Format:  tar.FormatPAX,
	}
	// reopen opens the entry itself for reading, never through a symlink.
	reopen := func(extra int) (int, error) {
		if base == "" {
			return unix.Openat(int(dfd), fmt.Sprintf("/proc/self/fd/%d", dfd), unix.O_RDONLY|unix.O_CLOEXEC|extra, 0)
		}
		return unix.Openat(dfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|extra, 0)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := w.links[key]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return w.tw.WriteHeader(hdr)
		}
		if st.Nlink > 1 {
			w.links[key] = name
		}
		fd, err := reopen(unix.O_NONBLOCK)
		if err != nil {
			return &os.PathError{Op: "open", Path: name, Err: err}
		}
		f := os.NewFile(uintptr(fd), name)
		defer f.Close()
		var fst unix.Stat_t
		if err := unix.Fstat(fd, &fst); err != nil || fst.Ino != st.Ino || fst.Dev != st.Dev {
			return fmt.Errorf("%s changed while it was copied", name)
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, fst.Size
		if err := w.tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.CopyN(w.tw, f, fst.Size); err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
		return nil
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dfd, base, buf)
		if err != nil {
			return &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(buf[:n])
		return w.tw.WriteHeader(hdr)
	case unix.S_IFDIR:
		fd, err := reopen(unix.O_DIRECTORY)
		if err != nil {
			return &os.PathError{Op: "open", Path: name, Err: err}
		}
		f := os.NewFile(uintptr(fd), name)
		defer f.Close()
		hdr.Typeflag = tar.TypeDir
		hdr.Name = name + "/"
		if name == "." || name == "" {
			hdr.Name = "./"
		}
		if err := w.tw.WriteHeader(hdr); err != nil {
			return err
		}
		names, err := f.Readdirnames(-1)
		if err != nil {
			return fmt.Errorf("read directory %s: %w", name, err)
		}
		slices.Sort(names)
		for _, n := range names {
			child := path.Join(name, n)
			if err := w.add(fd, n, child); err != nil {
				return err
			}
		}
		return nil
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		hdr.Typeflag = map[uint32]byte{unix.S_IFCHR: tar.TypeChar, unix.S_IFBLK: tar.TypeBlock, unix.S_IFIFO: tar.TypeFifo}[st.Mode&unix.S_IFMT]
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		return w.tw.WriteHeader(hdr)
	}
	return nil // sockets are not archived, as Docker
}

// Owner chooses the owner of an extracted entry: Docker's cp gives
// files the destination's root (or the invoking user) unless -a keeps
// the archive's.
type Owner func(h *tar.Header) (uid, gid int)

// KeepOwner is `cp -a`: the archive's owners.
func KeepOwner(h *tar.Header) (int, int) { return h.Uid, h.Gid }

// FixedOwner gives every entry uid and gid.
func FixedOwner(uid, gid int) Owner { return func(*tar.Header) (int, int) { return uid, gid } }

// ExtractTar extracts tr into the existing directory dir inside the
// root. An entry that would leave dir is refused; a directory does not
// replace a non-directory nor the other way round (Docker's errors);
// other existing entries are replaced.
func (r *Root) ExtractTar(tr *tar.Reader, dir string, owner Owner) error {
	dir = path.Clean("/" + dir)
	if info, err := r.Stat(dir, true); err != nil {
		return err
	} else if !info.IsDir {
		return &os.PathError{Op: "extract", Path: dir, Err: ErrNotDirectory}
	}
	type dirTime struct {
		p string
		t time.Time
	}
	var dirTimes []dirTime
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		n, ok := entryName(h.Name)
		if !ok {
			return fmt.Errorf("archive entry %q leaves the destination directory", h.Name)
		}
		if n == "." {
			continue // the destination directory itself stays as it is
		}
		full := path.Join(dir, n)
		if err := r.extractOne(tr, h, dir, full, owner); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeDir {
			dirTimes = append(dirTimes, dirTime{full, h.ModTime})
		}
	}
	// Directory times last: entries written into them changed them.
	for _, d := range slices.Backward(dirTimes) {
		pfd, base, err := r.parent(d.p)
		if err != nil {
			return err
		}
		ts := []unix.Timespec{unix.NsecToTimespec(d.t.UnixNano()), unix.NsecToTimespec(d.t.UnixNano())}
		err = unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		unix.Close(pfd)
		if err != nil {
			return &os.PathError{Op: "utimes", Path: d.p, Err: err}
		}
	}
	return nil
}

func (r *Root) extractOne(tr *tar.Reader, h *tar.Header, dir, full string, owner Owner) error {
	pfd, base, err := r.parent(full)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	uid, gid := owner(h)
	mode := uint32(h.FileInfo().Mode().Perm())
	if h.Mode&0o4000 != 0 {
		mode |= unix.S_ISUID
	}
	if h.Mode&0o2000 != 0 {
		mode |= unix.S_ISGID
	}
	if h.Mode&0o1000 != 0 {
		mode |= unix.S_ISVTX
	}
	var st unix.Stat_t
	exists := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if h.Typeflag == tar.TypeDir {
		if exists && !isDir {
			return fmt.Errorf("cannot overwrite non-directory %q with directory %q", full, h.Name)
		}
		if !exists {
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
				return &os.PathError{Op: "mkdir", Path: full, Err: err}
			}
		}
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: full, Err: err}
		}
		defer unix.Close(fd)
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return &os.PathError{Op: "chown", Path: full, Err: err}
		}
		if err := unix.Fchmod(fd, mode); err != nil {
			return &os.PathError{Op: "chmod", Path: full, Err: err}
		}
		return nil
	}
	if isDir {
		return fmt.Errorf("cannot overwrite directory %q with non-directory %q", full, h.Name)
	}
	if exists {
		if err := unix.Unlinkat(pfd, base, 0); err != nil {
			return &os.PathError{Op: "remove", Path: full, Err: err}
		}
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return &os.PathError{Op: "create", Path: full, Err: err}
		}
		f := os.NewFile(uintptr(fd), full)
		defer f.Close()
		if _, err := io.Copy(f, tr); err != nil {
			return fmt.Errorf("write %s: %w", full, err)
		}
		// chown before chmod: chown clears the set-id bits.
		if err := f.Chown(uid, gid); err != nil {
			return err
		}
		if err := unix.Fchmod(fd, mode); err != nil {
			return &os.PathError{Op: "chmod", Path: full, Err: err}
		}
		if err := f.Close(); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(h.Linkname, pfd, base); err != nil {
			return &os.PathError{Op: "symlink", Path: full, Err: err}
		}
	case tar.TypeLink:
		t, ok := entryName(h.Linkname)
		if !ok {
			return fmt.Errorf("archive entry %q links outside the destination directory", h.Name)
		}
		tfd, tbase, err := r.parent(path.Join(dir, t))
		if err != nil {
			return err
		}
		err = unix.Linkat(tfd, tbase, pfd, base, 0)
		unix.Close(tfd)
		if err != nil {
			return &os.PathError{Op: "link", Path: full, Err: err}
		}
		return nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[h.Typeflag]
		dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
		if err := unix.Mknodat(pfd, base, kind|mode, int(dev)); err != nil {
			return &os.PathError{Op: "mknod", Path: full, Err: err}
		}
		if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
			return &os.PathError{Op: "chmod", Path: full, Err: err}
		}
	default:
		return nil // other kinds (PAX globals, sparse) carry nothing to write
	}
	if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "chown", Path: full, Err: err}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(h.ModTime.UnixNano()), unix.NsecToTimespec(h.ModTime.UnixNano())}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: full, Err: err}
	}
	return nil
}

// IsNotExist reports whether err says a path does not exist.
func IsNotExist(err error) bool { return errors.Is(err, unix.ENOENT) }
