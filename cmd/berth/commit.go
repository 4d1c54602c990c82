package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/berth/berth/imagebuild"
	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/spf13/cobra"
)

func newCommitCommand(g *globalOptions) *cobra.Command {
	var (
		message, author string
		changes         []string
		pause           bool
	)
	c := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Long: "Create a new image from a container's changes: its image plus one layer made of the\n" +
			"container's overlay upper directory (deletions as OCI whiteouts).",
		Args: rangeArgs(1, 2),
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
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			o := imagebuild.CommitOptions{Message: message, Author: author, Changes: changes}
			if len(args) == 2 {
				o.Ref = args[1]
			}
			out, err := h.commit(c.Context(), s, rec, o, pause)
			if err != nil {
				if errdefs.IsInvalid(err) {
					return usageError{err}
				}
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), out.ID)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVarP(&message, "message", "m", "", "Commit message")
	fl.StringVarP(&author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	fl.StringArrayVarP(&changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	fl.BoolVarP(&pause, "pause", "p", true, "Pause container during commit")
	return c
}

// commit makes an image of rec's image plus its changes (o's Ref, when
// set, names it); with pause a running container is frozen meanwhile.
func (h *host) commit(ctx context.Context, s *imagestore.Store, rec *machine.Container, o imagebuild.CommitOptions, pause bool) (imagestore.Image, error) {
	img, err := s.Get(ctx, rec.ImageID)
	if err != nil {
		return imagestore.Image{}, fmt.Errorf("the image of container %s: %w", rec.Name, err)
	}
	if spec, err := h.cs.Spec(rec.ID); err == nil && spec.Process != nil {
		o.CreatedBy = strings.Join(spec.Process.Args, " ")
	}
	o.TmpDir = filepath.Join(h.g.root, "tmp")
	o.MapOwner = usernsLayerOwner(rec) // userns.go: nil without a user namespace
	if pause && active(rec) {
		if err := h.pauseForCommit(ctx, rec); err != nil {
			return imagestore.Image{}, err
		}
		defer h.unpauseAfterCommit(ctx, rec)
	}
	return imagebuild.Commit(ctx, s, img, filepath.Join(h.cs.Dir(rec.ID), "upper"), o)
}

// pauseForCommit freezes a running container that is not paused yet,
// so that its files hold still while they are read, as Docker's commit
// --pause does; unpauseAfterCommit thaws it again.
func (h *host) pauseForCommit(ctx context.Context, rec *machine.Container) error {
	if rec.State.Paused {
		return nil
	}
	return h.freeze(ctx, rec, true)
}

func (h *host) unpauseAfterCommit(ctx context.Context, rec *machine.Container) {
	if !rec.State.Paused {
		h.freeze(ctx, rec, false)
	}
}
