package nsinit

import (
	"fmt"
	"github.com/berth/berth/internal/cgroupfs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// joinCgroups puts what the calling thread forks next into the cgroups
// of process pid (the container's PID 1), in every hierarchy, from its
// first instruction on: so an exec'd process is never outside the
// container's device policy, limits and stop. In each v1 hierarchy it
// moves the calling thread itself (its TID into tasks: v1 moves single
// threads, and a fork inherits the cgroups of the thread that forked);
// for the unified hierarchy, which moves only whole processes, it
// returns a descriptor of the cgroup for clone3's CLONE_INTO_CGROUP
// (syscall.SysProcAttr.UseCgroupFD), or -1 when there is none. The
// thread must be locked and never run anything else (see Exec). The
// cgroups are read from the host's cgroup namespace, so this runs
// before the thread joins the container's.
//
// The cgroup is PID 1's, a leaf of the unit's delegated subtree, and
// not the unit's root: a container that moved its PID 1 into a child
// cgroup and enabled controllers below the root (systemd or another
// runtime inside) has a root that may hold no processes on cgroup2.
func joinCgroups(pid int) (int, error) {
	pc, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return -1, fmt.Errorf("exec: the container's cgroups: %w", err)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return -1, fmt.Errorf("exec: the host's cgroup mounts: %w", err)
	}
	tid := []byte(strconv.Itoa(unix.Gettid()))
	fd := -1
	for _, d := range cgroupfs.Dirs(string(pc), string(mi)) {
		if d.V2 {
			if fd, err = unix.Open(d.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
				return -1, fmt.Errorf("exec: the container's cgroup %s: %w", d.Dir, err)
			}
			continue
		}
		if err := os.WriteFile(filepath.Join(d.Dir, "tasks"), tid, 0); err != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			return -1, fmt.Errorf("exec: join the container's cgroup %s: %w", d.Dir, err)
		}
	}
	return fd, nil
}
