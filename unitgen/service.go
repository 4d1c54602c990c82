package unitgen

import (
	"fmt"
	"strings"
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
