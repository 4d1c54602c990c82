package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// systemd's catalogue IDs of a unit's job messages (sd-messages.h).
const (
	msgStarting = "7d4958e842da4a758f6c1cdc7b36dcc5" // "Starting …" (not logged for Type=simple)
	msgStarted  = "39f53479d3a045ac8e11786248231fbf" // "Started …"
	msgSuccess  = "7ad2d189f7e94e70a38c781354912448" // "…: Deactivated successfully."
)

// phases of one run, split at the unit's job messages in the journal.
var phaseNames = []string{
	"client → unit starts",
	"unit starts → started",
	"started → deactivated",
	"deactivated → client exits",
}

// breakdown is where the time of one command goes, p50 of each phase.
type breakdown struct {
	label  string
	argv   []string // with NAME for the per-run name
	phases [][]time.Duration
	total  []time.Duration
}

// breakdowns runs the floor and then the attached berth run n times each
// more, each under a unit name of its own, and splits each run at its
// unit's job messages in the journal (their sender's timestamps).
func (b *bench) breakdowns(ctx context.Context, n int) ([]*breakdown, error) {
	bds := []*breakdown{
		{label: "systemd-run (floor)", argv: []string{"systemd-run", "-P", "-q", "--unit=NAME", "true"}},
		{label: "berth run", argv: []string{b.berth, "run", "--rm", "--network", "none", "--name", "NAME", "busybox", "true"}},
	}
	since := time.Now()
	type span struct{ start, end time.Time }
	runs := map[string]span{} // by unit
	// One command after the other, not interleaved: the breakdown of the
	// floor should not include systemd's work on berth's last unit.
	for j, bd := range bds {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("bench-phase-%d-%d", j, i)
			unit := name + ".service"
			if j == 1 {
				unit = "berth-" + unit
			}
			argv := make([]string, len(bd.argv))
			for k, a := range bd.argv {
				argv[k] = strings.ReplaceAll(a, "NAME", name)
			}
			c := &command{argv: argv, out: b.commands[0].out}
			if j == 1 {
				c.settle = b.berthRun.settle
			}
			start := time.Now()
			d, err := c.once(ctx)
			if err != nil {
				return nil, err
			}
			runs[unit] = span{start, start.Add(d)}
			bd.total = append(bd.total, d)
		}
	}
	exec.CommandContext(ctx, "journalctl", "--sync").Run()
	ev, err := jobMessages(ctx, since)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		for j, bd := range bds {
			unit := fmt.Sprintf("bench-phase-%d-%d.service", j, i)
			if j == 1 {
				unit = "berth-" + unit
			}
			e := ev[unit]
			if e[msgStarting].IsZero() {
				e[msgStarting] = e[msgStarted] // Type=simple: started as soon as forked
			}
			if e[msgStarted].IsZero() || e[msgSuccess].IsZero() {
				return nil, fmt.Errorf("breakdown: no start or stop messages of %s in the journal", unit)
			}
			s := runs[unit]
			bd.phases = append(bd.phases, []time.Duration{
				e[msgStarting].Sub(s.start),
				e[msgStarted].Sub(e[msgStarting]),
				e[msgSuccess].Sub(e[msgStarted]),
				s.end.Sub(e[msgSuccess]),
			})
		}
	}
	return bds, nil
}

// jobMessages reads the job messages logged since then, by unit and
// message ID.
func jobMessages(ctx context.Context, since time.Time) (map[string]map[string]time.Time, error) {
	argv := []string{"journalctl", "-o", "json", "--no-pager", "-q", "--since", "@" + strconv.FormatInt(since.Unix()-1, 10),
		"_PID=1", "MESSAGE_ID=" + msgStarting, "MESSAGE_ID=" + msgStarted, "MESSAGE_ID=" + msgSuccess}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	ev := map[string]map[string]time.Time{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		unit, _ := e["UNIT"].(string)
		id, _ := e["MESSAGE_ID"].(string)
		ts, _ := e["_SOURCE_REALTIME_TIMESTAMP"].(string)
		if ts == "" {
			ts, _ = e["__REALTIME_TIMESTAMP"].(string)
		}
		us, err := strconv.ParseInt(ts, 10, 64)
		if unit == "" || err != nil {
			continue
		}
		if ev[unit] == nil {
			ev[unit] = map[string]time.Time{}
		}
		if _, seen := ev[unit][id]; !seen {
			ev[unit][id] = time.UnixMicro(us)
		}
	}
	return ev, sc.Err()
}

// p50s is the median of each phase, and of the whole.
func (bd *breakdown) p50s() (phases []time.Duration, total time.Duration) {
	for k := range phaseNames {
		var xs []time.Duration
		for _, p := range bd.phases {
			xs = append(xs, p[k])
		}
		phases = append(phases, percentile(xs, 50))
	}
	return phases, percentile(bd.total, 50)
}
