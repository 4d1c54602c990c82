package unitgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// crossCheck runs the checks that span tables: dependencies (they exist,
// no cycle, "healthy" needs a healthcheck), replicas (no fixed host name
// or host port), unit name lengths and host port clashes.
func (p *parser) crossCheck(app *App) {
	var names []string
	for _, s := range app.Services {
		names = append(names, s.Name)
	}
	svcPath := func(s *Service) []string { return []string{KeyService, s.Name} }

	for _, s := range app.Services {
		seen := map[string]bool{}
		for i, d := range s.DependsOn {
			at := p.depPos[s][i]
			dep := app.Service(d.Service)
			switch {
			case seen[d.Service]:
				p.add(at, "", "depends_on names %q twice", d.Service)
			case dep == nil:
				p.add(at, suggest(d.Service, names), "service %q depends on unknown service %q", s.Name, d.Service)
			case d.Condition == ConditionHealthy && dep.Healthcheck == nil && dep != s:
				p.add(at, fmt.Sprintf("add a [service.%s.healthcheck] table", displayPath([]string{d.Service})), "service %q waits for %q to be healthy, but %q has no healthcheck", s.Name, d.Service, d.Service)
			case d.Condition == ConditionCompleted && (dep.Restart.Name == RestartAlways || dep.Restart.Name == RestartUnlessStopped):
				p.add(at, fmt.Sprintf("give %q restart = \"no\" or \"on-failure\"", d.Service), "service %q waits for %q to complete, but %q restarts whenever it ends (restart = %q)", s.Name, d.Service, d.Service, dep.Restart.Name)
			}
			seen[d.Service] = true
		}

		unit := app.Name + "-" + s.Name + ".service"
		if s.Replicas > 1 {
			unit = app.Name + "-" + s.Name + "@" + strconv.Itoa(s.Replicas) + ".service"
			if s.Hostname != "" {
				p.errAt(append(svcPath(s), KeyReplicas), bad("service %q has %d replicas and a fixed hostname %q", s.Name, s.Replicas, s.Hostname).withHint("remove hostname, or use replicas = 1"))
			}
			for i, port := range s.Ports {
				if port.HostStart != 0 {
					p.errAt(p.portPaths[s][i], bad("service %q has %d replicas and a fixed host port", s.Name, s.Replicas).withHint("publish only the container port (\"%d\") to get an ephemeral host port per replica, or use replicas = 1", port.ContainerStart))
				}
			}
		}
		if len(unit) > maxUnitName {
			p.keyErr(svcPath(s), "use a shorter app or service name", "unit name %q is longer than %d characters", unit, maxUnitName)
		}
	}
	helpers := helperUnits(app)
	for _, s := range app.Services {
		for _, key := range InstanceKeys(s) {
			if what, ok := helpers[ServiceUnit(app.Name, key)]; ok {
				p.keyErr(svcPath(s), "rename the service", "the unit of service %q, %s, is also the unit of %s", s.Name, ServiceUnit(app.Name, key), what)
				break
			}
		}
	}
	p.cycles(app)
	p.portClashes(app)
}

// cycles reports each dependency cycle once, at the depends_on entry that
// closes it.
func (p *parser) cycles(app *App) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(s *Service)
	visit = func(s *Service) {
		state[s.Name] = active
		stack = append(stack, s.Name)
		for i, d := range s.DependsOn {
			dep := app.Service(d.Service)
			if dep == nil {
				continue
			}
			switch state[dep.Name] {
			case unvisited:
				visit(dep)
			case active:
				cycle := append(slices.Clone(stack[slices.Index(stack, dep.Name):]), dep.Name)
				p.add(p.depPos[s][i], "", "dependency cycle: %s", strings.Join(cycle, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[s.Name] = done
	}
	for _, s := range app.Services {
		if state[s.Name] == unvisited {
			visit(s)
		}
	}
}

// portClashes reports a host port that two bindings of the app publish
// (a fixed host port, same protocol, overlapping addresses).
func (p *parser) portClashes(app *App) {
	type binding struct {
		svc  *Service
		port Port
	}
	var seen []binding
	for _, s := range app.Services {
		for i, port := range s.Ports {
			if port.HostStart == 0 {
				continue
			}
			for _, b := range seen {
				q := b.port
				if q.Protocol != port.Protocol || !addrsOverlap(q.HostIP, port.HostIP) {
					continue
				}
				if port.HostStart <= q.HostEnd && q.HostStart <= port.HostEnd {
					p.errAt(p.portPaths[s][i], bad("host port %s/%s is already published by service %q", portString(port), port.Protocol, b.svc.Name))
					break
				}
			}
			seen = append(seen, binding{s, port})
		}
	}
}

// addrsOverlap reports whether listening on host addresses a and b
// (HostIP values) can conflict: "" and "::" cover every address (a
// dual-stack socket), "0.0.0.0" every IPv4 address.
func addrsOverlap(a, b string) bool {
	wild := func(x, y string) bool {
		return x == "" || x == "::" || x == "0.0.0.0" && !strings.Contains(y, ":")
	}
	return a == b || wild(a, b) || wild(b, a)
}

func portString(p Port) string {
	if p.HostStart == p.HostEnd {
		return fmt.Sprint(p.HostStart)
	}
	return fmt.Sprintf("%d-%d", p.HostStart, p.HostEnd)
}
