package main

import (
	"github.com/berth/berth/cmd/internal/unitproc"
	"github.com/spf13/cobra"
)

// The hidden commands that systemd runs for a container's unit (see
// machine.UnitProperties) when berth-unit is not installed, and for
// apps' units: cmd/internal/unitproc. They talk to the journal, not to a
// terminal.

func newInitCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__init ID",
		Short:  "Start a container's PID 1 and hand it to systemd (the unit's ExecStart)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return unitproc.Init(g.root, args[0])
		},
	}
}

func newCleanupCommand(g *globalOptions) *cobra.Command {
	var completed, skipRecorded bool
	c := &cobra.Command{
		Use:    "__cleanup ID",
		Short:  "Record how a container ended (the unit's ExecStopPost)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return unitproc.CleanupWith(g.root, args[0], unitproc.CleanupFlags{Completed: completed, SkipRecorded: skipRecorded})
		},
	}
	c.Flags().BoolVar(&completed, "completed", false, "The main process has exited with status 0 (a oneshot's ExecStartPost)")
	c.Flags().BoolVar(&skipRecorded, "skip-recorded", false, "Do nothing when the container's end is recorded already")
	return c
}
