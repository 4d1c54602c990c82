package cgroupfs

import (
	"errors"
	"os"
	"sync/atomic"
)

// The first cgroup migration after a quiet while waits for an RCU grace
// period: a write to cgroup.procs takes the kernel's
// cgroup_threadgroup_rwsem for writing, whose fast path for readers
// (every fork and exit) has to be switched off first (rcu_sync). Every
// unit start makes one such migration: systemd's child moves itself into
// the unit's cgroup before it execs the unit's command. On this
// project's test machines the wait is 6 to 16 ms, about half of a
// `systemd-run -P -q true`. Once one writer has waited, the next ones
// find the slow path still on, for about another grace period, and do
// not wait.
//
// WarmAttach starts, in the background, a migration of the calling
// process into the cgroup it is in already (a write of "0" to its own
// cgroup.procs): nothing moves, but the wait starts now, while the
// client creates the container and asks systemd for the unit, instead
// of after systemd has forked the unit's first process. The costs: the
// write holds the kernel's cgroup lock (cgroup_mutex) while it waits,
// so any cgroup work of systemd's in that time (the unit's mkdir, and
// that of any other unit) holds up systemd's whole event loop until the
// grace period ends, where otherwise only its forked child would have
// waited; and the process cannot exit before the write returns, so a
// run that fails at once (no such image) ends up to a grace period
// later. It is best effort: a cgroup that cannot be
// named or written (outside this process's cgroup namespace, a
// read-only /sys/fs/cgroup) is left alone. A migration already under
// way is not doubled.
func WarmAttach() {
	if !warming.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer warming.Store(false)
		warmAttach()
	}()
}

var warming atomic.Bool

// errNoCgroup: this process's cgroup cannot be named (warmDir).
var errNoCgroup = errors.New("own cgroup not reachable")

// warmAttach is WarmAttach's migration, waited for.
func warmAttach() error {
	pc, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	dir := warmDir(string(pc), string(mi))
	if dir == "" {
		return errNoCgroup
	}
	f, err := os.OpenFile(dir+"/cgroup.procs", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write([]byte("0"))
	return err
}

// warmDir is the cgroup directory a no-op migration of the calling
// process writes to (WarmAttach): its own cgroup in the unified
// hierarchy, or in the first v1 hierarchy without one, from the
// contents of /proc/self/cgroup and /proc/self/mountinfo. Hierarchies
// where the process is outside its cgroup namespace ("/../…", as for
// one that entered the namespace from outside) or on no mount do not
// count; "" when none is left.
func warmDir(procCgroup, mountinfo string) string {
	var named string
	for _, line := range split(procCgroup, '\n') {
		if parts := splitN(line, ':', 3); len(parts) == 3 && !contains("/"+parts[2]+"/", "/../") {
			named += line + "\n"
		}
	}
	dirs := Dirs(named, mountinfo)
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
