package imagebuild

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// layerTar writes a layer: a tar stream, and beside it a digest of what
// the layer holds (names, types, modes, owners, link targets, contents;
// not times) that keys the cache of COPY and ADD.
type layerTar struct {
	tw      *tar.Writer
	sum     hash.Hash
	written map[string]bool
	n       int
}

func newLayerTar(w io.Writer) *layerTar {
	return &layerTar{tw: tar.NewWriter(w), sum: sha256.New(), written: map[string]bool{}}
}

// add writes one entry; body is read for a regular file.
func (l *layerTar) add(h *tar.Header, body io.Reader) error {
	h.Name = strings.TrimPrefix(path.Clean("/"+h.Name), "/")
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	h.Uname, h.Gname = "", ""
	h.Format = tar.FormatPAX
	if l.written[h.Name] && h.Typeflag == tar.TypeDir {
		return nil
	}
	l.written[h.Name] = true
	l.n++
	fmt.Fprintf(l.sum, "%q %c %o %d %d %q %d\n", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, h.Size)
	if err := l.tw.WriteHeader(h); err != nil {
		return err
	}
	if body != nil && h.Typeflag == tar.TypeReg {
		if _, err := io.Copy(io.MultiWriter(l.tw, l.sum), body); err != nil {
			return err
		}
	}
	return nil
}

func (l *layerTar) close() error { return l.tw.Close() }

// digest is the content digest of what was written.
func (l *layerTar) digest() string { return fmt.Sprintf("sha256:%x", l.sum.Sum(nil)) }

// header makes a tar header from fi, as a file in an image: no host
// user names, and device numbers for devices.
func header(fi fs.FileInfo, link string) (*tar.Header, error) {
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		h.Uid, h.Gid = int(st.Uid), int(st.Gid)
	}
	h.Uname, h.Gname = "", ""
	h.AccessTime, h.ChangeTime = fi.ModTime(), fi.ModTime()
	return h, nil
}

// mountStubs are files that a container's init makes in its upper
// directory only as mount points for its own /etc files: never part of
// a layer while they are empty.
var mountStubs = map[string]bool{"etc/hostname": true, "etc/hosts": true, "etc/resolv.conf": true}

// diffUpper writes the changes in an overlayfs upper directory as a
// layer tar with OCI whiteouts: a 0:0 character device (a deleted name)
// becomes .wh.NAME, an opaque directory gets .wh..wh..opq. lower is the
// view below the upper: directories that overlayfs only copied up (the
// same mode and owner as below) are left out when nothing changed
// under them, and so are mountpoints (RUN --mount targets). It returns
// how many entries it wrote. Files are read
// through an os.Root of upper with O_NOFOLLOW: a running container (berth
// commit -p=false) that swaps a file for a symlink between the walk and
// the read makes the read fail or stay in its own upper, never reach the
// host.
func diffUpper(upper string, lower *view, mountpoints map[string]bool, out io.Writer) (int, error) {
	lt := newLayerTar(out)
	type entry struct {
		rel string
		fi  fs.FileInfo
	}
	var entries []entry
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		entries = append(entries, entry{filepath.ToSlash(rel), fi})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read the container's changes: %w", err)
	}
	root, err := os.OpenRoot(upper)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	// Keep what changed, and the directories above it.
	keep := map[string]bool{}
	changed := func(e entry) bool {
		if e.fi.IsDir() {
			if mountpoints[e.rel] {
				return false // the mount point of a RUN --mount, made by init
			}
			if opaqueDir(filepath.Join(upper, e.rel)) {
				return true
			}
			fi, _, err := lower.lstat(e.rel)
			if err != nil || fi == nil || !fi.IsDir() || fi.Mode() != e.fi.Mode() {
				return true
			}
			a, b := fi.Sys().(*syscall.Stat_t), e.fi.Sys().(*syscall.Stat_t)
			return a.Uid != b.Uid || a.Gid != b.Gid
		}
		if mountStubs[e.rel] && e.fi.Mode().IsRegular() && e.fi.Size() == 0 {
			return false
		}
		if mountpoints[e.rel] {
			return false // the mount point of a RUN --mount, made by init
		}
		return true
	}
	for _, e := range entries {
		if changed(e) {
			for p := e.rel; p != "."; p = path.Dir(p) {
				keep[p] = true
			}
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	inodes := map[uint64]string{}
	for _, e := range entries {
		if !keep[e.rel] {
			continue
		}
		full := filepath.Join(upper, e.rel)
		if isWhiteout(e.fi) {
			h := &tar.Header{Typeflag: tar.TypeReg, Name: path.Join(path.Dir(e.rel), ".wh."+path.Base(e.rel)), Mode: 0o600, ModTime: e.fi.ModTime()}
			if err := lt.add(h, nil); err != nil {
				return 0, err
			}
			continue
		}
		link := ""
		if e.fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = root.Readlink(e.rel); err != nil {
				return 0, err
			}
		}
		h, err := header(e.fi, link)
		if err != nil {
			return 0, err
		}
		h.Name = e.rel
		st := e.fi.Sys().(*syscall.Stat_t)
		if e.fi.Mode().IsRegular() && st.Nlink > 1 {
			if first, ok := inodes[st.Ino]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
				if err := lt.add(h, nil); err != nil {
					return 0, err
				}
				continue
			}
			inodes[st.Ino] = e.rel
		}
		if cap, err := getxattr(full, "security.capability"); err == nil && cap != "" {
			h.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": cap}
		}
		var body io.Reader
		if h.Typeflag == tar.TypeReg {
			// Through the os.Root: a file the container swaps for a
			// symlink meanwhile still resolves inside the upper.
			f, err := root.OpenFile(e.rel, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
			if err != nil {
				return 0, err
			}
			body = f
			err = lt.add(h, body)
			f.Close()
			if err != nil {
				return 0, err
			}
		} else if err := lt.add(h, nil); err != nil {
			return 0, err
		}
		if e.fi.IsDir() && opaqueDir(full) {
			if err := lt.add(&tar.Header{Typeflag: tar.TypeReg, Name: e.rel + "/.wh..wh..opq", Mode: 0o600, ModTime: e.fi.ModTime()}, nil); err != nil {
				return 0, err
			}
		}
	}
	return lt.n, lt.close()
}

func opaqueDir(p string) bool {
	v, err := getxattr(p, "trusted.overlay.opaque")
	return err == nil && v == "y"
}

func getxattr(p, name string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		if errors.Is(err, unix.ENODATA) {
			return "", nil
		}
		return "", err
	}
	return string(buf[:n]), nil
}
