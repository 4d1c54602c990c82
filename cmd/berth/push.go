package main

import (
	"fmt"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine/journal"
	"github.com/spf13/cobra"
)

func newTagCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			if err := s.Tag(c.Context(), args[0], args[1]); err != nil {
				if errdefs.IsInvalid(err) {
					return usageError{err}
				}
				return err
			}
			emit("tag", journal.Field{Name: "BERTH_IMAGE_REF", Value: args[1]})
			return nil
		},
	}
}

func newPushCommand(g *globalOptions) *cobra.Command {
	var tlsVerify bool
	c := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry (its name says where)",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rr, err := imagestore.ParseRemoteReference(args[0])
			if err != nil {
				return usageError{err}
			}
			cfg, err := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
			if err != nil {
				return engineError{err}
			}
			s, err := g.openStore(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "The push refers to repository [%s/%s]\n", rr.Registry, rr.Repository)
			d, err := s.Push(c.Context(), args[0], imagestore.PushOptions{Insecure: !tlsVerify || cfg.Insecure(rr.Registry)})
			if err != nil {
				return err
			}
			emit("push", journal.Field{Name: "BERTH_IMAGE_REF", Value: rr.Full})
			fmt.Fprintf(c.OutOrStdout(), "%s: digest: %s\n", rr.Local.Tag, d)
			return nil
		},
	}
	c.Flags().BoolVar(&tlsVerify, "tls-verify", true, "require HTTPS with a verified certificate (except on loopback)")
	return c
}
