package machine

import (
	"context"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

// Watch calls done with container id's record (or the ErrNotFound of a
// removed container) now and after every change, until done returns
// true or ctx ends. Changes are seen through inotify on the state
// directory (records are replaced by rename, removals rename the
// directory away); where inotify is unavailable Watch polls.
func (c *Containers) Watch(ctx context.Context, id string, done func(*Container, error) bool) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err == nil {
		defer unix.Close(fd)
		_, err = unix.InotifyAddWatch(fd, c.Dir(id), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_MOVE_SELF|unix.IN_DELETE_SELF)
	}
	check := func() bool {
		rec, err := c.Load(id)
		if err != nil && !errdefs.IsNotFound(err) {
			return done(nil, err)
		}
		return done(rec, err)
	}
	buf := make([]byte, 4096)
	for {
		if check() {
			return nil
		}
		if err != nil {
			// No inotify (or the directory is gone): poll.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		// Wake up now and then to notice ctx.
		if _, perr := unix.Poll(fds, 100); perr != nil && perr != unix.EINTR {
			return perr
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for {
			if n, rerr := unix.Read(fd, buf); n <= 0 || rerr != nil {
				break
			}
		}
	}
}
