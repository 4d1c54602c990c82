package machine

import (
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// TestWatch: Watch reports each change of a record, the exit of the
// process it names (a pidfd, not a poll: well before the record
// changes), and the record's removal.
func TestWatch(t *testing.T) {
	cs, _ := openTestContainers(t)
	mustCreate(t, cs, idWeb, "web", time.Now().UTC())
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Process.Kill()
	start, err := ProcStartTime(sleeper.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}

	type seen struct {
		status  string
		running bool
		gone    bool
		at      time.Time
	}
	var mu sync.Mutex
	var calls []seen
	record := func(s seen) {
		mu.Lock()
		defer mu.Unlock()
		if n := len(calls); n == 0 || calls[n-1].status != s.status || calls[n-1].running != s.running || calls[n-1].gone != s.gone {
			calls = append(calls, s)
		}
	}
	waitFor := func(what string, ok func(seen) bool) time.Time {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, c := range calls {
				if ok(c) {
					mu.Unlock()
					return c.at
				}
			}
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("Watch never reported %s; it reported %+v", what, calls)
		return time.Time{}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	watched := make(chan error, 1)
	go func() {
		watched <- cs.Watch(ctx, idWeb, func(r *Container, err error) bool {
			if err != nil {
				record(seen{gone: errdefs.IsNotFound(err), at: time.Now()})
				return true
			}
			record(seen{status: r.State.Status, running: r.IsRunning(), at: time.Now()})
			return false
		})
	}()
	waitFor("the created record", func(s seen) bool { return s.status == StatusCreated })

	if _, err := cs.Update(idWeb, func(r *Container) error {
		r.State.Status, r.State.Pid, r.State.PidStart = StatusRunning, sleeper.Process.Pid, start
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor("the running record", func(s seen) bool { return s.status == StatusRunning && s.running })

	// The process ends and the record does not change (yet): Watch
	// wakes on the exit and calls done, which sees it gone.
	killed := time.Now()
	sleeper.Process.Kill()
	sleeper.Wait()
	at := waitFor("the exit", func(s seen) bool { return s.status == StatusRunning && !s.running })
	if d := at.Sub(killed); d > watchMaxPause/2 {
		t.Errorf("Watch reported the exit %v after it; want at once (pidfd), not after a poll of %v", d, watchMaxPause)
	}

	if err := cs.Remove(idWeb); err != nil {
		t.Fatal(err)
	}
	waitFor("the removal", func(s seen) bool { return s.gone })
	if err := <-watched; err != nil {
		t.Fatalf("Watch: %v", err)
	}
}

// TestIsRunningZombie: a PID 1 that has exited is not running, though
// its parent has not reaped it yet.
func TestIsRunningZombie(t *testing.T) {
	p := exec.Command("sleep", "60")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	start, err := ProcStartTime(p.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Container{State: State{Pid: p.Process.Pid, PidStart: start}}
	if !rec.IsRunning() {
		t.Fatal("a sleeping process is not running")
	}
	p.Process.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, state, err := procStat(p.Process.Pid); err == nil && state == "Z" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed process never became a zombie")
		}
		time.Sleep(time.Millisecond)
	}
	if rec.IsRunning() {
		t.Error("a zombie counts as running")
	}
}
