package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/spf13/cobra"
)

func newVolumeCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	var labels []string
	create := &cobra.Command{
		Use:   "create [OPTIONS] NAME",
		Short: "Create a volume (a directory under /var/lib/berth/volumes)",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			vols, err := machine.OpenVolumes(g.root)
			if err != nil {
				return err
			}
			lm := map[string]string{}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				lm[k] = v
			}
			vol, _, err := vols.Create(args[0], lm)
			if err != nil {
				if errdefs.IsInvalid(err) {
					return usageError{err}
				}
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), vol.Name)
			return nil
		},
	}
	create.Flags().StringArrayVarP(&labels, "label", "l", nil, "Set metadata for a volume")

	var quiet bool
	var format string
	ls := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			vols, err := machine.OpenVolumes(g.root)
			if err != nil {
				return err
			}
			list, err := vols.List()
			if err != nil {
				return err
			}
			if quiet {
				format = "{{.Name}}"
			}
			f, err := newFormatter(c.OutOrStdout(), format, "{{.Driver}}\t{{.Name}}", map[string]string{"Name": "VOLUME NAME"})
			if err != nil {
				return err
			}
			for _, v := range list {
				if err := f.row(v); err != nil {
					return err
				}
			}
			return f.flush()
		},
	}
	ls.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	ls.Flags().StringVar(&format, "format", "", "Format output: table, json, 'table TEMPLATE' or a Go template")

	var iformat string
	inspect := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			vols, err := machine.OpenVolumes(g.root)
			if err != nil {
				return err
			}
			var objs []any
			var errs []error
			for _, name := range args {
				v, err := vols.Get(name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				b, _ := json.Marshal(v)
				var m map[string]any
				json.Unmarshal(b, &m)
				objs = append(objs, m)
			}
			if err := printInspect(c, objs, iformat); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	inspect.Flags().StringVarP(&iformat, "format", "f", "", "Format output using a Go template, or json")

	var force bool
	rm := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes; a volume a container uses is refused",
		Args:    minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var errs []error
			for _, name := range args {
				if err := removeVolume(g.root, name); err != nil {
					if force && errdefs.IsNotFound(err) {
						continue
					}
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), name)
			}
			return errors.Join(errs...)
		},
	}
	rm.Flags().BoolVarP(&force, "force", "f", false, "Do not error on a volume that does not exist")
	var pruneAll, pruneForce bool
	prune := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused volumes (with -a: named ones too; berth has no anonymous volumes yet)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if !pruneAll {
				// Docker (since 23.0) prunes only anonymous volumes
				// without --all; berth has none.
				fmt.Fprintln(c.OutOrStdout(), "Total reclaimed space: 0B")
				return nil
			}
			if !pruneForce && !confirm(c, "WARNING! This will remove all local volumes not used by at least one container.") {
				return nil
			}
			vols, err := machine.OpenVolumes(g.root)
			if err != nil {
				return err
			}
			cs, err := machine.OpenContainers(g.root)
			if err != nil {
				return err
			}
			recs, err := cs.List()
			if err != nil {
				return err
			}
			used := map[string]bool{}
			for _, r := range recs {
				for _, m := range r.Options.Mounts {
					if m.Type == machine.MountVolume {
						used[m.Source] = true
					}
				}
			}
			list, err := vols.List()
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), "Deleted Volumes:")
			var errs []error
			for _, v := range list {
				if used[v.Name] {
					continue
				}
				if err := vols.Remove(v.Name); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), v.Name)
			}
			return errors.Join(errs...)
		},
	}
	prune.Flags().BoolVarP(&pruneAll, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	prune.Flags().BoolVarP(&pruneForce, "force", "f", false, "Do not prompt for confirmation")
	c.AddCommand(create, ls, inspect, rm, prune)
	return c
}

// removeVolume removes volume name unless a container, running or not,
// mounts it (a conflict, in Docker's words).
func removeVolume(root, name string) error {
	vols, err := machine.OpenVolumes(root)
	if err != nil {
		return err
	}
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return err
	}
	recs, err := cs.List()
	if err != nil {
		return err
	}
	var users []string
	for _, r := range recs {
		for _, m := range r.Options.Mounts {
			if m.Type == machine.MountVolume && m.Source == name {
				users = append(users, machine.ShortID(r.ID))
			}
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("remove %s: volume is in use - [%s]: %w", name, strings.Join(users, ", "), errdefs.ErrConflict)
	}
	return vols.Remove(name)
}
