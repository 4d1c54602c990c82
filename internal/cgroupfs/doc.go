// Package cgroupfs finds a process's cgroups on disk (Dirs) and starts
// the kernel's wait for a unit's first cgroup migration early
// (WarmAttach). It imports nothing from the standard library that os
// and strings do not (not even path/filepath), and internal/mountinfo:
// Go initialises a program's packages in the order of their import
// paths, as soon as what they import is, so a package initialised at
// the start of a process can use it long before the rest of berth is
// ready (see cmd/internal/startwarm).
package cgroupfs
