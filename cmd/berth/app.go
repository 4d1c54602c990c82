package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/netsetup/network"
	"github.com/berth/berth/unitgen"
)

// Apps: TOML files (unitgen) become systemd units whose services are
// berth containers. The unit of service S of app A is A-S.service; its
// container is called A-S and has a stable ID derived from A and S, so
// that the unit can name it before it exists. The unit's ExecStartPre
// (`berth __prepare FILE S`) makes or refreshes the container from the
// file; the rest of the unit is the container's own (UnitProperties).

// appContainerID is the stable container ID of service svc of app.
func appContainerID(app, svc string) string {
	for salt := 0; ; salt++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("berth-app\x00%s\x00%s\x00%d", app, svc, salt)))
		id := hex.EncodeToString(sum[:])
		if strings.Trim(id[:12], "0123456789") != "" { // never an all-digit short ID
			return id
		}
	}
}

// appNetwork is the berth network of the app's network name, as
// Compose names it: APP_NAME.
func appNetwork(app, name string) string { return app + "_" + name }

// ensureAppNetwork makes the app's network a service joins, as its
// [network.NAME] table describes it (the "default" one has no table).
// One that exists is kept as it is.
func ensureAppNetwork(root string, app *unitgen.App, s *unitgen.Service) error {
	name := "default"
	if len(s.Networks) == 1 {
		name = s.Networks[0].Name
	}
	var o network.CreateOptions
	if def := app.Network(name); def != nil {
		var err error
		if def.Subnet != "" {
			if o.Subnet, err = netip.ParsePrefix(def.Subnet); err != nil {
				return fmt.Errorf("%s: network %s: subnet: %w", app.File, name, err)
			}
		}
		if def.Gateway != "" {
			if o.Gateway, err = netip.ParseAddr(def.Gateway); err != nil {
				return fmt.Errorf("%s: network %s: gateway: %w", app.File, name, err)
			}
		}
		o.Internal = def.Internal
	}
	o.Labels = map[string]string{"io.berth.app": app.Name}
	_, err := networkStore(root).Create(appNetwork(app.Name, name), o, hostRoutes())
	if err != nil && !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("%s: network %s: %w", app.File, name, err)
	}
	return nil
}

// appUnit is the unit of service svc of app.
func appUnit(app, svc string) string { return app + "-" + svc + ".service" }

// unsupported lists what an app asks for that berth cannot run yet.
func unsupported(s *unitgen.Service) []string {
	var why []string
	if s.Build != nil {
		why = append(why, "build (image builds come with the build issue)")
	}
	for _, p := range s.Ports {
		if p.HostStart == 0 {
			why = append(why, "ports without a host port (berth does not pick one yet)")
			break
		}
	}
	if len(s.Networks) > 1 {
		why = append(why, "more than one network per service (berth attaches a container to one network so far)")
	}
	for _, d := range s.DependsOn {
		if d.Condition == unitgen.ConditionCompleted {
			why = append(why, `depends_on condition "completed"`)
			break
		}
	}
	return why
}

// serviceOptions are the run options of service s of app: what `berth
// run` would be given. Named volumes are the app's, prefixed with its
// name as Compose does.
func serviceOptions(app *unitgen.App, s *unitgen.Service) (machine.RunOptions, error) {
	if why := unsupported(s); len(why) > 0 {
		return machine.RunOptions{}, fmt.Errorf("%s: service %s: not supported yet: %s: %w", app.File, s.Name, strings.Join(why, "; "), errdefs.ErrInvalid)
	}
	o := machine.RunOptions{
		Name:       app.Name + "-" + s.Name,
		Image:      s.Image,
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
	// Every service is on a network of the app's ("default" unless it
	// names one), where the other services find it by its name.
	netName, aliases := "default", []string(nil)
	if len(s.Networks) == 1 {
		netName, aliases = s.Networks[0].Name, s.Networks[0].Aliases
	}
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
	}
	o.Network = appNetwork(app.Name, netName)
	o.NetworkAliases = append([]string{s.Name}, aliases...)
	for _, p := range s.Ports {
		o.Publish = append(o.Publish, machine.PortMapping{HostIP: p.HostIP, HostPort: p.HostStart, ContainerPort: p.ContainerStart,
			Count: p.HostEnd - p.HostStart + 1, Proto: p.Protocol})
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
// each of its own unit A-S@1.service … A-S@N.service (instances of the
// service, as systemd names them), all with the service's name as an
// alias on the app's network, so that its name resolves to all of them.

// instanceKeys are the keys of a service's containers: its name, or
// NAME@1 … NAME@N with replicas.
func instanceKeys(s *unitgen.Service) []string {
	if s.Replicas <= 1 {
		return []string{s.Name}
	}
	keys := make([]string, s.Replicas)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s@%d", s.Name, i+1)
	}
	return keys
}

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
	WantedBy   []string
}

// renderApp renders the units of app, read from file (an absolute
// path): one per service.
func renderApp(app *unitgen.App, file, exe, root string) ([]renderedUnit, error) {
	var out []renderedUnit
	var errs []error
	for _, s := range app.Services {
		for _, key := range instanceKeys(s) {
			o, err := instanceOptions(app, s, key)
			if err != nil {
				errs = append(errs, err)
				break
			}
			rec := appRecord(app, key, o)
			props := machine.UnitProperties(rec, exe, root)
			// The app's unit stays loaded while it is enabled: not collected.
			for i := range props {
				if props[i].Name == "CollectMode" {
					props = append(props[:i], props[i+1:]...)
					break
				}
			}
			for i := range props {
				if props[i].Name == "Description" {
					props[i].Value = fmt.Sprintf("berth app %s: service %s (%s)", app.Name, key, s.Image)
				}
			}
			pre := []machine.ExecCommand{{Path: exe, Argv: []string{exe, "--root", root, "__prepare", file, key}}}
			for _, d := range s.DependsOn {
				if d.Condition == unitgen.ConditionHealthy {
					// Started after its dependency's unit (After=), and then
					// only once that container is healthy (TimeoutStartSec
					// bounds the wait).
					if dep := app.Service(d.Service); dep != nil {
						for _, dk := range instanceKeys(dep) {
							pre = append(pre, machine.ExecCommand{Path: exe, Argv: []string{exe, "--root", root, "__wait-healthy", appContainerID(app.Name, dk)}})
						}
					}
				}
			}
			props = append(props,
				machine.Property{Name: "SourcePath", Value: file},
				machine.Property{Name: "ExecStartPre", Value: pre},
				// __prepare pulls an image the store lacks.
				machine.Property{Name: "Wants", Value: []string{"network-online.target"}},
				machine.Property{Name: "After", Value: []string{"network-online.target"}})
			var deps []string
			for _, d := range s.DependsOn {
				if dep := app.Service(d.Service); dep != nil {
					for _, dk := range instanceKeys(dep) {
						deps = append(deps, appUnit(app.Name, dk))
					}
				}
			}
			if len(deps) > 0 {
				props = append(props, machine.Property{Name: "Requires", Value: deps},
					machine.Property{Name: "After", Value: append([]string(nil), deps...)})
			}
			raw := map[string][]string{}
			for _, d := range s.Systemd {
				for _, v := range d.Values {
					raw[d.Section] = append(raw[d.Section], d.Key+"="+v)
				}
			}
			wanted := app.Install.WantedBy
			text, err := machine.UnitFile{Props: props, WantedBy: wanted, Raw: raw}.Render()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: service %s: %w", app.File, s.Name, err))
				break
			}
			out = append(out, renderedUnit{Name: rec.Unit, Text: text, WantedBy: wanted})
		}
	}
	return out, errors.Join(errs...)
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
