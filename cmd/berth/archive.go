package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine/journal"
	"github.com/spf13/cobra"
)

func newSaveCommand(g *globalOptions) *cobra.Command {
	var output, format string
	c := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var w io.Writer = c.OutOrStdout()
			if output == "" {
				if f, ok := w.(*os.File); ok && isTerminal(f) {
					return usageError{fmt.Errorf("refusing to write the archive to a terminal: use -o FILE or redirect stdout")}
				}
			}
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			if output == "" {
				return saveError(s.Save(c.Context(), w, args, format))
			}
			// A file appears whole or not at all, and an existing one
			// survives a failed save.
			f, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".")
			if err != nil {
				return err
			}
			defer os.Remove(f.Name())
			err = s.Save(c.Context(), f, args, format)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Chmod(f.Name(), 0o644)
			}
			if err == nil {
				err = os.Rename(f.Name(), output)
			}
			return saveError(err)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	c.Flags().StringVar(&format, "format", imagestore.DockerArchive, "Archive format: docker-archive or oci-archive")
	return c
}

func newLoadCommand(g *globalOptions) *cobra.Command {
	var input string
	var quiet bool
	c := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive (a Docker or an OCI archive)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			path := input
			if path == "" {
				// The archive is read more than once: keep STDIN in a file.
				f, err := os.CreateTemp("", "berth-load-")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				_, err = io.Copy(f, c.InOrStdin())
				f.Close()
				if err != nil {
					return err
				}
				path = f.Name()
			}
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			names, err := s.Load(c.Context(), path)
			for _, n := range names {
				emit("load", journal.Field{Name: "BERTH_IMAGE_REF", Value: n})
				if !quiet {
					fmt.Fprintf(c.OutOrStdout(), "Loaded image: %s\n", n)
				}
			}
			if errdefs.IsInvalid(err) {
				return usageError{err}
			}
			return err
		},
	}
	c.Flags().StringVarP(&input, "input", "i", "", "Read from a tar archive file, instead of STDIN")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output")
	return c
}

// saveError makes a bad format a usage error (exit 125).
func saveError(err error) error {
	if errdefs.IsInvalid(err) {
		return usageError{err}
	}
	return err
}
