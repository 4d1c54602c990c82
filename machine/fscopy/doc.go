// Package fscopy copies files into and out of containers for `berth cp`,
// as tar streams, with Docker's rules for where a copy lands (Plan).
//
// Every path inside a container is resolved inside the container's root:
// a Root is a directory file descriptor, and paths are opened with
// openat2(2) and RESOLVE_IN_ROOT, so an absolute symlink or ".." that
// would leave the container lands at the container's own root instead
// (the CVE-2018-15664 class: a symlink swapped in while the copy runs
// cannot lead to the host). The last component of every entry is then
// created, opened or read relative to its parent's descriptor with
// O_NOFOLLOW, never by a path from the host's root. The host side of a
// copy uses the same code with "/" as its root.
//
// What it does not cover: a directory that is renamed inside the
// container while a copy walks it is copied from wherever it is now
// (still inside the root), and hard links in a tar stream are resolved
// like any other path inside the root.
//
// A running container is reached through /proc/PID/root, which resolves
// in the container's mount namespace (volumes and binds included); a
// stopped one through its overlay, mounted in a private mount namespace
// of one locked thread (Overlay, in overlay_linux.go, the one file here
// that mounts). fscopy imports nothing of berth's.
package fscopy
