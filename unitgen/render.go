package unitgen

import (
	"errors"
	"fmt"
)

// Options are what rendering needs besides the app: where berth is and
// where it keeps its state.
type Options struct {
	// Exe is the absolute path of the berth binary the units run.
	Exe string
	// Root is berth's state root ("/var/lib/berth"), passed as --root.
	Root string
}

// Render turns a parsed app into its systemd units, in this order: the
// oneshots that create its networks (NetworkUnit) and volumes
// (VolumeUnit), the oneshots that pull or build its images (PullUnit,
// BuildUnit), then each service's unit (ServiceUnit), or with replicas
// its template unit (TemplateUnit, whose Instances the app runs), in file
// order.
//
// A service's unit requires and is ordered after the oneshots it uses
// and the services it depends on; its ExecStartPre makes its container
// from app.File (`berth __prepare FILE KEY`) and waits for dependencies
// that must be healthy or have completed. Its other directives are the
// container's, the same as `berth run` gives a container's transient
// unit (container.go).
//
// Render is pure: it reads nothing, and the same app gives the same
// bytes. A value that cannot be written in a unit file (a newline in a
// path) is an error naming the unit.
func Render(app *App, o Options) ([]Unit, error) {
	var units []Unit
	var errs []error
	add := func(w *writer) {
		if w.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", app.File, w.err))
			return
		}
		units = append(units, *w.u)
	}
	for _, n := range AppNetworks(app) {
		add(networkUnit(app, n, o))
	}
	for _, v := range app.Volumes {
		add(volumeUnit(app, v, o))
	}
	for _, s := range app.Services {
		if s.Build != nil {
			add(buildUnit(app, s, o))
		} else if PullService(app, s) == s {
			add(pullUnit(app, s, o))
		}
	}
	for _, s := range app.Services {
		if s.Replicas > 1 {
			add(templateUnit(app, s, o))
		} else {
			add(serviceUnit(app, s, containerInstance(app, s, s.Name), o))
		}
	}
	return units, errors.Join(errs...)
}

// berth is the command line of a berth subcommand in a unit.
func (o Options) berth(args ...string) []string {
	return append([]string{o.Exe, "--root", o.Root}, args...)
}
