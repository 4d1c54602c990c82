package nsinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// makeDevices creates the spec's device nodes (--device) in the
// container's /dev, replacing what is there. The path is resolved in
// the root, so an image's symlink cannot send the node elsewhere. The
// unit's device cgroup (DeviceAllow=) is what lets the container open
// them.
func makeDevices(root string, devs []specs.LinuxDevice, sources map[string]string) error {
	for _, d := range devs {
		target, err := securejoin.SecureJoin(root, d.Path)
		if err != nil {
			return fmt.Errorf("init: device %s: %w", d.Path, err)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("init: device %s: %w", d.Path, err)
		}
		typ := uint32(unix.S_IFCHR)
		if d.Type == "b" {
			typ = unix.S_IFBLK
		}
		mode := uint32(0o666)
		if d.FileMode != nil {
			mode = uint32(*d.FileMode & 0o7777)
		}
		if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("init: device %s: %w", d.Path, err)
		}
		err = unix.Mknod(target, typ|mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
		if errors.Is(err, unix.EPERM) && sources[d.Path] != "" {
			// In a user namespace: the host's node, bound (its owner
			// and mode are the host's).
			if err := bindDevice(sources[d.Path], target, typ, d); err != nil {
				return fmt.Errorf("init: device %s: %w", d.Path, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("init: mknod %s: %w", d.Path, err)
		}
		if err := unix.Chmod(target, mode); err != nil {
			return fmt.Errorf("init: device %s: %w", d.Path, err)
		}
		uid, gid := 0, 0
		if d.UID != nil {
			uid = int(*d.UID)
		}
		if d.GID != nil {
			gid = int(*d.GID)
		}
		if err := unix.Lchown(target, uid, gid); err != nil {
			return fmt.Errorf("init: device %s: %w", d.Path, err)
		}
	}
	return nil
}

// bindDevice bind-mounts the host's node src on target (made as an
// empty file), after checking that src is still the device the spec
// names (type and numbers), so that a node swapped on the host since
// the container was created is not passed in.
func bindDevice(src, target string, typ uint32, d specs.LinuxDevice) error {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != typ || unix.Major(st.Rdev) != uint32(d.Major) || unix.Minor(st.Rdev) != uint32(d.Minor) {
		return fmt.Errorf("%s is no longer device %d:%d", src, d.Major, d.Minor)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	return unix.Mount(src, target, "", unix.MS_BIND, "")
}

// hostDevices copies the host's device nodes (as they are at start)
// into the container's /dev for --privileged, as Docker does; the
// container's own pts, shm and mqueue stay, and nodes already there are
// kept. It runs before pivot_root, while the host's /dev is /dev.
func hostDevices(root string) error {
	dev, err := securejoin.SecureJoin(root, "/dev")
	if err != nil {
		return fmt.Errorf("init: /dev: %w", err)
	}
	return filepath.WalkDir("/dev", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // a node that went away
		}
		rel := strings.TrimPrefix(p, "/dev")
		if e.IsDir() {
			switch rel {
			case "/pts", "/shm", "/mqueue", "/fd":
				return filepath.SkipDir
			}
			return nil
		}
		if e.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		target, err := securejoin.SecureJoin(dev, rel)
		if err != nil {
			return fmt.Errorf("init: device %s: %w", p, err)
		}
		if _, err := os.Lstat(target); err == nil {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("init: device %s: %w", p, err)
		}
		if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("init: mknod %s: %w", p, err)
		}
		unix.Chmod(target, st.Mode&0o7777)
		unix.Lchown(target, int(st.Uid), int(st.Gid))
		return nil
	})
}
