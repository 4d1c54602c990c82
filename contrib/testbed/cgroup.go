package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hierarchy is one mounted cgroup hierarchy: a v1 controller (or named
// hierarchy such as name=systemd) or the v2 unified tree.
type hierarchy struct {
	ID     string // the first field of /proc/self/cgroup ("0" for v2)
	Key    string // controllers as listed in /proc/self/cgroup ("memory", "name=systemd", "" for v2)
	Mount  string // where it is mounted in this mount namespace
	Own    string // this process's cgroup path inside it
	V2     bool
	Cpuset bool
}

// dir returns the absolute directory of cgroup path p (relative to the
// hierarchy root) in this hierarchy.
func (h hierarchy) dir(p string) string { return filepath.Join(h.Mount, p) }

// parseProcCgroup parses /proc/PID/cgroup: "ID:CONTROLLERS:PATH" a line.
func parseProcCgroup(r io.Reader) (map[string]hierarchy, error) {
	out := map[string]hierarchy{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed cgroup line %q", sc.Text())
		}
		h := hierarchy{Key: f[1], Own: f[2], V2: f[0] == "0" && f[1] == ""}
		h.Cpuset = hasController(h.Key, "cpuset")
		out[h.Key] = h
	}
	return out, sc.Err()
}

func hasController(list, c string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == c {
			return true
		}
	}
	return false
}

// mountEntry is the part of a /proc/self/mountinfo line the testbed needs.
type mountEntry struct {
	Root, Point, FSType, Source, SuperOpts string
}

// parseMountinfo parses /proc/PID/mountinfo (see proc(5)).
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if len(f) < 10 || sep < 0 || len(f) < sep+4 {
			return nil, fmt.Errorf("malformed mountinfo line %q", sc.Text())
		}
		out = append(out, mountEntry{
			Root: unescapeMount(f[3]), Point: unescapeMount(f[4]),
			FSType: f[sep+1], Source: unescapeMount(f[sep+2]), SuperOpts: f[sep+3],
		})
	}
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for space…) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// matchHierarchies fills in the mount point of every hierarchy the process
// is in. A v1 hierarchy is matched by its super options listing exactly
// its controllers (or its name=); hierarchies that are not mounted are
// dropped, since nothing can be created in them.
func matchHierarchies(procs map[string]hierarchy, mounts []mountEntry) []hierarchy {
	var out []hierarchy
	for key, h := range procs {
		for _, m := range mounts {
			if m.Root != "/" {
				continue // a bind of a sub-tree: not the hierarchy root
			}
			if h.V2 && m.FSType == "cgroup2" {
				h.Mount = m.Point
			} else if !h.V2 && m.FSType == "cgroup" && sameControllers(key, m.SuperOpts) {
				h.Mount = m.Point
			}
			if h.Mount != "" {
				break
			}
		}
		if h.Mount != "" {
			out = append(out, h)
		}
	}
	return out
}

func sameControllers(key, superOpts string) bool {
	want := strings.Split(key, ",")
	have := map[string]bool{}
	for _, o := range strings.Split(superOpts, ",") {
		have[o] = true
	}
	for _, c := range want {
		if !have[c] {
			return false
		}
	}
	return true
}

// ownHierarchies lists the cgroup hierarchies of this process.
func ownHierarchies() ([]hierarchy, error) {
	cg, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer cg.Close()
	procs, err := parseProcCgroup(cg)
	if err != nil {
		return nil, err
	}
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer mi.Close()
	mounts, err := parseMountinfo(mi)
	if err != nil {
		return nil, err
	}
	hs := matchHierarchies(procs, mounts)
	if len(hs) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	return hs, nil
}

// createCgroups makes the testbed's cgroup, a child of this process's own
// cgroup in every hierarchy, with the sub-cgroups boot/ (nspawn and the
// container) and exec/ (commands run inside with exec). It returns the
// absolute directories of the testbed's cgroup.
func createCgroups(name string) ([]string, error) {
	hs, err := ownHierarchies()
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	var dirs []string
	for _, h := range hs {
		top := h.dir(filepath.Join(h.Own, "berth-testbed-"+name))
		dirs = append(dirs, top)
		for _, d := range []string{top, filepath.Join(top, "boot"), filepath.Join(top, "exec")} {
			if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return dirs, fmt.Errorf("create cgroup %s: %w", d, err)
			}
			if h.Cpuset {
				// A v1 cpuset cgroup takes no task until cpus and mems are set.
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					v, err := os.ReadFile(filepath.Join(filepath.Dir(d), f))
					if err == nil {
						err = os.WriteFile(filepath.Join(d, f), v, 0o644)
					}
					if err != nil {
						return dirs, fmt.Errorf("cpuset %s: %w", d, err)
					}
				}
			}
		}
	}
	return dirs, nil
}

// joinCgroups moves the calling process into sub (boot or exec) of every
// testbed cgroup.
func joinCgroups(dirs []string, sub string) error {
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, sub, "cgroup.procs"), pid, 0o644); err != nil {
			return fmt.Errorf("join cgroup %s: %w", filepath.Join(d, sub), err)
		}
	}
	return nil
}

// cgroupPids lists every process in dir and below.
func cgroupPids(dir string) []int {
	var pids []int
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil && n > 0 {
				pids = append(pids, n)
			}
		}
		return nil
	})
	return pids
}

// destroyCgroups kills every process in the testbed's cgroups, waits for
// them to be gone, and removes every cgroup directory below and including
// each dir. It is idempotent: missing directories are fine.
func destroyCgroups(dirs []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := 0
		for _, d := range dirs {
			// cgroup.kill (v2, Linux 5.14+) kills the whole subtree at
			// once, also processes forked while we walk; elsewhere fall
			// back to signalling each process.
			os.WriteFile(filepath.Join(d, "cgroup.kill"), []byte("1"), 0o644)
			for _, pid := range cgroupPids(d) {
				syscall.Kill(pid, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes still in the testbed cgroups after %s", left, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var errs []error
	for _, d := range dirs {
		if err := removeTree(d, deadline); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTree removes the cgroup directory d and all below it, deepest
// first. A cgroup whose last process just died can be busy for a moment,
// so EBUSY is retried until the deadline.
func removeTree(d string, deadline time.Time) error {
	var all []string
	filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			all = append(all, p)
		}
		return nil
	})
	for i := len(all) - 1; i >= 0; i-- {
		for {
			err := syscall.Rmdir(all[i])
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
				return fmt.Errorf("remove cgroup %s: %w", all[i], err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}
