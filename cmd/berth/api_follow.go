package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
)

// followUntilExit writes rec's output from since to out and errw until
// the container's die record (docker run's and docker attach's stream),
// as berth run reads it (startAttached): journalctl follows the output
// while the container runs, but journald wakes its followers at most
// every 250 ms, so the end is not waited for there: the container's
// record says when it has ended (or that it is gone), and reads of
// journald's files from the last entry seen collect the rest up to the
// die record. It returns when ctx ends too (the client left).
func (h *host) followUntilExit(ctx context.Context, rec *machine.Container, since time.Time, out, errw io.Writer) {
	match := []string{"CONTAINER_ID_FULL=" + rec.ID}
	var cursor string
	died := false
	emit := func(e journal.Entry) error {
		cursor = e.Cursor
		if e.Fields["BERTH_EVENT"] == "die" {
			died = true
			return journal.ErrStop
		}
		writeEntry(e, out, errw)
		return nil
	}
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		select {
		case <-fctx.Done():
			return
		case <-time.After(followDelay):
		}
		err := journal.Read(fctx, journal.Query{Matches: match, Since: since, Follow: true}, emit)
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(errw, "berth: %v\n", err)
		}
	}()
	err := h.cs.Watch(ctx, rec.ID, func(r *machine.Container, err error) bool {
		if err != nil {
			return true // removed: its die record, if it ran, is in the journal
		}
		if r.State.Status == machine.StatusRunning && !r.IsRunning() {
			r = h.refresh(ctx, r) // gone without its cleanup's record
		}
		s := r.State
		return (s.Status == machine.StatusExited || s.Status == machine.StatusRestarting) && !s.FinishedAt.Before(since)
	})
	stopFollow()
	<-followed
	if err != nil || died {
		return
	}
	// The die record is sent before the record changes, but journald
	// may not have written it yet: read again until it is there (a
	// container removed before it ran has none: the tries end).
	for try := 0; !died && try <= dieRecordTries && ctx.Err() == nil; try++ {
		if try > 0 {
			time.Sleep(dieRecordPause)
		}
		readRest(ctx, journal.Query{Matches: match, Since: since, AfterCursor: cursor}, emit)
	}
}
