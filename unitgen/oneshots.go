package unitgen

import (
	"fmt"
	"path"
	"sort"
)

// The oneshot units of an app: they create its networks and volumes and
// pull or build its images, once; the services' units require them.

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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
