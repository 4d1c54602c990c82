package main

import (
	"fmt"
	"path/filepath"

	"github.com/berth/berth/machine"
	"github.com/spf13/cobra"
)

func newGenerateCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "generate",
		Short: "Generate configuration for other tools",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	var wantedBy []string
	sd := &cobra.Command{
		Use:   "systemd [OPTIONS] CONTAINER",
		Short: "Print a systemd unit file that runs an existing container",
		Long: "Print the unit file of an existing container: the same unit `berth start` makes as a transient\n" +
			"unit, berth-NAME.service, to install in /etc/systemd/system so that systemd starts the container\n" +
			"at boot (systemctl enable). Once installed, berth start and systemctl start both use it.",
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			rec, err := h.cs.Lookup(args[0])
			if err != nil {
				return err
			}
			exe, err := exePath()
			if err != nil {
				return err
			}
			root, err := filepath.Abs(g.root)
			if err != nil {
				return err
			}
			text, err := machine.RenderUnitFile(machine.UnitProperties(rec, exe, root), wantedBy)
			if err != nil {
				return err
			}
			fmt.Fprint(c.OutOrStdout(), text)
			return nil
		},
	}
	sd.Flags().StringSliceVar(&wantedBy, "wanted-by", []string{"multi-user.target"}, "[Install] WantedBy= targets (empty: no [Install] section)")
	c.AddCommand(sd)
	return c
}
