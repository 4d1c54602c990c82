package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/systemd"
	"github.com/berth/berth/unitgen"
)

// Orphans, as Compose calls them: the containers of an app (label
// io.berth.app) that its file no longer makes — a service removed or
// renamed, replicas dropped — and the unit files berth wrote for the app
// that it no longer renders. `berth up` warns about orphan containers;
// `berth up --remove-orphans` stops their units, removes the containers
// and the unit files with their links.

// orphanContainers are the containers labelled as app's whose ID none of
// the file's services has.
func orphanContainers(cs *machine.Containers, app *unitgen.App) ([]*machine.Container, error) {
	want := map[string]bool{}
	for _, s := range app.Services {
		for _, key := range instanceKeys(s) {
			want[appContainerID(app.Name, key)] = true
		}
	}
	all, err := cs.List()
	if err != nil {
		return nil, err
	}
	var out []*machine.Container
	for _, rec := range all {
		if rec.Options.Labels["io.berth.app"] == app.Name && !want[rec.ID] {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *machine.Container) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// orphanUnitFiles are the unit files in dir that berth wrote for app (its
// header, and a Description= of app's) and that units does not have.
func orphanUnitFiles(dir string, app *unitgen.App, units []renderedUnit) []string {
	files, _ := filepath.Glob(filepath.Join(dir, app.Name+"-*.service"))
	var out []string
	for _, f := range files {
		name := filepath.Base(f)
		if slices.ContainsFunc(units, func(u renderedUnit) bool { return u.Name == name }) {
			continue
		}
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
			continue // an alias: it goes with its unit file
		}
		b, err := os.ReadFile(f)
		if err != nil || !strings.HasPrefix(string(b), unitHeader) || !strings.Contains(string(b), "\nDescription=berth app "+app.Name+": ") {
			continue
		}
		out = append(out, f)
	}
	return out
}

// removeUnitFile removes a unit file and the links to it in its
// directory and its .wants, .requires and .upholds directories.
func removeUnitFile(file string) error {
	dir, name := filepath.Dir(file), filepath.Base(file)
	links, _ := filepath.Glob(filepath.Join(dir, "*"))
	deps, _ := filepath.Glob(filepath.Join(dir, "*.*s", "*"))
	for _, l := range append(links, deps...) {
		if t, err := os.Readlink(l); err == nil && filepath.Base(t) == name {
			os.Remove(l)
			os.Remove(filepath.Dir(l)) // only if empty
		}
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// handleOrphans warns about the app's orphan containers, or with remove,
// stops their units and removes them and the app's orphan unit files.
func handleOrphans(ctx context.Context, h *host, m *systemd.Manager, app *unitgen.App, units []renderedUnit, remove bool, stderr io.Writer) error {
	orphans, err := orphanContainers(h.cs, app)
	if err != nil {
		return err
	}
	if !remove {
		if len(orphans) > 0 {
			var names []string
			for _, rec := range orphans {
				names = append(names, rec.Name)
			}
			fmt.Fprintf(stderr, "berth: warning: found orphan containers (%s) for app %s: if you removed or renamed their services in the file, "+
				"run berth up with --remove-orphans to remove them\n", strings.Join(names, ", "), app.Name)
		}
		return nil
	}
	var errs []error
	for _, rec := range orphans {
		if err := m.Stop(ctx, rec.Unit); err != nil {
			errs = append(errs, err)
			continue
		}
		m.ResetFailed(ctx, rec.Unit)
		if err := h.destroy(h.refresh(ctx, rec)); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stderr, "berth: removed orphan container %s\n", rec.Name)
	}
	for _, dir := range []string{runtimeUnitDir, persistUnitDir} {
		for _, f := range orphanUnitFiles(dir, app, units) {
			name := filepath.Base(f)
			if !strings.HasSuffix(name, "@.service") {
				if err := m.Stop(ctx, name); err != nil {
					errs = append(errs, err)
				}
				m.ResetFailed(ctx, name)
			}
			if err := removeUnitFile(f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
