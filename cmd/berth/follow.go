package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
)

// How long untilExit waits before it asks systemd about a container
// whose PID 1 is gone but whose record still says it runs (and then
// between two questions), and for the removal of an --rm container
// whose end is recorded.
const (
	refreshAfter = 200 * time.Millisecond
	removeWait   = 2 * time.Second
)

// outputFollower writes a container's output from the journal, from
// since to its die record, as `berth run`, `docker run` and `docker
// attach` show it. journalctl follows the output while the container
// runs (from followDelay on: most short containers are over by then,
// and one read at the end is all they need), but journald wakes its
// followers at most every 250 ms, so the end is not waited for there:
// the container's record says when it has ended (its cleanup writes the
// die record to the journal first), and reads of journald's files from
// the last entry seen collect the rest up to the die record.
type outputFollower struct {
	h        *host
	rec      *machine.Container
	since    time.Time
	match    []string
	cursor   string
	code     int // the die record's exit code; -1 until it is read
	emit     func(journal.Entry) error
	stop     context.CancelFunc
	followed chan struct{}
}

// follow starts following rec's output to out and errw (stdout, and
// stderr for what the container wrote there).
func (h *host) follow(ctx context.Context, rec *machine.Container, since time.Time, out, errw io.Writer) *outputFollower {
	f := &outputFollower{h: h, rec: rec, since: since, match: []string{"CONTAINER_ID_FULL=" + rec.ID}, code: -1, followed: make(chan struct{})}
	f.emit = func(e journal.Entry) error {
		f.cursor = e.Cursor
		if e.Fields["BERTH_EVENT"] == "die" {
			f.code, _ = strconv.Atoi(e.Fields["EXIT_CODE"])
			return journal.ErrStop
		}
		writeEntry(e, out, errw)
		return nil
	}
	var fctx context.Context
	fctx, f.stop = context.WithCancel(ctx)
	go func() {
		defer close(f.followed)
		select {
		case <-fctx.Done():
			return
		case <-time.After(followDelay):
		}
		err := journal.Read(fctx, journal.Query{Matches: f.match, Since: since, Follow: true}, f.emit)
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(errw, "berth: %v\n", err)
		}
	}()
	return f
}

// cancel stops following (a container that did not start).
func (f *outputFollower) cancel() {
	f.stop()
	<-f.followed
}

// untilExit waits until the container's record says it ended, or that
// it is gone, then writes the rest of its output up to the die record.
// It returns the die record's exit code (-1 without one: a container
// removed before it ran has none), the last record seen (nil once it
// is removed) and the error of the wait or of a last read that found
// nothing.
func (f *outputFollower) untilExit(ctx context.Context) (code int, final *machine.Container, err error) {
	var goneSince, refreshed, endSeen time.Time
	err = f.h.cs.Watch(ctx, f.rec.ID, func(r *machine.Container, err error) bool {
		if err != nil {
			return true // removed (--rm): its die record, if it ran, is in the journal
		}
		now := time.Now()
		if r.State.Status == machine.StatusRunning && !r.IsRunning() {
			// Gone without its cleanup's record (the cleanup was killed)
			// once systemd has let go of the unit: refresh says so. Not
			// while the cleanup runs as usual (milliseconds): refresh
			// reads all of the unit's properties from systemd, which
			// would hold up systemd's start of that very cleanup.
			if goneSince.IsZero() {
				goneSince = now
			}
			if now.Sub(goneSince) >= refreshAfter && now.Sub(refreshed) >= refreshAfter {
				refreshed = now
				if r = f.h.refresh(ctx, r); r.State.Status != machine.StatusRunning {
					final = r
					return true // no cleanup ran: nothing will remove it either
				}
			}
		}
		final = r
		s := r.State
		ended := (s.Status == machine.StatusExited || s.Status == machine.StatusRestarting) && !s.FinishedAt.Before(f.since)
		if ended && r.Options.AutoRemove && s.Status == machine.StatusExited && s.Error == "" {
			// --rm: its cleanup removes it right after it records the
			// end. Wait for that, as Docker's run --rm does, but not for
			// ever: a cleanup that could not remove it said so in the
			// unit's journal.
			if endSeen.IsZero() {
				endSeen = now
			}
			return now.Sub(endSeen) >= removeWait
		}
		return ended
	})
	f.cancel()
	if err != nil {
		return f.code, final, err
	}
	// The die record is sent to journald before the record changes, but
	// journald may not have written it yet when the read comes: read
	// again, from the last entry seen, until it is there.
	var rerr error
	for try := 0; f.code < 0 && try <= dieRecordTries && ctx.Err() == nil; try++ {
		if try > 0 {
			time.Sleep(dieRecordPause)
		}
		rerr = readRest(ctx, journal.Query{Matches: f.match, Since: f.since, AfterCursor: f.cursor}, f.emit)
	}
	if f.code < 0 && rerr != nil {
		return f.code, final, rerr
	}
	return f.code, final, nil
}
