package machine

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

// Watch calls done with container id's record (or the ErrNotFound of a
// removed container) now, after every change, and at least every
// watchMaxPause (so done can notice time passing), until done returns true or ctx ends.
//
// It does not use inotify: closing an inotify instance waits for an SRCU
// grace period (8 to 16 ms on the machines berth is measured on), which is
// longer than a short container runs, and `berth run` would pay it on
// every exit (at the latest when its process ends). Instead:
//
//   - while the record names a running PID 1, Watch sleeps on a pidfd of
//     that process, so its exit wakes Watch at once;
//   - otherwise, and between those waits, it compares the record file's
//     inode and change time (records are replaced by rename; a removal
//     renames the directory away) every watchMinPause for watchBusy after
//     a change or an exit, when the container's cleanup runs, and backs
//     off to watchMaxPause after that.
func (c *Containers) Watch(ctx context.Context, id string, done func(*Container, error) bool) error {
	file := filepath.Join(c.Dir(id), "container.json")
	var (
		last     fileStamp
		busy     = time.Now()
		checked  = busy
		pause    = watchMinPause
		pidfd    = -1
		watching int // the PID pidfd refers to
	)
	defer func() {
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
	}()
	check := func() (bool, *Container) {
		rec, err := c.Load(id)
		if err != nil && !errdefs.IsNotFound(err) {
			return done(nil, err), nil
		}
		return done(rec, err), rec
	}
	last = stampOf(file)
	stop, rec := check()
	for !stop {
		// A running PID 1 to wait on: a pidfd of it, once, checked to be
		// the record's process (not a reused PID). One that is gone
		// already has exited as far as done is concerned.
		exited := false
		if rec != nil && rec.State.Pid > 0 && rec.State.Pid != watching {
			if pidfd >= 0 {
				unix.Close(pidfd)
				pidfd = -1
			}
			watching = rec.State.Pid
			fd, err := unix.PidfdOpen(rec.State.Pid, 0)
			if err == nil {
				if st, serr := ProcStartTime(rec.State.Pid); serr == nil && st == rec.State.PidStart {
					pidfd = fd
				} else {
					unix.Close(fd)
					exited = true
				}
			} else {
				exited = errors.Is(err, unix.ESRCH)
			}
		}
		if time.Since(busy) > watchBusy {
			pause = min(pause*2, watchMaxPause)
		}
		if exited {
			busy, pause = time.Now(), watchMinPause
		} else if pidfd >= 0 {
			fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, int(pause/time.Millisecond))
			if err != nil && !errors.Is(err, unix.EINTR) {
				return err
			}
			if exited = n > 0; exited {
				// It exited (done may want to know): its cleanup
				// comes next.
				unix.Close(pidfd)
				pidfd = -1
				busy, pause = time.Now(), watchMinPause
			}
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := stampOf(file)
		changed := now != last || exited
		if changed {
			last, busy, pause = now, time.Now(), watchMinPause
		}
		if changed || time.Since(checked) >= watchMaxPause {
			stop, rec = check()
			checked = time.Now()
		}
	}
	return nil
}

// How Watch polls: every watchMinPause for watchBusy after a change,
// then less and less often, down to every watchMaxPause.
const (
	watchMinPause = time.Millisecond
	watchBusy     = 500 * time.Millisecond
	watchMaxPause = 100 * time.Millisecond
)

// fileStamp tells one version of a file from the next: a record is
// replaced by rename (a new inode), and removed with its directory.
type fileStamp struct {
	ino, size int64
	ctime     unix.Timespec
	missing   bool
}

func stampOf(path string) fileStamp {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileStamp{missing: true}
	}
	return fileStamp{ino: int64(st.Ino), size: st.Size, ctime: st.Ctim}
}
