package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/spf13/cobra"
)

// The hidden commands an app's units run besides __prepare: the pull
// oneshot's (__pull-missing) and the wait for a dependency that must have
// completed (__wait-completed, an ExecStartPre).

func newPullMissingCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__pull-missing IMAGE",
		Short:  "Pull an image the store lacks (an app's pull oneshot)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			store, err := g.openStore(c)
			if err != nil {
				return err
			}
			if _, err := store.Get(c.Context(), args[0]); !errdefs.IsNotFound(err) {
				return err // there (nil), or the store is broken
			}
			fmt.Fprintf(os.Stderr, "berth: pulling %s\n", args[0])
			if _, err := store.Pull(c.Context(), args[0], imagestore.PullOptions{}); err != nil {
				return fmt.Errorf("pull %s: %w", args[0], err)
			}
			return nil
		},
	}
}

func newWaitCompletedCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__wait-completed ID",
		Short:  "Wait until a container has exited with status 0 (an app's depends_on condition completed)",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cs, err := machine.OpenContainers(g.root)
			if err != nil {
				return err
			}
			return waitCompleted(c.Context(), cs, args[0])
		},
	}
}

// waitCompleted waits until the container id has run and exited: the
// ExecStartPre that units written by berth before a job's unit became a
// oneshot (unitgen.IsJob) run for `depends_on` condition "completed";
// kept for the units `berth up --persist` left in /etc/systemd/system
// until the next `berth up` rewrites them. It returns nil
// for exit status 0, an error naming the status otherwise. The unit
// runs it after its dependency's unit has started (After=), so the run
// it sees ending is that start's; the unit's start timeout bounds it.
func waitCompleted(ctx context.Context, cs *machine.Containers, id string) error {
	for {
		rec, err := cs.Load(id)
		if err != nil {
			return err
		}
		st := rec.State
		if st.Status == machine.StatusExited && !st.StartedAt.IsZero() && !st.FinishedAt.Before(st.StartedAt) {
			if st.ExitCode != 0 {
				return fmt.Errorf("container %s did not complete successfully: exit status %d", rec.Name, st.ExitCode)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container %s has not completed: %w", rec.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
