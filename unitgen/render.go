package unitgen

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
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
// BuildUnit), then each service's unit (ServiceUnit), one per replica,
// in file order.
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
		for _, key := range InstanceKeys(s) {
			add(serviceUnit(app, s, key, o))
		}
	}
	return units, errors.Join(errs...)
}

// berth is the command line of a berth subcommand in a unit.
func (o Options) berth(args ...string) []string {
	return append([]string{o.Exe, "--root", o.Root}, args...)
}

// oneshot starts a unit whose work is done when its command has run, and
// that stays active afterwards (RemainAfterExit=yes), so that the
// services requiring it do not run it again at each restart.
func oneshot(name, description, file string) *writer {
	w := &writer{u: &Unit{Name: name}}
	w.unit("Description", description)
	w.unit("SourcePath", file)
	w.service("Type", "oneshot")
	w.service("RemainAfterExit", "yes")
	return w
}

// networkUnit creates the app's network name, as its [network.NAME]
// table describes it ("default" may have none); one that exists is kept
// as it is (--ignore).
func networkUnit(app *App, name string, o Options) *writer {
	w := oneshot(NetworkUnit(app.Name, name), fmt.Sprintf("berth app %s: network %s", app.Name, NetworkName(app.Name, name)), app.File)
	args := []string{"network", "create", "--ignore", "--label", "io.berth.app=" + app.Name}
	if n := app.Network(name); n != nil {
		if n.Subnet != "" {
			args = append(args, "--subnet", n.Subnet)
		}
		if n.Gateway != "" {
			args = append(args, "--gateway", n.Gateway)
		}
		if n.Internal {
			args = append(args, "--internal")
		}
	}
	w.exec("ExecStart", "", o.berth(append(args, NetworkName(app.Name, name))...)...)
	return w
}

// volumeUnit creates the app's volume v; `berth volume create` keeps one
// that exists, as Docker's does. The driver is always "local"; its
// options (NFS and such) are not rendered: berth volumes do not take
// options yet, and `berth up` refuses an app that sets them.
func volumeUnit(app *App, v *Volume, o Options) *writer {
	w := oneshot(VolumeUnit(app.Name, v.Name), fmt.Sprintf("berth app %s: volume %s", app.Name, VolumeName(app.Name, v.Name)), app.File)
	args := []string{"volume", "create", "--label", "io.berth.app=" + app.Name}
	w.exec("ExecStart", "", o.berth(append(args, VolumeName(app.Name, v.Name))...)...)
	return w
}

// pullUnit pulls service s's image, for every service that runs it, when
// the store lacks it, once the network is up (as `docker compose up`; an
// image already there is never fetched again, so an app whose images are
// in the store starts offline).
func pullUnit(app *App, s *Service, o Options) *writer {
	w := oneshot(PullUnit(app.Name, s.Name), fmt.Sprintf("berth app %s: pull %s", app.Name, s.Image), app.File)
	w.unit("Wants", "network-online.target")
	w.unit("After", "network-online.target")
	w.exec("ExecStart", "", o.berth("__pull-missing", s.Image)...)
	return w
}

// buildUnit builds service s's image (ServiceImage) from its build
// table; the build cache makes a build of an unchanged context quick.
func buildUnit(app *App, s *Service, o Options) *writer {
	b := s.Build
	img := ServiceImage(app.Name, s)
	w := oneshot(BuildUnit(app.Name, s.Name), fmt.Sprintf("berth app %s: build %s for service %s", app.Name, img, s.Name), app.File)
	w.unit("Wants", "network-online.target")
	w.unit("After", "network-online.target")
	args := []string{"build", "--tag", img}
	if b.Dockerfile != "" {
		args = append(args, "--file", path.Join(b.Context, b.Dockerfile))
	}
	for _, k := range sortedKeys(b.Args) {
		args = append(args, "--build-arg", k+"="+b.Args[k])
	}
	if b.Target != "" {
		args = append(args, "--target", b.Target)
	}
	w.exec("ExecStart", "", o.berth(append(args, b.Context)...)...)
	return w
}

// serviceUnit is the unit of the container of service s whose key is
// key.
func serviceUnit(app *App, s *Service, key string, o Options) *writer {
	w := &writer{u: &Unit{Name: ServiceUnit(app.Name, key)}}
	img := ServiceImage(app.Name, s)
	w.unit("Description", fmt.Sprintf("berth app %s: service %s (%s)", app.Name, key, img))
	w.unit("SourcePath", app.File)

	// What it needs: its networks, volumes and image, then the services
	// it depends on (every replica of each).
	var needs []string
	for _, n := range ServiceNetworks(s) {
		needs = append(needs, NetworkUnit(app.Name, n.Name))
	}
	seen := map[string]bool{}
	for _, m := range s.Mounts {
		if m.Type == MountVolume && !m.Anonymous && !seen[m.Source] {
			seen[m.Source] = true
			needs = append(needs, VolumeUnit(app.Name, m.Source))
		}
	}
	if s.Build != nil {
		needs = append(needs, BuildUnit(app.Name, s.Name))
	} else {
		needs = append(needs, PullUnit(app.Name, PullService(app, s).Name))
	}
	var wait [][]string
	for _, d := range s.DependsOn {
		dep := app.Service(d.Service)
		if dep == nil {
			continue
		}
		for _, dk := range InstanceKeys(dep) {
			needs = append(needs, ServiceUnit(app.Name, dk))
			switch d.Condition {
			case ConditionHealthy:
				wait = append(wait, o.berth("__wait-healthy", ContainerID(app.Name, dk)))
			case ConditionCompleted:
				wait = append(wait, o.berth("__wait-completed", ContainerID(app.Name, dk)))
			}
		}
	}
	w.unit("Requires", strings.Join(needs, " "))
	w.unit("After", strings.Join(needs, " "))

	// Make or refresh the container from the file, then wait for the
	// dependencies' conditions (TimeoutStartSec bounds the wait).
	w.exec("ExecStartPre", "", o.berth("__prepare", app.File, key)...)
	for _, argv := range wait {
		w.exec("ExecStartPre", "", argv...)
	}
	containerDirectives(w, app, s, key, o)

	for _, t := range app.Install.WantedBy {
		w.install("WantedBy", t)
		w.u.Links = append(w.u.Links, t+".wants/"+w.u.Name)
	}
	for _, d := range s.Systemd {
		for _, v := range d.Values {
			l := Line{d.Key, v}
			switch d.Section {
			case SectionUnit:
				w.u.Unit = append(w.u.Unit, l)
			case SectionService:
				w.u.Service = append(w.u.Service, l)
			case SectionInstall:
				w.u.Install = append(w.u.Install, l)
				w.u.Links = append(w.u.Links, installLinks(w.u.Name, d.Key, v)...)
			}
		}
	}
	return w
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// installLinks are the links an [Install] directive of a service's
// systemd table asks for: a value may name several units.
func installLinks(unit, key, value string) []string {
	var out []string
	for _, v := range strings.Fields(value) {
		switch key {
		case "WantedBy":
			out = append(out, v+".wants/"+unit)
		case "RequiredBy":
			out = append(out, v+".requires/"+unit)
		case "UpheldBy":
			out = append(out, v+".upholds/"+unit)
		case "Alias":
			out = append(out, v)
		}
	}
	return out
}
