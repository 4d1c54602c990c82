package unitgen

import (
	"fmt"
	"strings"
	"time"
)

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
	// A service's unit is ready when its container runs, or, with a
	// healthcheck, when it is healthy: After= orders a dependent after
	// that, so "started" and "healthy" need no more.
	var wait [][]string
	for _, d := range s.DependsOn {
		dep := app.Service(d.Service)
		if dep == nil {
			continue
		}
		for _, dk := range InstanceKeys(dep) {
			needs = append(needs, ServiceUnit(app.Name, dk))
			if d.Condition == ConditionCompleted {
				wait = append(wait, o.berth("__wait-completed", ContainerID(app.Name, dk)))
			}
		}
	}
	w.unit("Requires", strings.Join(needs, " "))
	w.unit("After", strings.Join(needs, " "))

	// Make or refresh the container from the file, then wait for the
	// dependencies that must have completed (TimeoutStartSec bounds the
	// wait).
	w.exec("ExecStartPre", "", o.berth("__prepare", app.File, key)...)
	for _, argv := range wait {
		w.exec("ExecStartPre", "", argv...)
	}
	if s.Healthcheck != nil {
		w.service("TimeoutStartSec", usec(HealthStartTimeout(s.Healthcheck)))
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
