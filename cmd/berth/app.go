package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/unitgen"
)

// Apps: TOML files that unitgen parses and renders into systemd units
// (unitgen.Render: every service's unit, and the oneshots that create
// its networks and volumes and pull or build its images). This file is
// the glue: the run options a service's container is made from (`berth
// __prepare FILE KEY`, the unit's ExecStartPre), and what berth cannot
// run yet.

// appContainerID is the stable container ID of service key of app.
func appContainerID(app, key string) string { return unitgen.ContainerID(app, key) }

// appNetwork is the berth network of the app's network name.
func appNetwork(app, name string) string { return unitgen.NetworkName(app, name) }

// appUnit is the unit of service key of app.
func appUnit(app, key string) string { return unitgen.ServiceUnit(app, key) }

// instanceKeys are the keys of a service's containers.
func instanceKeys(s *unitgen.Service) []string { return unitgen.InstanceKeys(s) }

// unsupported lists what an app asks for that berth cannot run yet.
func unsupported(app *unitgen.App, s *unitgen.Service) []string {
	var why []string
	for _, p := range s.Ports {
		if p.HostStart == 0 && p.ContainerStart != p.ContainerEnd {
			why = append(why, "a container port range without host ports (publish each port, or give the host range)")
			break
		}
		if p.HostStart != p.HostEnd && p.ContainerStart == p.ContainerEnd {
			why = append(why, "a host port range for one container port (berth does not pick one of the range yet)")
			break
		}
	}
	for _, m := range s.Mounts {
		if v := app.Volume(m.Source); m.Type == unitgen.MountVolume && v != nil && len(v.Options) > 0 {
			why = append(why, fmt.Sprintf("volume %s: options (berth volumes take no driver options yet)", v.Name))
		}
	}
	return why
}

// checkRunnable refuses an app that berth cannot run yet, naming what.
func checkRunnable(app *unitgen.App) error {
	var errs []error
	for _, s := range app.Services {
		if why := unsupported(app, s); len(why) > 0 {
			errs = append(errs, fmt.Errorf("%s: service %s: not supported yet: %s: %w", app.File, s.Name, strings.Join(why, "; "), errdefs.ErrInvalid))
		}
	}
	return errors.Join(errs...)
}

// serviceOptions are the run options of service s of app: what `berth
// run` would be given. Named volumes are the app's, prefixed with its
// name as Compose does.
func serviceOptions(app *unitgen.App, s *unitgen.Service) (machine.RunOptions, error) {
	if why := unsupported(app, s); len(why) > 0 {
		return machine.RunOptions{}, fmt.Errorf("%s: service %s: not supported yet: %s: %w", app.File, s.Name, strings.Join(why, "; "), errdefs.ErrInvalid)
	}
	o := machine.RunOptions{
		Name:       app.Name + "-" + s.Name,
		Image:      unitgen.ServiceImage(app.Name, s),
		Cmd:        s.Command,
		WorkingDir: s.Workdir,
		User:       s.User,
		Hostname:   s.Hostname,
		Memory:     s.Memory,
		CPUs:       s.CPUs,
		PidsLimit:  s.PidsLimit,
		StopSignal: s.StopSignal,
		CapAdd:     s.CapAdd,
		CapDrop:    s.CapDrop,
		ReadOnly:   s.ReadOnly,
		Labels:     map[string]string{},
		Restart:    machine.RestartPolicy{Name: s.Restart.Name, MaximumRetryCount: s.Restart.MaxRetries},
	}
	if o.Restart.Name == "" {
		o.Restart.Name = machine.RestartNo
	}
	if s.Entrypoint != nil {
		e := strings.Join(s.Entrypoint, " ")
		if len(s.Entrypoint) > 1 {
			// berth's --entrypoint is one word, as Docker's: the rest
			// goes before the command.
			e = s.Entrypoint[0]
			o.Cmd = append(append([]string(nil), s.Entrypoint[1:]...), o.Cmd...)
		}
		o.Entrypoint = &e
	}
	t := int(s.StopTimeout.Seconds())
	o.StopTimeout = &t
	// Every service is on the networks of the app it names ("default"
	// unless it names one), where the other services find it by its
	// name: the first is its network, the others are connected to it as
	// with `berth network connect` (eth1, eth2…).
	nets := unitgen.ServiceNetworks(s)
	var devs []string
	for _, d := range s.Devices {
		spec := d.Host + ":" + d.Container
		if d.Container == "" {
			spec = d.Host + ":" + d.Host
		}
		if d.Permissions != "" {
			spec += ":" + d.Permissions
		}
		devs = append(devs, spec)
	}
	var err error
	if o.Devices, err = hostDevices(devs); err != nil {
		return o, fmt.Errorf("%s: service %s: %w", app.File, s.Name, err)
	}
	if h := s.Healthcheck; h != nil {
		o.Healthcheck = &machine.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod}
		// The unit is ready when healthy (healthready.go); a job's
		// is ready when it has completed.
		o.ReadyWhenHealthy = !unitgen.IsJob(app, s)
	}
	o.Network = appNetwork(app.Name, nets[0].Name)
	o.NetworkAliases = append([]string{s.Name}, nets[0].Aliases...)
	for _, n := range nets[1:] {
		o.Connected = append(o.Connected, machine.ConnectedNetwork{Name: appNetwork(app.Name, n.Name), Aliases: append([]string{s.Name}, n.Aliases...)})
	}
	// A port without a host port keeps HostPort 0 here: __prepare picks
	// one (pickHostPorts).
	for _, p := range s.Ports {
		o.Publish = append(o.Publish, machine.PortMapping{HostIP: p.HostIP, HostPort: p.HostStart, ContainerPort: p.ContainerStart,
			Count: p.ContainerEnd - p.ContainerStart + 1, Proto: p.Protocol})
	}
	for _, f := range s.EnvFiles {
		r, err := os.Open(f)
		if err != nil {
			return o, fmt.Errorf("%s: service %s: env_file: %w", app.File, s.Name, err)
		}
		env, err := machine.ParseEnvFile(r, f, nil)
		r.Close()
		if err != nil {
			return o, err
		}
		o.Env = append(o.Env, env...)
	}
	keys := make([]string, 0, len(s.Environment))
	for k := range s.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o.Env = append(o.Env, k+"="+s.Environment[k])
	}
	for k, v := range s.Labels {
		o.Labels[k] = v
	}
	o.Labels["io.berth.app"] = app.Name
	o.Labels["io.berth.service"] = s.Name
	for _, m := range s.Mounts {
		switch m.Type {
		case unitgen.MountBind:
			o.Mounts = append(o.Mounts, machine.Mount{Type: machine.MountBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly,
				Propagation: m.Propagation})
		case unitgen.MountVolume:
			// As -v: createWithID makes the volume (an anonymous one
			// gets its name there) and __init seeds it from the image.
			vm := machine.Mount{Type: machine.MountVolume, Source: app.Name + "-" + m.Source, Target: m.Target, ReadOnly: m.ReadOnly,
				NoCopy: m.NoCopy, Anonymous: m.Anonymous}
			if m.Anonymous {
				vm.Source = ""
			}
			o.Mounts = append(o.Mounts, vm)
		case unitgen.MountTmpfs:
			var opts []string
			if m.TmpfsSize > 0 {
				opts = append(opts, fmt.Sprintf("size=%d", m.TmpfsSize))
			}
			if m.TmpfsMode != 0 {
				opts = append(opts, fmt.Sprintf("mode=%o", m.TmpfsMode))
			}
			opts = append(opts, m.TmpfsFlags...)
			o.Mounts = append(o.Mounts, machine.Mount{Type: machine.MountTmpfs, Target: m.Target, Options: strings.Join(opts, ",")})
		}
	}
	return o, nil
}

// Replicas: a service with replicas = N runs N containers, A-S-1 … A-S-N,
// each in its unit A-S@1.service … A-S@N.service, the instances of one
// template unit A-S@.service, all with the service's name as an alias on
// the app's network, so that its name resolves to all of them.

// instanceOptions are serviceOptions for one of the service's
// containers (key from instanceKeys).
func instanceOptions(app *unitgen.App, s *unitgen.Service, key string) (machine.RunOptions, error) {
	o, err := serviceOptions(app, s)
	if err != nil {
		return o, err
	}
	if _, n, ok := strings.Cut(key, "@"); ok {
		o.Name = app.Name + "-" + s.Name + "-" + n
		o.Labels["io.berth.replica"] = n
	}
	return o, nil
}

// appRecord is the record the unit of one of a service's containers is
// rendered from: the one `berth __prepare` makes, less what needs the
// image.
func appRecord(app *unitgen.App, key string, o machine.RunOptions) *machine.Container {
	sig := o.StopSignal
	if sig == "" {
		sig = "SIGTERM"
	}
	return &machine.Container{
		ID:          appContainerID(app.Name, key),
		Name:        o.Name,
		Image:       o.Image,
		Options:     o,
		StopSignal:  sig,
		StopTimeout: machine.StopTimeoutOf(o),
		Unit:        appUnit(app.Name, key),
		Machine:     machine.MachineName(o.Name),
	}
}

// renderedUnit is one unit file of an app.
type renderedUnit struct {
	Name, Text string
	// Links enable the unit (unitgen.Unit.Links).
	Links []string
	// Instances are a template's instances the app runs.
	Instances []string
}

// unitNames are the units of an app that run, in order: each rendered
// unit, a template's instances in its place. file maps each to its
// unit file's name.
func unitNames(units []renderedUnit) (names []string, file map[string]string) {
	file = map[string]string{}
	for _, u := range units {
		if len(u.Instances) == 0 {
			names = append(names, u.Name)
			file[u.Name] = u.Name
			continue
		}
		for _, in := range u.Instances {
			names = append(names, in)
			file[in] = u.Name
		}
	}
	return names, file
}

// renderApp renders the units of app (unitgen.Render), read from file
// (an absolute path), once checkRunnable has accepted it.
func renderApp(app *unitgen.App, file, exe, root string) ([]renderedUnit, error) {
	if err := checkRunnable(app); err != nil {
		return nil, err
	}
	return renderAppUnchecked(app, file, exe, root)
}

// renderAppUnchecked renders the units of app without checkRunnable:
// what `berth down` takes away.
func renderAppUnchecked(app *unitgen.App, file, exe, root string) ([]renderedUnit, error) {
	app.File = file
	units, err := unitgen.Render(app, unitgen.Options{Exe: exe, Root: root})
	if err != nil {
		return nil, err
	}
	out := make([]renderedUnit, len(units))
	for i, u := range units {
		out[i] = renderedUnit{Name: u.Name, Text: u.Text(), Links: u.Links, Instances: u.Instances}
	}
	return out, nil
}

// readApp reads and parses an app file.
func readApp(file string) (*unitgen.App, string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, "", err
	}
	app, err := unitgen.Parse(abs, data)
	if err != nil {
		return nil, "", err
	}
	return app, abs, nil
}

// pickHostPorts gives each port of o published without a host port the
// one the service's previous container had for it (so that a restart
// keeps it, and the container is kept), else a free one from the
// ephemeral range, as `berth run -P` picks. The caller holds the apps
// lock, so that replicas prepared at once do not pick the same port:
// each sees the records made before it.
func pickHostPorts(root string, o *machine.RunOptions, old *machine.Container) error {
	for i := range o.Publish {
		p := &o.Publish[i]
		if p.HostPort != 0 {
			continue
		}
		if old != nil && i < len(old.Options.Publish) {
			q := old.Options.Publish[i]
			if q.ContainerPort == p.ContainerPort && q.Proto == p.Proto && q.HostIP == p.HostIP && q.Count == p.Count && q.HostPort != 0 {
				p.HostPort = q.HostPort
				continue
			}
		}
		n, err := freeHostPort(root, p.Proto)
		if err != nil {
			return err
		}
		p.HostPort = n
	}
	return nil
}
