package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/cgroup"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// statsRow is one line of `berth stats`, with Docker's field names.
type statsRow struct {
	BlockIO   string
	CPUPerc   string
	Container string
	ID        string
	MemPerc   string
	MemUsage  string
	Name      string
	NetIO     string
	PIDs      string
}

const statsTable = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsNames = map[string]string{
	"ID": "CONTAINER ID", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
	"NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS", "Container": "CONTAINER",
}

// sample is one reading of a container's counters.
type sample struct {
	at     time.Time
	st     cgroup.Stats
	rx, tx uint64
	ok     bool
}

func newStatsCommand(g *globalOptions) *cobra.Command {
	var all, noStream, noTrunc bool
	var format string
	c := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		Long: "Display containers' resource usage from their units' cgroups: CPU (over the last second),\n" +
			"memory as Docker counts it (less the inactive file cache) against the limit or the host's\n" +
			"memory, network I/O of the container's interfaces, block I/O where the host accounts it,\n" +
			"and the number of tasks.",
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			var recs []*machine.Container
			if len(args) > 0 {
				for _, a := range args {
					rec, err := h.cs.Lookup(a)
					if err != nil {
						return err
					}
					recs = append(recs, rec)
				}
			} else {
				list, err := h.cs.List()
				if err != nil {
					return err
				}
				for _, r := range list {
					if all || r.IsRunning() {
						recs = append(recs, r)
					}
				}
			}
			names := args
			if len(args) == 0 {
				for _, r := range recs {
					names = append(names, r.Name)
				}
			}
			ctx := c.Context()
			prev := h.sampleAll(ctx, recs)
			for {
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
					return nil
				}
				cur := h.sampleAll(ctx, recs)
				w := c.OutOrStdout()
				if !noStream && format != "json" {
					io.WriteString(w, "\033[2J\033[H") // clear the screen, as Docker
				}
				f, err := newFormatter(w, format, statsTable, statsNames)
				if err != nil {
					return err
				}
				for i, rec := range recs {
					id := rec.ID
					if !noTrunc {
						id = machine.ShortID(id)
					}
					row := statsLine(prev[i], cur[i])
					row.ID, row.Name, row.Container = id, rec.Name, names[i]
					if err := f.row(row); err != nil {
						return err
					}
				}
				if err := f.flush(); err != nil {
					return err
				}
				if noStream {
					return nil
				}
				prev = cur
			}
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	fl.BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	fl.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate output")
	fl.StringVar(&format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	return c
}

// sampleAll reads every container's counters; one that is not running
// has none.
func (h *host) sampleAll(ctx context.Context, recs []*machine.Container) []sample {
	out := make([]sample, len(recs))
	for i, rec := range recs {
		if !rec.IsRunning() {
			continue
		}
		cg, err := h.controlGroup(ctx, rec)
		if err != nil {
			continue
		}
		st, err := cgroup.Host.Stats(cg)
		if err != nil {
			continue
		}
		s := sample{at: time.Now(), st: st, ok: true}
		if f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", rec.State.Pid)); err == nil {
			s.rx, s.tx, _ = cgroup.NetDev(f)
			f.Close()
		}
		out[i] = s
	}
	return out
}

// statsLine formats two samples as Docker does: CPU % is the CPU time
// used between them over the time passed (100% a core), memory in
// binary units, I/O in decimal ones.
func statsLine(prev, cur sample) statsRow {
	if !cur.ok {
		return statsRow{CPUPerc: "0.00%", MemUsage: "0B / 0B", MemPerc: "0.00%", NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "0"}
	}
	cpu := 0.0
	if prev.ok && cur.at.After(prev.at) && cur.st.CPUNanos >= prev.st.CPUNanos {
		cpu = float64(cur.st.CPUNanos-prev.st.CPUNanos) / float64(cur.at.Sub(prev.at).Nanoseconds()) * 100
	}
	limit := cur.st.MemLimit
	if limit == 0 {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			limit = si.Totalram * uint64(si.Unit)
		}
	}
	memPerc := 0.0
	if limit > 0 {
		memPerc = float64(cur.st.MemUsage) / float64(limit) * 100
	}
	dec := func(n uint64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
	return statsRow{
		CPUPerc:  fmt.Sprintf("%.2f%%", cpu),
		MemUsage: units.BytesSize(float64(cur.st.MemUsage)) + " / " + units.BytesSize(float64(limit)),
		MemPerc:  fmt.Sprintf("%.2f%%", memPerc),
		NetIO:    dec(cur.rx) + " / " + dec(cur.tx),
		BlockIO:  dec(cur.st.BlockRead) + " / " + dec(cur.st.BlockWrite),
		PIDs:     fmt.Sprint(cur.st.PIDs),
	}
}
