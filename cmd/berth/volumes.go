package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func newVolumeCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	var labels, opts []string
	var driver string
	create := &cobra.Command{
		Use:   "create [OPTIONS] NAME",
		Short: "Create a volume (a directory under /var/lib/berth/volumes)",
		Long: `Create a volume (a directory under /var/lib/berth/volumes).

With --opt, as Docker's local driver: the volume is a mount, made on the
host when the first container that uses it starts and undone when the
last one has stopped:
  --opt type=tmpfs [--opt device=tmpfs] [--opt o=size=64m,uid=1000]
  --opt type=none --opt o=bind --opt device=/host/path
  --opt type=ext4 --opt device=/dev/vdb1 [--opt o=noatime]`,
		Args: exactArgs(1),
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
			om := map[string]string{}
			for _, o := range opts {
				k, v, ok := strings.Cut(o, "=")
				if !ok {
					return usageError{fmt.Errorf("invalid option %q: want KEY=VALUE", o)}
				}
				om[k] = v
			}
			if _, err := machine.ParseVolumeOptions(driver, om); err != nil {
				return usageError{err}
			}
			vol, created, err := vols.CreateWithOptions(args[0], lm, om)
			if err != nil {
				if errdefs.IsInvalid(err) {
					return usageError{err}
				}
				return err
			}
			if created {
				emitVolume("create", vol.Name)
			}
			fmt.Fprintln(c.OutOrStdout(), vol.Name)
			return nil
		},
	}
	create.Flags().StringArrayVarP(&labels, "label", "l", nil, "Set metadata for a volume")
	create.Flags().StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options: type=, device=, o= (see above)")
	create.Flags().StringVarP(&driver, "driver", "d", "local", "Specify volume driver name (local only)")

	var quiet bool
	var format string
	var filters []string
	ls := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			filter, err := parseObjectFilter("volumes", filters, volumeFilterKeys)
			if err != nil {
				return usageError{err}
			}
			list, err := filteredVolumes(g.root, filter)
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
	ls.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Filter output based on conditions provided: name, label, driver, dangling")
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
		Short: "Remove unused anonymous volumes (with -a: unused named ones too)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			warning := "WARNING! This will remove anonymous local volumes not used by at least one container."
			if pruneAll {
				warning = "WARNING! This will remove all local volumes not used by at least one container."
			}
			if !pruneForce && !confirm(c, warning) {
				return nil
			}
			removed, reclaimed, err := pruneVolumes(g.root, pruneAll)
			out := c.OutOrStdout()
			if len(removed) > 0 {
				fmt.Fprintln(out, "Deleted Volumes:")
				for _, n := range removed {
					fmt.Fprintln(out, n)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSizeWithPrecision(float64(reclaimed), 3))
			return err
		},
	}
	prune.Flags().BoolVarP(&pruneAll, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	prune.Flags().BoolVarP(&pruneForce, "force", "f", false, "Do not prompt for confirmation")
	c.AddCommand(create, ls, inspect, rm, prune)
	return c
}

// removeVolume removes volume name unless a container, running or not,
// mounts it (a conflict, in Docker's words), and records its destroy
// event.
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
	if err := vols.Remove(name); err != nil {
		return err
	}
	emitVolume("destroy", name)
	return nil
}

// pruneVolumes removes the volumes no container uses: anonymous ones,
// or with all every one. It returns their names and the bytes freed.
func pruneVolumes(root string, all bool) (removed []string, reclaimed int64, err error) {
	vols, err := machine.OpenVolumes(root)
	if err != nil {
		return nil, 0, err
	}
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return nil, 0, err
	}
	recs, err := cs.List()
	if err != nil {
		return nil, 0, err
	}
	list, err := vols.List()
	if err != nil {
		return nil, 0, err
	}
	var errs []error
	for _, v := range list {
		if _, anon := v.Labels[machine.AnonymousVolumeLabel]; !anon && !all {
			continue
		}
		if slices.ContainsFunc(recs, func(r *machine.Container) bool { return r.UsesVolume(v.Name) }) {
			continue
		}
		n := imagestore.DirSize(vols.Path(v.Name))
		if err := vols.Remove(v.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		emitVolume("destroy", v.Name)
		removed = append(removed, v.Name)
		reclaimed += n
	}
	return removed, reclaimed, errors.Join(errs...)
}

// filteredVolumes are the volumes that pass filter.
func filteredVolumes(root string, filter objectFilter) ([]machine.Volume, error) {
	vols, err := machine.OpenVolumes(root)
	if err != nil {
		return nil, err
	}
	list, err := vols.List()
	if err != nil || len(filter) == 0 {
		return list, err
	}
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return nil, err
	}
	recs, err := cs.List()
	if err != nil {
		return nil, err
	}
	var out []machine.Volume
	for _, v := range list {
		if filter.match(volumeFilterable(v, recs)) {
			out = append(out, v)
		}
	}
	return out, nil
}
