package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// newSystemPruneCommand is `docker system prune`: stopped containers,
// unused user networks, dangling (with -a unused) images and with
// --volumes unused anonymous volumes, in that order, so that what the
// containers held is free when the rest is pruned.
func newSystemPruneCommand(g *globalOptions) *cobra.Command {
	var all, volumes, force bool
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data: stopped containers, unused networks, dangling images (with -a unused ones), with --volumes unused anonymous volumes",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			warning := []string{"WARNING! This will remove:", "  - all stopped containers", "  - all networks not used by at least one container"}
			if volumes {
				warning = append(warning, "  - all anonymous volumes not used by at least one container")
			}
			if all {
				warning = append(warning, "  - all images without at least one container associated to them")
			} else {
				warning = append(warning, "  - all dangling images")
			}
			if !force && !confirm(c, strings.Join(warning, "\n")+"\n") {
				return nil
			}
			out := c.OutOrStdout()
			var reclaimed int64
			var errs []error
			section := func(title string, lines []string) {
				if len(lines) == 0 {
					return
				}
				fmt.Fprintln(out, title)
				for _, l := range lines {
					fmt.Fprintln(out, l)
				}
				fmt.Fprintln(out)
			}

			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			recs, err := h.cs.List()
			if err != nil {
				return err
			}
			var ctrs []string
			for _, rec := range recs {
				rec = h.refresh(c.Context(), rec)
				if active(rec) {
					continue
				}
				size := imagestore.DirSize(h.cs.Dir(rec.ID) + "/upper")
				if err := h.destroy(rec); err != nil {
					errs = append(errs, err)
					continue
				}
				reclaimed += size
				ctrs = append(ctrs, rec.ID)
			}
			section("Deleted Containers:", ctrs)

			nets, err := networkStore(g.root).List()
			if err != nil {
				return err
			}
			var removedNets []string
			for _, n := range nets {
				if !n.IsUser() {
					continue
				}
				if _, err := removeNetwork(g.root, n.Name); err == nil {
					removedNets = append(removedNets, n.Name)
				} else if !errdefs.IsConflict(err) {
					errs = append(errs, err)
				}
			}
			section("Deleted Networks:", removedNets)

			if volumes {
				removed, n, err := pruneVolumes(g.root, false)
				reclaimed += n
				if err != nil {
					errs = append(errs, err)
				}
				section("Deleted Volumes:", removed)
			}

			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			res, err := s.Prune(c.Context(), all)
			if err != nil {
				errs = append(errs, err)
			}
			var imgs []string
			for _, n := range res.Untagged {
				imgs = append(imgs, "untagged: "+n)
				emit("untag", journal.Field{Name: "BERTH_IMAGE_REF", Value: n})
			}
			for _, d := range res.Deleted {
				imgs = append(imgs, "deleted: "+d.String())
				emit("delete", journal.Field{Name: "BERTH_IMAGE_ID", Value: d.String()})
			}
			reclaimed += res.Reclaimed
			section("Deleted Images:", imgs)
			fmt.Fprintf(out, "Total reclaimed space: %s\n", units.HumanSizeWithPrecision(float64(reclaimed), 3))
			return errors.Join(errs...)
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	c.Flags().BoolVar(&volumes, "volumes", false, "Prune anonymous volumes")
	c.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return c
}

// newSystemGCCommand is what berth-gc.service runs besides `system check
// --repair`: it removes --rm containers that ended but were not removed
// (their cleanup did not get that far) and the image store's blobs and
// layers that no image reaches. Images, named or dangling, and
// containers without --rm are left to the prune commands.
func newSystemGCCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Remove exited --rm containers left behind and blobs and layers no image uses (berth-gc.timer runs it)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			recs, err := h.cs.List()
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			var errs []error
			for _, rec := range recs {
				if !rec.Options.AutoRemove {
					continue
				}
				rec = h.refresh(c.Context(), rec)
				if active(rec) || rec.State.Status != machine.StatusExited {
					continue
				}
				if err := h.destroy(rec); err != nil {
					errs = append(errs, err)
					continue
				}
				if _, err := removeAnonymousVolumes(g.root, h.cs, rec); err != nil {
					errs = append(errs, err)
				}
				fmt.Fprintf(out, "removed exited --rm container %s (%s)\n", machine.ShortID(rec.ID), rec.Name)
			}
			s, err := g.openStore(c)
			if err != nil {
				return errors.Join(append(errs, err)...)
			}
			freed, err := s.CollectGarbage(c.Context())
			if err != nil {
				errs = append(errs, err)
			}
			if freed > 0 {
				fmt.Fprintf(out, "removed unused blobs and layers: %s\n", units.HumanSizeWithPrecision(float64(freed), 3))
			}
			return errors.Join(errs...)
		},
	}
}
