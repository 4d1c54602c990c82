package cgroupfs

import (
	"path"
	"slices"

	"github.com/berth/berth/internal/mountinfo"
)

// Dir is where one hierarchy of a process's cgroups is on disk:
// Dir under a mount of that hierarchy; V2 for the unified hierarchy.
type Dir struct {
	Dir string
	V2  bool
}

// Dirs maps the lines of /proc/PID/cgroup ("ID:CONTROLLERS:PATH")
// to directories, using the cgroup mounts of /proc/self/mountinfo (both
// as read from the same cgroup namespace): a v1 hierarchy is the
// cgroup mount whose super options name exactly its controllers (or
// its name=…), the unified one the cgroup2 mount. A hierarchy that is
// not mounted, or whose mount does not contain the path, is left out.
// Pure: the callers read the files.
func Dirs(procCgroup, mountinfoText string) []Dir {
	type mnt struct {
		root, point string
		opts        []string
		v2          bool
	}
	var mounts []mnt
	for _, line := range split(mountinfoText, '\n') {
		pre, post, ok := cut(line, " - ")
		if !ok {
			continue
		}
		f, g := fields(pre), fields(post)
		if len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		mounts = append(mounts, mnt{root: mountinfo.Unescape(f[3]), point: mountinfo.Unescape(f[4]),
			opts: split(g[2], ','), v2: g[0] == "cgroup2"})
	}
	var out []Dir
	for _, line := range split(procCgroup, '\n') {
		parts := splitN(line, ':', 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, p := parts[1], parts[2]
		v2 := parts[0] == "0" && ctrls == ""
		for _, m := range mounts {
			if m.v2 != v2 || (!v2 && !sameControllers(m.opts, split(ctrls, ','))) {
				continue
			}
			rel, ok := p[min(len(m.root), len(p)):], hasPrefix(p, m.root)
			if m.root == "/" {
				rel, ok = p, true
			}
			if !ok || (rel != "" && !hasPrefix(rel, "/")) {
				continue
			}
			out = append(out, Dir{Dir: path.Join(m.point, rel), V2: v2})
			break
		}
	}
	return out
}

// sameControllers reports whether a v1 mount's super options name
// exactly the controllers ctrls (including a name=… hierarchy).
func sameControllers(opts, ctrls []string) bool {
	known := map[string]bool{"rw": true, "ro": true, "noprefix": true, "xattr": true, "clone_children": true,
		"cpuset_v2_mode": true, "nsdelegate": true, "memory_recursiveprot": true, "favordynmods": true}
	var have []string
	for _, o := range opts {
		if !known[o] && !hasPrefix(o, "release_agent=") {
			have = append(have, o)
		}
	}
	want := slices.Clone(ctrls)
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
}
