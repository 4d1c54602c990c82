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
	"github.com/berth/berth/internal/fsutil"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/unitgen"
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
	o, want, err := desiredContainer(app, s, svc)
	if err != nil {
		return err
	}
	h, err := g.host(c)
	if err != nil {
		return err
	}
	// The unit's pull oneshot has fetched a missing image; one that the
	// file names since it ran (a changed file, `berth up` again) is
	// pulled here.
	store, err := g.openStore(c)
	if err != nil {
		return err
	}
	if _, err := store.Get(c.Context(), o.Image); errdefs.IsNotFound(err) && s.Build == nil {
		fmt.Fprintf(os.Stderr, "berth: %s: pulling %s\n", want.Unit, o.Image)
		if _, err := store.Pull(c.Context(), o.Image, imagestore.PullOptions{}); err != nil {
			return fmt.Errorf("%s: service %s: %w", abs, svc, err)
		}
	}
	id := want.ID
	lock, err := fsutil.LockFile(filepath.Join(g.root, "apps.lock"), true)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	old, oldErr := h.cs.Load(id)
	if oldErr != nil {
		old = nil
	}
	if err := pickHostPorts(g.root, &o, old); err != nil {
		return fmt.Errorf("%s: service %s: %w", abs, svc, err)
	}
	if old != nil {
		if containerCurrent(c.Context(), store, old, o, want) {
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
	var persist, removeOrphans bool
	c := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Start an app described in TOML (docs/services.md) as systemd units",
		Long: "Start the services of an app file as the units the systemd generator makes at boot\n" +
			"(APP-SERVICE.service and its oneshots), written to /run/systemd/system: they last until\n" +
			"`berth down` or a reboot. With --persist they are written to /etc/systemd/system and enabled\n" +
			"instead, so that the app starts at boot; or put its file in /etc/berth/.",
		RunE: func(c *cobra.Command, args []string) error {
			return appUp(c, g, file, args, persist, removeOrphans)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "The app file")
	c.Flags().BoolP("detach", "d", true, "Start in the background (the only mode so far)")
	c.Flags().BoolVar(&persist, "persist", false, "Write the units to "+persistUnitDir+" and enable them (they outlive a reboot)")
	c.Flags().BoolVar(&removeOrphans, "remove-orphans", false, "Remove containers of services not defined in the file, and their units")
	return c
}

// persistUnitDir is where `berth up --persist` writes an app's units.
const persistUnitDir = "/etc/systemd/system"

// writeUnits writes units into dir, and with enable, makes the links
// of their [Install] sections (WantedBy=, RequiredBy=, Alias=) as
// `systemctl enable` (and the generator) do. durable writes each file
// atomically and synced (berth up); a generator's directory is a fresh
// tmpfs that systemd reads once the generator has exited, so it need not
// be.
func writeUnits(dir string, units []renderedUnit, enable, durable bool) error {
	write := os.WriteFile
	if durable {
		write = fsutil.WriteFileAtomic
	}
	for _, u := range units {
		if err := write(filepath.Join(dir, u.Name), []byte(u.Text), 0o644); err != nil {
			return fmt.Errorf("write unit %s: %w", u.Name, err)
		}
		if !enable {
			continue
		}
		for _, l := range u.Links {
			link := filepath.Join(dir, l)
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				return err
			}
			target := u.Name
			if strings.Contains(l, "/") {
				target = "../" + u.Name
			}
			os.Remove(link)
			if err := os.Symlink(target, link); err != nil {
				return fmt.Errorf("enable unit %s: %w", u.Name, err)
			}
		}
	}
	return nil
}

// berthWrote says whether dir holds one of units as berth wrote it.
func berthWrote(dir string, units []renderedUnit) bool {
	for _, u := range units {
		if b, err := os.ReadFile(filepath.Join(dir, u.Name)); err == nil && strings.HasPrefix(string(b), unitHeader) {
			return true
		}
	}
	return false
}

// unitHeader starts every unit file berth writes (unitgen.Unit.Text).
const unitHeader = "# Generated by berth"

// removeUnits removes the unit files of units and their links from dir;
// what is not there is skipped, and so is a file of the same name that
// berth did not write (it starts with berth's header line).
func removeUnits(dir string, units []renderedUnit) error {
	var errs []error
	for _, u := range units {
		if !berthWrote(dir, []renderedUnit{u}) {
			continue
		}
		for _, l := range u.Links {
			os.Remove(filepath.Join(dir, l))
			if d := filepath.Dir(l); d != "." {
				os.Remove(filepath.Join(dir, d)) // only if empty
			}
		}
		if err := os.Remove(filepath.Join(dir, u.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// appUnits renders the units of the app in file for `berth up`/`down`.
// Only up checks that berth can run the app: down must take away what an
// earlier up made of a file that has changed since.
func appUnits(g *globalOptions, file string, forDown bool) (*unitgen.App, []renderedUnit, error) {
	app, abs, err := readApp(file)
	if err != nil {
		return nil, nil, usageError{err}
	}
	exe, err := exePath()
	if err != nil {
		return nil, nil, err
	}
	root, err := filepath.Abs(g.root)
	if err != nil {
		return nil, nil, err
	}
	render := renderApp
	if forDown {
		render = renderAppUnchecked
	}
	units, err := render(app, abs, exe, root)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return app, units, nil
}

// serviceKey is the service key of an app's service unit ("web",
// "web@2"), or "" for its oneshots.
func serviceKey(app *unitgen.App, unit string) string {
	for _, s := range app.Services {
		for _, key := range instanceKeys(s) {
			if appUnit(app.Name, key) == unit {
				return key
			}
		}
	}
	return ""
}

func appUp(c *cobra.Command, g *globalOptions, file string, only []string, persist, removeOrphans bool) error {
	app, units, err := appUnits(g, file, false)
	if err != nil {
		return err
	}
	for _, name := range only {
		if app.Service(name) == nil && serviceKey(app, appUnit(app.Name, name)) == "" {
			return usageError{fmt.Errorf("no such service: %s: %w", name, errdefs.ErrNotFound)}
		}
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
	// An app that `up --persist` wrote stays persistent until down: its
	// units in /etc would hide new ones in /run.
	persist = persist || berthWrote(persistUnitDir, units)
	dir := runtimeUnitDir
	if persist {
		dir = persistUnitDir
		// One place only: units left in /run by an earlier `berth up`
		// would hide these.
		removeUnits(runtimeUnitDir, units)
	}
	store, err := g.openStore(c)
	if err != nil {
		return err
	}
	changed := changedUnits(c.Context(), h, store, g.root, dir, app, units)
	// Containers of services the file no longer has (apporphans.go).
	if err := handleOrphans(c.Context(), h, m, app, units, removeOrphans, c.ErrOrStderr()); err != nil {
		return err
	}
	if err := writeUnits(dir, units, persist, true); err != nil {
		return err
	}
	if err := m.Reload(c.Context()); err != nil {
		return err
	}
	var errs []error
	names, fileOf := unitNames(units)
	// A running service that the file now makes differently is restarted
	// (with the services that require it); the others are started, which
	// leaves a running one alone.
	for _, name := range names {
		if !(changed[name] || changed[fileOf[name]]) || !selected(app, only, name) {
			continue
		}
		if st, err := m.Unit(c.Context(), name); err != nil || st.ActiveState != "active" {
			continue
		}
		if err := m.Restart(c.Context(), name); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range names {
		if serviceKey(app, name) == "" || !selected(app, only, name) {
			continue // a oneshot (its services' Requires= start it), or a service not asked for
		}
		if err := m.Start(c.Context(), name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.OutOrStdout(), name)
	}
	return errors.Join(errs...)
}

// selected says whether unit is one of the services `berth up SERVICE…`
// names (all of them when it names none); a oneshot is selected unless
// services are named.
func selected(app *unitgen.App, only []string, unit string) bool {
	if len(only) == 0 {
		return true
	}
	key := serviceKey(app, unit)
	base, _, _ := strings.Cut(key, "@")
	return key != "" && (contains(only, key) || contains(only, base))
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
		Short: "Stop an app started with berth up and remove its units, containers and networks",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			return appDown(c, g, file, volumes)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "The app file")
	c.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove the app's named and anonymous volumes too")
	return c
}

func appDown(c *cobra.Command, g *globalOptions, file string, volumes bool) error {
	app, units, err := appUnits(g, file, true)
	if err != nil {
		return err
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
	// Dependents first: the services in reverse order, then the oneshots.
	names, _ := unitNames(units)
	for i := len(names) - 1; i >= 0; i-- {
		name := names[i]
		if err := m.Stop(c.Context(), name); err != nil {
			errs = append(errs, err)
		}
		m.ResetFailed(c.Context(), name)
		key := serviceKey(app, name)
		if key == "" {
			continue
		}
		if rec, err := h.cs.Load(appContainerID(app.Name, key)); err == nil {
			// Stopped between two restarts, its record still says
			// restarting.
			rec = h.refresh(c.Context(), rec)
			if err := h.destroy(rec); err != nil {
				errs = append(errs, err)
			} else if volumes {
				if _, err := removeAnonymousVolumes(g.root, h.cs, rec); err != nil {
					errs = append(errs, err)
				}
			}
		}
		fmt.Fprintln(c.OutOrStdout(), name)
	}
	for _, dir := range []string{runtimeUnitDir, persistUnitDir} {
		if err := removeUnits(dir, units); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.Reload(c.Context()); err != nil {
		errs = append(errs, err)
	}
	// The app's networks go with it, as with Compose.
	for _, n := range unitgen.AppNetworks(app) {
		if _, err := removeNetwork(g.root, appNetwork(app.Name, n)); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if volumes {
		vols, err := machine.OpenVolumes(g.root)
		if err == nil {
			for _, v := range app.Volumes {
				name := unitgen.VolumeName(app.Name, v.Name)
				if err := vols.Remove(name); err != nil && !errdefs.IsNotFound(err) {
					errs = append(errs, err)
				} else if err == nil {
					emitVolume("destroy", name)
				}
			}
		}
	}
	return errors.Join(errs...)
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
	return writeUnits(out, units, true, false)
}
