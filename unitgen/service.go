package unitgen

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// instance is what a service's unit names its container by: the key
// (`__prepare FILE KEY`), the container's ID, short ID and name.
type instance struct{ key, id, short, name string }

// containerInstance is the instance of service s whose key is key.
func containerInstance(app *App, s *Service, key string) instance {
	id := ContainerID(app.Name, key)
	return instance{key: key, id: id, short: id[:12], name: ContainerName(app.Name, s, key)}
}

// templateMark stands for the instance while a template is rendered;
// it becomes "%i" (templateUnit).
const templateMark = "@BERTH-INSTANCE@"

// templateUnit is the one unit file of the replicas of service s,
// APP-S@.service: the unit of replica N's container is its instance
// APP-S@N.service, whose "%i" gives the key S@N, the container's ID
// (ContainerID: N, then a part the replicas share) and name. Its links
// enable the instances the app runs (Instances).
func templateUnit(app *App, s *Service, o Options) *writer {
	keys := InstanceKeys(s)
	width := len(keys[0]) - len(s.Name) - 1
	base := replicaBase(app.Name, s.Name)
	in := instance{key: s.Name + "@" + templateMark, id: templateMark + base[:64-width], short: templateMark + base[:12-width],
		name: app.Name + "-" + s.Name + "-" + templateMark}
	w := serviceUnit(app, s, in, o)
	u := w.u
	u.Name = TemplateUnit(app.Name, s.Name)
	for _, lines := range [][]Line{u.Unit, u.Service, u.Install} {
		for i := range lines {
			lines[i].Value = strings.ReplaceAll(lines[i].Value, templateMark, "%i")
		}
	}
	var links []string
	for _, key := range keys {
		name := ServiceUnit(app.Name, key)
		u.Instances = append(u.Instances, name)
		for _, l := range u.Links {
			// The links serviceUnit made for the template's name, for
			// each instance (they point at the template).
			links = append(links, strings.ReplaceAll(l, ServiceUnit(app.Name, in.key), name))
		}
	}
	u.Links = links
	return w
}

// serviceUnit is the unit of the container in of service s.
func serviceUnit(app *App, s *Service, in instance, o Options) *writer {
	key := in.key
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
	// A service's unit is ready when its container runs, or, with a
	// healthcheck, when it is healthy, or, for a job others wait to
	// complete, once it has exited with status 0 (and it stays active
	// then): After= orders a dependent after that, whatever the
	// condition.
	for _, d := range s.DependsOn {
		dep := app.Service(d.Service)
		if dep == nil {
			continue
		}
		for _, dk := range InstanceKeys(dep) {
			needs = append(needs, ServiceUnit(app.Name, dk))
		}
	}
	w.unit("Requires", strings.Join(needs, " "))
	w.unit("After", strings.Join(needs, " "))

	// Make or refresh the container from the file.
	w.exec("ExecStartPre", "", o.berth("__prepare", app.File, key)...)
	job := IsJob(app, s)
	if s.Healthcheck != nil && !job {
		w.service("TimeoutStartSec", usec(HealthStartTimeout(s.Healthcheck)))
	}
	containerDirectives(w, app, s, in, o)
	if job {
		jobDirectives(w, in, o)
	}

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

// HealthStartTimeout is the start timeout of the unit of a service with
// a healthcheck, which is ready only once the check has passed: the
// time Docker's rules take, at most, to call it unhealthy (the start
// period, then retries failing checks, each up to interval and timeout
// apart) with one check and 30 s to spare. The check fails the start
// itself when the container turns unhealthy first; this is the
// backstop. `[service.S.systemd.Service] TimeoutStartSec` overrides it.
func HealthStartTimeout(h *Healthcheck) time.Duration {
	interval, timeout, retries := h.Interval, h.Timeout, h.Retries
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if retries <= 0 {
		retries = 3
	}
	return h.StartPeriod + time.Duration(retries+1)*(interval+timeout) + 30*time.Second
}

// IsJob says whether service s of app is a job: a service that another
// depends on with condition "completed". Its unit is a oneshot that
// stays active once its container has exited with status 0
// (jobDirectives), so that it runs once per start of the services that
// need it, not again when one of them restarts.
func IsJob(app *App, s *Service) bool {
	for _, o := range app.Services {
		for _, d := range o.DependsOn {
			if d.Service == s.Name && d.Condition == ConditionCompleted {
				return true
			}
		}
	}
	return false
}

// jobDirectives turn a container's unit (containerDirectives) into a
// job's: Type=oneshot, whose start lasts until the main process, the
// container's PID 1 (__init's MAINPID=), has exited, and fails when it
// exited with another status than 0 (failing the units that require
// it); RemainAfterExit=yes keeps it active afterwards. The container's
// end is recorded once it has completed (ExecStartPost: __cleanup
// --completed), not only when the unit stops (the ExecStopPost then
// leaves that record alone: --skip-recorded). A oneshot has no start
// timeout: a job may run as long as it needs.
func jobDirectives(w *writer, in instance, o Options) {
	// systemd refuses RestartForceExitStatus= in a oneshot: a job under
	// restart = "on-failure" is retried after a non-zero exit, not after
	// SIGTERM.
	w.u.Service = slices.DeleteFunc(w.u.Service, func(l Line) bool { return l.Key == "RestartForceExitStatus" })
	for i, l := range w.u.Service {
		switch l.Key {
		case "Type":
			w.u.Service[i].Value = "oneshot"
		case "ExecStopPost":
			cleanup := &writer{u: &Unit{Name: w.u.Name}}
			cleanup.exec(l.Key, "", o.berth("__cleanup", "--skip-recorded", in.id)...)
			if cleanup.err != nil {
				w.fail("%v", cleanup.err)
				return
			}
			w.u.Service[i] = cleanup.u.Service[0]
		}
	}
	w.service("RemainAfterExit", "yes")
	w.exec("ExecStartPost", "", o.berth("__cleanup", "--completed", in.id)...)
}
