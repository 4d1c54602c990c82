package systemd

import (
	"strings"

	"github.com/berth/berth/machine/nsinit"
)

// warmDir is the cgroup directory a no-op migration of the calling
// process writes to (WarmAttach): its own cgroup in the unified
// hierarchy, or in the first v1 hierarchy without one, from the
// contents of /proc/self/cgroup and /proc/self/mountinfo. Hierarchies
// where the process is outside its cgroup namespace ("/../…", as for
// one that entered the namespace from outside) or on no mount do not
// count; "" when none is left.
func warmDir(procCgroup, mountinfo string) string {
	var named []string
	for _, line := range strings.Split(procCgroup, "\n") {
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && !strings.Contains("/"+parts[2]+"/", "/../") {
			named = append(named, line)
		}
	}
	dirs := nsinit.CgroupDirs(strings.Join(named, "\n"), mountinfo)
	for _, d := range dirs {
		if d.V2 {
			return d.Dir
		}
	}
	if len(dirs) > 0 {
		return dirs[0].Dir
	}
	return ""
}
