package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth/berth/machine"
	"github.com/spf13/cobra"
)

// update changes the limits and restart policy of the container ref
// (berth update, docker update): the record, which every later start
// builds the unit from, and for a container that runs its unit's cgroup
// limits at once (systemd's SetUnitProperties). The restart policy
// applies from the next start; the warnings say so for one that runs.
func (h *host) update(ctx context.Context, ref string, u machine.Update) (warnings []string, err error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	rec, err := h.cs.Lookup(ref)
	if err != nil {
		return nil, err
	}
	rec, err = h.cs.Update(rec.ID, func(r *machine.Container) error {
		defer u.Apply(&r.Options)
		if !active(r) {
			return nil
		}
		if props := u.RuntimeProperties(); len(props) > 0 {
			m, err := h.systemd(ctx)
			if err != nil {
				return err
			}
			if err := m.SetProperties(ctx, r.Unit, props); err != nil {
				return fmt.Errorf("Cannot update container %s: %w", r.Name, err)
			}
		}
		if u.Restart != nil && *u.Restart != r.Options.Restart {
			warnings = append(warnings, fmt.Sprintf("The restart policy of %s applies from its next start: its unit %s has the old one while it runs", r.Name, r.Unit))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	emit("update", containerFields(rec)...)
	return warnings, nil
}

// rename renames the container ref (berth rename, docker rename): see
// machine.Containers.Rename; a running container keeps its name.
func (h *host) rename(ref, newName string) error {
	rec, err := h.cs.Lookup(ref)
	if err != nil {
		return err
	}
	if err := h.cs.Rename(rec.ID, newName); err != nil {
		return err
	}
	if rec, err = h.cs.Load(rec.ID); err != nil {
		return err
	}
	emit("rename", containerFields(rec)...)
	return nil
}

func newUpdateCommand(g *globalOptions) *cobra.Command {
	var memory, cpus, restart string
	var pids int64
	c := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Long: "Update the memory, CPU and process limits and the restart policy of containers. A running\n" +
			"container's unit gets the new limits at once (systemctl set-property --runtime); the restart\n" +
			"policy applies from its next start.",
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var u machine.Update
			fl := c.Flags()
			if fl.Changed("memory") {
				m, err := machine.ParseMemory(memory)
				if err != nil {
					return usageError{fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %w", memory, err)}
				}
				u.Memory = &m
			}
			if fl.Changed("cpus") {
				n, err := machine.ParseCPUs(cpus)
				if err != nil {
					return usageError{fmt.Errorf("invalid argument %q for \"--cpus\" flag: %w", cpus, err)}
				}
				u.CPUs = &n
			}
			if fl.Changed("pids-limit") {
				u.PidsLimit = &pids
			}
			if fl.Changed("restart") {
				p, err := machine.ParseRestartPolicy(restart)
				if err != nil {
					return usageError{err}
				}
				u.Restart = &p
			}
			if u.IsEmpty() {
				return usageError{errors.New("you must provide one or more flags when using this command")}
			}
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			var errs []error
			for _, ref := range args {
				warnings, err := h.update(c.Context(), ref, u)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for _, w := range warnings {
					fmt.Fprintln(c.ErrOrStderr(), "WARNING:", w)
				}
				fmt.Fprintln(c.OutOrStdout(), ref)
			}
			return errors.Join(errs...)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&memory, "memory", "m", "", "Memory limit (0: none)")
	fl.StringVar(&cpus, "cpus", "", "Number of CPUs (0: no limit)")
	fl.Int64Var(&pids, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fl.StringVar(&restart, "restart", "", "Restart policy to apply when a container exits")
	return c
}

func newRenameCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Long: "Rename a container that does not run: its record, its name, and the unit (berth-NAME.service)\n" +
			"and machine named after it. A running container keeps its name: its unit cannot be renamed.",
		Args: exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			return h.rename(args[0], args[1])
		},
	}
}
