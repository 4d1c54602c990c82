// Package cgroup reads a unit's control group for `berth top`, `berth
// stats` and `berth pause`: its processes, its CPU, memory, PIDs and
// block I/O counters, and its v2 freezer. It reads and writes the cgroup
// file system under a root (/sys/fs/cgroup, a test's directory in the
// tests) and imports nothing of berth's.
//
// Three layouts exist: unified (cgroup2 at the root), hybrid (the v1
// controllers, with a cgroup2 hierarchy without controllers at
// /unified, systemd's default on Debian 12 when the kernel is booted
// so) and legacy (v1 only). Each counter is read where the layout has
// it: the v1 controller's file when the unit has a cgroup there, else
// the cgroup2 file; cpu.stat and cgroup.freeze are core cgroup2 files
// that exist without any controller, so hybrid hosts have them too.
//
// systemd's FreezeUnit refuses on a hybrid host ("does not support
// freezing"): it only drives the cgroup2 freezer on a unified host.
// Freeze writes cgroup.freeze of the unit's cgroup2 directory itself,
// which the kernel honours in hybrid mode as well, and which freezes
// every descendant, processes forked later included. Legacy hosts have
// no cgroup2 freezer: Freeze says so.
package cgroup
