package fscopy

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Overlay is how a stopped container's file system is mounted: the
// overlay's mount data, the directory to chdir to first (when the data
// has relative layer paths, see nsinit.OverlayData) and the mount point.
type Overlay struct {
	Data, Chdir, Target string
}

// WithOverlay mounts o in a private mount namespace of one locked OS
// thread, opens its root as a Root named name and calls fn with it on
// that thread. The mount is seen by no other process and goes away with
// the thread, which is never reused (the goroutine exits locked); fn's
// own goroutines reach the overlay only through the Root's descriptor.
// The container must not start meanwhile: two overlays on one upper
// directory are undefined, as the kernel warns.
func WithOverlay(o Overlay, name string, fn func(*Root) error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		done <- withOverlay(o, name, fn)
	}()
	return <-done
}

func withOverlay(o Overlay, name string, fn func(*Root) error) error {
	// CLONE_NEWNS implies CLONE_FS: this thread's root and cwd become
	// its own, so the chdir below stays here.
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("mount the file system of %s: unshare: %w", name, err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("mount the file system of %s: make / private: %w", name, err)
	}
	if o.Chdir != "" {
		if err := unix.Chdir(o.Chdir); err != nil {
			return fmt.Errorf("mount the file system of %s: %w", name, err)
		}
	}
	if err := unix.Mount("overlay", o.Target, "overlay", 0, o.Data); err != nil {
		return fmt.Errorf("mount the file system of %s: overlay at %s: %w", name, o.Target, err)
	}
	r, err := OpenRoot(o.Target, name)
	if err != nil {
		return err
	}
	defer r.Close()
	return fn(r)
}
