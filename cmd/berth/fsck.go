package main

import (
	"fmt"

	"github.com/berth/berth/imagestore"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func newFsckCommand(g *globalOptions) *cobra.Command {
	var repair bool
	c := &cobra.Command{
		Use:   "fsck [OPTIONS]",
		Short: "Verify every blob and unpacked layer of the image store",
		Long: `Verify the image store: every blob against its digest, every image's
manifest, config and layers, and every unpacked layer against its blob
(unpacked again and compared entry by entry). Each problem is printed on
one line; the exit status is 1 when there is any.

With --repair, a layer that is missing or differs is unpacked again from
its intact blob; corrupt blobs are deleted, and the images that can no
longer be served are removed (pull or load them again).`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			res, err := s.Fsck(c.Context(), imagestore.FsckOptions{Repair: repair})
			out := c.OutOrStdout()
			for _, p := range res.Problems {
				fmt.Fprintln(out, p)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "checked %d images, %d blobs, %d layers: %d problems", res.Images, res.Blobs, res.Layers, len(res.Problems))
			if repair {
				fmt.Fprintf(out, ", %d images removed, %s reclaimed", len(res.Removed), units.HumanSizeWithPrecision(float64(res.Reclaimed), 3))
			}
			fmt.Fprintln(out)
			if len(res.Problems) > 0 {
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&repair, "repair", false, "unpack bad layers again from their blobs; delete corrupt blobs and the images that cannot be served")
	return c
}
