package machine

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth/berth/internal/fsutil"
	"github.com/berth/berth/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// A volume with options (ParseVolumeOptions) is mounted on the host at
// its _data directory while containers use it: Acquire, from a
// container's __init before its PID 1 binds the directory, mounts it for
// the first user; Release, from its __cleanup, unmounts it after the
// last. The users are files named for the containers' IDs in the
// volume's users/ directory, under the volume's lock, so a crash leaves a
// name that the next Release with alive drops.

// Acquire records id as a user of volume name and mounts the volume if
// it has options and is not mounted yet. A volume without options is a
// plain directory: nothing to do.
func (v *Volumes) Acquire(name, id string) error {
	vol, err := v.Get(name)
	if err != nil {
		return err
	}
	m, err := ParseVolumeOptions(vol.Driver, vol.Options)
	if err != nil || m == nil {
		return err
	}
	lock, err := fsutil.LockFile(filepath.Join(v.dir, name, "lock"), true)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	defer lock.Unlock()
	users := filepath.Join(v.dir, name, "users")
	if err := os.MkdirAll(users, 0o700); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(users, id), nil, 0o600); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	data := v.Path(name)
	if mounted, err := isMountPoint(data); err != nil || mounted {
		return err
	}
	if err := unix.Mount(m.Source, data, m.FSType, m.Flags&^unix.MS_RDONLY, m.Data); err != nil {
		os.Remove(filepath.Join(users, id))
		return fmt.Errorf("volume %s: mount %s (type %s, %s) on %s: %w", name, m.Source, m.FSType, vol.Options["o"], data, err)
	}
	if m.Flags&unix.MS_RDONLY != 0 {
		// A bind takes read-only only on a remount.
		flags := uintptr(unix.MS_REMOUNT | unix.MS_RDONLY)
		if m.Flags&unix.MS_BIND != 0 {
			flags |= unix.MS_BIND
		}
		if err := unix.Mount("", data, "", flags, m.Data); err != nil {
			unix.Unmount(data, unix.MNT_DETACH)
			os.Remove(filepath.Join(users, id))
			return fmt.Errorf("volume %s: read-only: %w", name, err)
		}
	}
	return nil
}

// Release drops id from volume name's users, and those alive says are
// gone, and unmounts the volume when none is left. A volume that is gone
// or has no options is not an error.
func (v *Volumes) Release(name, id string, alive func(id string) bool) error {
	vol, err := v.Get(name)
	if err != nil || len(vol.Options) == 0 {
		return nil
	}
	lock, err := fsutil.LockFile(filepath.Join(v.dir, name, "lock"), true)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	defer lock.Unlock()
	users := filepath.Join(v.dir, name, "users")
	os.Remove(filepath.Join(users, id))
	ents, err := os.ReadDir(users)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	left := 0
	for _, e := range ents {
		if alive != nil && !alive(e.Name()) {
			os.Remove(filepath.Join(users, e.Name()))
			continue
		}
		left++
	}
	if left > 0 {
		return nil
	}
	return v.unmount(name)
}

// unmount undoes volume name's mount, if it is mounted.
func (v *Volumes) unmount(name string) error {
	data := v.Path(name)
	mounted, err := isMountPoint(data)
	if err != nil || !mounted {
		return err
	}
	if err := unix.Unmount(data, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("volume %s: unmount %s: %w", name, data, err)
	}
	return nil
}

// isMountPoint reports whether path (without symlinks) is the mount
// point of a mount in this mount namespace.
func isMountPoint(path string) (bool, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && mountinfo.Unescape(fields[4]) == real {
			return true, nil
		}
	}
	return false, sc.Err()
}
