package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/netsetup/network"
)

// objectFilter is Docker's --filter of `network ls` and `volume ls` (and
// the API's filters= of GET /networks and /volumes): name (a substring
// of the name, as Docker matches it), id (a prefix, networks), label
// (KEY or KEY=VALUE), driver, dangling (true: no container uses it;
// false: one does) and type (networks: builtin or custom). The values of
// one key match if any matches; every key must match.
type objectFilter map[string][]string

// filterable is what an objectFilter looks at.
type filterable struct {
	Name, ID, Driver string
	Labels           map[string]string
	Builtin, InUse   bool
}

// Keys an objectFilter takes, by the kind of object.
var (
	networkFilterKeys = []string{"name", "id", "label", "driver", "dangling", "type"}
	volumeFilterKeys  = []string{"name", "label", "driver", "dangling"}
)

// parseObjectFilter reads --filter KEY=VALUE arguments for objects of
// kind, whose filter keys are keys.
func parseObjectFilter(kind string, args []string, keys []string) (objectFilter, error) {
	f := objectFilter{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %q: %w", a, errdefs.ErrInvalid)
		}
		f[strings.ToLower(strings.TrimSpace(k))] = append(f[strings.ToLower(strings.TrimSpace(k))], v)
	}
	return f, f.check(kind, keys)
}

// check refuses keys and values that kind's filter does not take.
func (f objectFilter) check(kind string, keys []string) error {
	for k, vs := range f {
		if !slices.Contains(keys, k) {
			return fmt.Errorf("invalid filter %q: %s filter by %s: %w", k, kind, strings.Join(keys, ", "), errdefs.ErrInvalid)
		}
		for _, v := range vs {
			switch k {
			case "dangling":
				if v != "true" && v != "false" && v != "1" && v != "0" {
					return fmt.Errorf("invalid filter 'dangling=%s': true or false: %w", v, errdefs.ErrInvalid)
				}
			case "type":
				if v != "builtin" && v != "custom" {
					return fmt.Errorf("invalid filter 'type=%s': builtin or custom: %w", v, errdefs.ErrInvalid)
				}
			}
		}
	}
	return nil
}

// match reports whether o passes every key of f.
func (f objectFilter) match(o filterable) bool {
	for k, vs := range f {
		if !slices.ContainsFunc(vs, func(v string) bool { return matchOne(k, v, o) }) {
			return false
		}
	}
	return true
}

func matchOne(k, v string, o filterable) bool {
	switch k {
	case "name":
		return strings.Contains(o.Name, v)
	case "id":
		return v != "" && strings.HasPrefix(o.ID, v)
	case "driver":
		return o.Driver == v
	case "label":
		key, want, hasValue := strings.Cut(v, "=")
		got, ok := o.Labels[key]
		return ok && (!hasValue || got == want)
	case "dangling":
		return o.InUse == (v == "false" || v == "0")
	case "type":
		return o.Builtin == (v == "builtin")
	}
	return false
}

// usedNetworks and usedVolumes are the names (and network IDs) that
// containers use, for dangling=.
func usedNetworks(recs []*machine.Container) map[string]bool {
	used := map[string]bool{}
	for _, r := range recs {
		used[r.Options.Network] = true
		for _, c := range r.Options.Connected {
			used[c.Name] = true
		}
	}
	return used
}

func networkFilterable(n network.Network, used map[string]bool) filterable {
	builtin := n.Name == network.Bridge || n.Name == network.Host || n.Name == network.None
	return filterable{Name: n.Name, ID: n.ID, Driver: n.Driver, Labels: n.Labels, Builtin: builtin,
		InUse: used[n.Name] || used[n.ID] || (n.Name == network.Bridge && used[""])}
}

func volumeFilterable(v machine.Volume, recs []*machine.Container) filterable {
	return filterable{Name: v.Name, Driver: v.Driver, Labels: v.Labels,
		InUse: slices.ContainsFunc(recs, func(r *machine.Container) bool { return r.UsesVolume(v.Name) })}
}
