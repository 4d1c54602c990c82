package main

import (
	"fmt"
	"path/filepath"
	"strings"

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
		Use:   "systemd [OPTIONS] CONTAINER|APP.toml",
		Short: "Print a systemd unit file that runs an existing container, or the units of an app file",
		Long: "Print the unit file of an existing container: the same unit `berth start` makes as a transient\n" +
			"unit, berth-NAME.service, to install in /etc/systemd/system so that systemd starts the container\n" +
			"at boot (systemctl enable). Once installed, berth start and systemctl start both use it.",
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if strings.HasSuffix(args[0], ".toml") {
				return printAppUnits(c, g, args[0])
			}
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

// printAppUnits prints the units the generator makes of an app file, for
// review, each after a "# NAME" line.
func printAppUnits(c *cobra.Command, g *globalOptions, file string) error {
	app, abs, err := readApp(file)
	if err != nil {
		return usageError{err}
	}
	exe, err := exePath()
	if err != nil {
		return err
	}
	root, err := filepath.Abs(g.root)
	if err != nil {
		return err
	}
	units, err := renderApp(app, abs, exe, root)
	for i, u := range units {
		if i > 0 {
			fmt.Fprintln(c.OutOrStdout())
		}
		fmt.Fprintf(c.OutOrStdout(), "# %s\n%s", u.Name, u.Text)
	}
	if err != nil {
		return usageError{err}
	}
	return nil
}
