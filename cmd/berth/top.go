package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/cgroup"
	"github.com/spf13/cobra"
)

func newTopCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Long: "Display the running processes of a container: the processes of its unit's cgroup, as\n" +
			"ps(1) on the host shows them (ps -ef unless OPTIONS are given; they need a PID column).",
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			rec, err := h.cs.Lookup(args[0])
			if err != nil {
				return err
			}
			titles, rows, err := h.top(c.Context(), rec, args[1:])
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 20, 1, 3, ' ', 0)
			fmt.Fprintln(tw, strings.Join(titles, "\t"))
			for _, r := range rows {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
			return tw.Flush()
		},
	}
	c.Flags().SetInterspersed(false)
	return c
}

// top runs ps with psArgs (-ef when none) and keeps the rows of the
// processes in rec's unit's cgroup.
func (h *host) top(ctx context.Context, rec *machine.Container, psArgs []string) (titles []string, rows [][]string, err error) {
	if !rec.IsRunning() {
		return nil, nil, classed{fmt.Errorf("container %s is not running", rec.Name), errdefs.ErrConflict}
	}
	cg, err := h.controlGroup(ctx, rec)
	if err != nil {
		return nil, nil, err
	}
	pids, err := cgroup.Host.PIDs(cg)
	if err != nil {
		return nil, nil, err
	}
	pids = inContainerPIDNS(rec.State.Pid, pids) // ttylog.go
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			return nil, nil, classed{fmt.Errorf("ps: %s", strings.TrimSpace(string(ee.Stderr))), errdefs.ErrInvalid}
		}
		return nil, nil, fmt.Errorf("ps: %w", err)
	}
	return psRows(string(out), pids)
}

// psRows keeps the lines of ps output whose PID column is one of pids,
// as Docker's top: the columns are split on blanks, the last one (the
// command) keeps its own.
func psRows(out string, pids []int) (titles []string, rows [][]string, err error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	titles = strings.Fields(lines[0])
	col := slices.Index(titles, "PID")
	if col < 0 {
		return nil, nil, fmt.Errorf("couldn't find PID field in ps output")
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil || !slices.Contains(pids, pid) {
			continue
		}
		if len(f) > len(titles) {
			// The last column is the command, blanks and all.
			rest := l
			for range len(titles) - 1 {
				rest = strings.TrimLeft(rest, " \t")
				rest = rest[strings.IndexAny(rest, " \t"):]
			}
			f = append(f[:len(titles)-1], strings.TrimSpace(rest))
		}
		rows = append(rows, f)
	}
	return titles, rows, nil
}
