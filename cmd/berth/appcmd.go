package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/spf13/cobra"
)

// appDirs are where the generator reads apps, the first of a name
// winning, as systemd's own unit directories.
var appDirs = []string{"/etc/berth", "/run/berth", "/usr/share/berth"}

// runtimeUnitDir is where `berth up` writes an app's units: gone at
// reboot, like transient units.
const runtimeUnitDir = "/run/systemd/system"

func newPrepareCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__prepare FILE SERVICE",
		Short:  "Make or refresh the container of an app's service (the unit's ExecStartPre)",
		Hidden: true,
		Args:   exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return prepareService(c, g, args[0], args[1])
		},
	}
}

// prepareService makes the container of service svc of the app in file,
// or keeps the one there when nothing it was made from has changed (its
// writable layer then survives restarts, as a Docker container's does).
func prepareService(c *cobra.Command, g *globalOptions, file, svc string) error {
	app, abs, err := readApp(file)
	if err != nil {
		return err
	}
	name, _, _ := strings.Cut(svc, "@")
	s := app.Service(name)
	if s == nil || !slices.Contains(instanceKeys(s), svc) {
		return fmt.Errorf("%s: no service %q: %w", abs, svc, errdefs.ErrNotFound)
	}
	o, err := instanceOptions(app, s, svc)
	if err != nil {
		return err
	}
	want := appRecord(app, svc, o)
	o.StopSignal = want.StopSignal
	h, err := g.host(c)
	if err != nil {
		return err
	}
	if err := ensureAppNetwork(g.root, app, s); err != nil {
		return err
	}
	// As `docker compose up`: an image that is not in the store is
	// pulled (the unit waits for network-online.target).
	store, err := g.openStore(c)
	if err != nil {
		return err
	}
	if _, err := store.Get(c.Context(), o.Image); errdefs.IsNotFound(err) {
		fmt.Fprintf(os.Stderr, "berth: %s: pulling %s\n", want.Unit, o.Image)
		if _, err := store.Pull(c.Context(), o.Image, imagestore.PullOptions{}); err != nil {
			return fmt.Errorf("%s: service %s: %w", abs, svc, err)
		}
	}
	id := want.ID
	if old, err := h.cs.Load(id); err == nil {
		store, err := g.openStore(c)
		if err != nil {
			return err
		}
		img, ierr := store.Get(c.Context(), o.Image)
		if ierr == nil && old.ImageID == img.ID.String() && sameOptions(old.Options, o, imageVolumes(img)) && old.Unit == want.Unit { // mounts.go
			return nil
		}
		if err := h.destroy(old); err != nil {
			return fmt.Errorf("replace the container of %s: %w", want.Unit, err)
		}
		var dropped []string
		o.Mounts, dropped = reuseAnonymous(o.Mounts, old.Options.Mounts)
		if vols, err := machine.OpenVolumes(g.root); err == nil {
			for _, v := range dropped {
				if vols.Remove(v) == nil {
					emitVolume("destroy", v)
				}
			}
		}
	}
	if _, err := h.createWithID(c.Context(), o, id, want.Unit); err != nil {
		return err
	}
	return nil
}

func newUpCommand(g *globalOptions) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Start an app described in TOML (docs/services.md) as systemd units",
		Long: "Start the services of an app file as the units the systemd generator makes at boot\n" +
			"(APP-SERVICE.service), written to /run/systemd/system: they last until `berth down` or a reboot.\n" +
			"For an app that starts at boot, put its file in /etc/berth/ instead.",
		RunE: func(c *cobra.Command, args []string) error {
			return appUp(c, g, file, args)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "The app file")
	c.Flags().BoolP("detach", "d", true, "Start in the background (the only mode so far)")
	return c
}

func appUp(c *cobra.Command, g *globalOptions, file string, only []string) error {
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
	if err != nil {
		return usageError{err}
	}
	h, err := g.host(c)
	if err != nil {
		return err
	}
	defer h.close()
	m, err := h.systemd(c.Context())
	if err != nil {
		return err
	}
	for _, u := range units {
		if err := os.WriteFile(filepath.Join(runtimeUnitDir, u.Name), []byte(u.Text), 0o644); err != nil {
			return err
		}
	}
	if err := m.Reload(c.Context()); err != nil {
		return err
	}
	var errs []error
	for _, u := range units {
		svc := strings.TrimSuffix(strings.TrimPrefix(u.Name, app.Name+"-"), ".service")
		base, _, _ := strings.Cut(svc, "@")
		if len(only) > 0 && !contains(only, svc) && !contains(only, base) {
			continue
		}
		if err := m.Start(c.Context(), u.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.OutOrStdout(), u.Name)
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func newDownCommand(g *globalOptions) *cobra.Command {
	var file string
	var volumes bool
	c := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop an app started with berth up and remove its units and containers",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			app, _, err := readApp(file)
			if err != nil {
				return usageError{err}
			}
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			m, err := h.systemd(c.Context())
			if err != nil {
				return err
			}
			var errs []error
			// Dependents first: the services in reverse file order.
			for i := len(app.Services) - 1; i >= 0; i-- {
				s := app.Services[i]
				for _, key := range instanceKeys(s) {
					unit := appUnit(app.Name, key)
					if err := m.Stop(c.Context(), unit); err != nil {
						errs = append(errs, err)
					}
					os.Remove(filepath.Join(runtimeUnitDir, unit))
					if rec, err := h.cs.Load(appContainerID(app.Name, key)); err == nil {
						if err := h.destroy(rec); err != nil {
							errs = append(errs, err)
						} else if volumes {
							if _, err := removeAnonymousVolumes(g.root, h.cs, rec); err != nil {
								errs = append(errs, err)
							}
						}
					}
					fmt.Fprintln(c.OutOrStdout(), unit)
				}
			}
			if err := m.Reload(c.Context()); err != nil {
				errs = append(errs, err)
			}
			// The app's networks go with it, as with Compose.
			nets := []string{"default"}
			for _, n := range app.Networks {
				nets = append(nets, n.Name)
			}
			for _, n := range nets {
				if _, err := removeNetwork(g.root, appNetwork(app.Name, n)); err != nil && !errdefs.IsNotFound(err) {
					errs = append(errs, err)
				}
			}
			if volumes {
				vols, err := machine.OpenVolumes(g.root)
				if err == nil {
					for _, v := range app.Volumes {
						if err := vols.Remove(app.Name + "-" + v.Name); err != nil && !errdefs.IsNotFound(err) {
							errs = append(errs, err)
						}
					}
				}
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "The app file")
	c.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove the app's named and anonymous volumes too")
	return c
}

// runGenerator is berth as a systemd generator (systemd.generator(7)),
// called with the three output directories: every app file in appDirs
// becomes units in the first, and WantedBy= links. A bad file is
// reported and skipped; the generator never fails the boot.
func runGenerator(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "berth-generator: usage: berth-generator NORMAL-DIR [EARLY-DIR LATE-DIR]")
		return 1
	}
	out := args[0]
	exe, err := exePath()
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-generator: %v\n", err)
		return 0
	}
	root := os.Getenv("BERTH_ROOT")
	if root == "" {
		root = "/var/lib/berth"
	}
	seen := map[string]bool{}
	for _, dir := range appDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, f := range files {
			if seen[filepath.Base(f)] {
				continue
			}
			seen[filepath.Base(f)] = true
			if err := generateApp(f, out, exe, root); err != nil {
				fmt.Fprintf(os.Stderr, "berth-generator: skipped %s: %v\n", f, err)
			}
		}
	}
	return 0
}

func generateApp(file, out, exe, root string) error {
	app, abs, err := readApp(file)
	if err != nil {
		return err
	}
	units, err := renderApp(app, abs, exe, root)
	if err != nil {
		return err
	}
	for _, u := range units {
		if err := os.WriteFile(filepath.Join(out, u.Name), []byte(u.Text), 0o644); err != nil {
			return err
		}
		for _, w := range u.WantedBy {
			wants := filepath.Join(out, w+".wants")
			if err := os.MkdirAll(wants, 0o755); err != nil {
				return err
			}
			link := filepath.Join(wants, u.Name)
			os.Remove(link)
			if err := os.Symlink("../"+u.Name, link); err != nil {
				return err
			}
		}
	}
	return nil
}
