package nsinit

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// The berth binary must never be writable from inside a container (the
// CVE-2019-5736 class). A berth process that a container can see — the
// container's PID 1 before it execs the command, or the child of `berth
// exec` before it execs its command — has the berth binary as
// /proc/PID/exe. A command that resolves to /proc/self/exe (the command
// itself, a symlink, or a script's "#!/proc/self/exe") makes the
// kernel run berth's binary inside the container, and a process there
// can then open /proc/PID/exe and, once that process has exited (until
// then the kernel answers ETXTBSY), write the host's binary. The
// defence, as runc's: the berth process that enters a container runs
// from a read-only bind mount of its binary, made in a mount namespace
// of its own, so /proc/PID/exe is on a read-only mount and opening it
// for writing fails with EROFS for as long as anyone holds it. A binary
// on a read-only file system already (a systemd-sysext image) needs
// nothing. The mount costs two mount(2) calls and no copy (runc's other
// way, a sealed memfd copy, costs the binary's size in memory for every
// container).

// exeReadOnly reports whether this process's binary is on a read-only
// mount.
func exeReadOnly() bool { return readOnly("/proc/self/exe") }

// readOnly reports whether path is on a read-only mount.
func readOnly(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Flags&unix.ST_RDONLY != 0
}

// onReadOnlyExe runs fn on an OS thread that has a mount namespace of
// its own in which exe is bind-mounted read-only over itself, so that a
// process fn starts from exe (os/exec forks from the calling thread)
// runs from the read-only mount. The thread is never given back to the
// Go scheduler: it ends with the goroutine.
func onReadOnlyExe(exe string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		if err := readOnlyExeHere(exe); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

// readOnlyExeHere gives the calling thread a mount namespace of its own
// (a slave of the host's) with exe bind-mounted read-only.
func readOnlyExeHere(exe string) error {
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
		return fmt.Errorf("protect the berth binary: unshare: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("protect the berth binary: make / rslave: %w", err)
	}
	if err := unix.Mount(exe, exe, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("protect the berth binary: bind %s: %w", exe, err)
	}
	var st unix.Statfs_t
	unix.Statfs(exe, &st)
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("", exe, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, ""); err != nil {
		return fmt.Errorf("protect the berth binary: remount %s read-only: %w", exe, err)
	}
	return nil
}

// ReexecReadOnly makes sure this process runs from a read-only mount of
// its binary before it enters a container (berth exec): if it does not,
// it re-executes itself, with the same arguments and environment, from
// a read-only bind mount in a mount namespace of its own (see above),
// and does not return. It returns nil when the binary is read-only
// already, and an error when it cannot protect it.
func ReexecReadOnly() error {
	if exeReadOnly() {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("protect the berth binary: %w", err)
	}
	// execve from this thread: the new program gets the thread's mount
	// namespace. It replaces the whole process, so the thread is never
	// given back.
	runtime.LockOSThread()
	if err := readOnlyExeHere(exe); err != nil {
		return err
	}
	err = unix.Exec(exe, os.Args, os.Environ())
	return fmt.Errorf("protect the berth binary: re-exec %s: %w", exe, err)
}
