package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
)

// prepareMounts completes the mounts of a new container as Docker does:
// the mounts of --volumes-from containers, an anonymous volume for each
// VOLUME of the image that no mount covers, a generated name for each
// anonymous volume, every volume made, and every bind source made (-v)
// or checked (--mount) and resolved to a path without symlinks, which
// is what __init then insists on (machine/nsinit openBindSource).
func (h *host) prepareMounts(img imagestore.Image, o machine.RunOptions) ([]machine.Mount, error) {
	ms := slices.Clone(o.Mounts)
	taken := func(target string) bool {
		return slices.ContainsFunc(ms, func(m machine.Mount) bool { return m.Target == target })
	}
	for _, from := range o.VolumesFrom {
		ref, mode, _ := strings.Cut(from, ":")
		if mode != "" && mode != "ro" && mode != "rw" {
			return nil, usageError{fmt.Errorf("invalid --volumes-from %q: the mode must be ro or rw: %w", from, errdefs.ErrInvalid)}
		}
		other, err := h.cs.Lookup(ref)
		if err != nil {
			return nil, engineError{err}
		}
		for _, m := range other.Options.Mounts {
			if m.Type == machine.MountTmpfs || taken(m.Target) {
				continue
			}
			// The volume stays the other container's: rm -v of this one
			// leaves it.
			m.Anonymous = false
			if mode != "" {
				m.ReadOnly = mode == "ro"
			}
			ms = append(ms, m)
		}
	}
	for _, target := range imageVolumes(img) {
		if !taken(target) {
			ms = append(ms, machine.Mount{Type: machine.MountVolume, Target: target, Anonymous: true})
		}
	}
	vols, err := machine.OpenVolumes(h.g.root)
	if err != nil {
		return nil, engineError{err}
	}
	for i := range ms {
		m := &ms[i]
		switch m.Type {
		case machine.MountVolume:
			labels := map[string]string(nil)
			if m.Anonymous && m.Source == "" {
				m.Source = machine.NewID()
				labels = map[string]string{machine.AnonymousVolumeLabel: ""}
			}
			_, created, err := vols.Create(m.Source, labels)
			if err != nil {
				return nil, engineError{err}
			}
			if created {
				emitVolume("create", m.Source)
			}
		case machine.MountBind:
			if _, err := os.Stat(m.Source); errors.Is(err, os.ErrNotExist) {
				if m.MustExist {
					return nil, engineError{fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s: %w", m.Source, errdefs.ErrInvalid)}
				}
				// As Docker's -v: a missing host directory is made.
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, engineError{fmt.Errorf("bind mount source %s: %w", m.Source, err)}
				}
			}
			real, err := filepath.EvalSymlinks(m.Source)
			if err != nil {
				return nil, engineError{fmt.Errorf("bind mount source %s: %w", m.Source, err)}
			}
			m.Source = real
		}
	}
	return ms, nil
}

// imageVolumes are the image config's VOLUME paths, cleaned and sorted.
func imageVolumes(img imagestore.Image) []string {
	var out []string
	for p := range img.Config.Config.Volumes {
		if path.IsAbs(p) && path.Clean(p) != "/" {
			out = append(out, path.Clean(p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// resolvedVolumePath is vols.Path without symlinks (a --root or
// /var/lib under a symlink), as __init's bind source check wants.
func resolvedVolumePath(vols *machine.Volumes) func(string) string {
	return func(name string) string {
		p := vols.Path(name)
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return real
		}
		return p
	}
}

// sameOptions reports whether a container made with requested would be
// the one whose options are prepared: the same options, and the same
// mounts once prepareMounts has done its work (anonymous volumes named,
// the image's VOLUMEs, imageVols, added, bind sources resolved). An app's service
// keeps its container across starts only then.
func sameOptions(prepared, requested machine.RunOptions, imageVols []string) bool {
	p, r := prepared, requested
	pm, rm := p.Mounts, r.Mounts
	p.Mounts, r.Mounts = nil, nil
	if !reflect.DeepEqual(p, r) {
		return false
	}
	used := make([]bool, len(pm))
	for _, want := range rm {
		found := false
		for i, got := range pm {
			if used[i] || got.Target != want.Target || got.Type != want.Type || got.ReadOnly != want.ReadOnly ||
				got.Options != want.Options || got.Propagation != want.Propagation || got.NoCopy != want.NoCopy || got.Anonymous != want.Anonymous {
				continue
			}
			switch {
			case want.Type == machine.MountVolume && want.Anonymous && want.Source == "":
			case want.Type == machine.MountBind:
				real, err := filepath.EvalSymlinks(want.Source)
				if got.Source != want.Source && (err != nil || real != got.Source) {
					continue
				}
			default:
				if got.Source != want.Source {
					continue
				}
			}
			used[i], found = true, true
			break
		}
		if !found {
			return false
		}
	}
	// The rest must be what prepareMounts adds: the image's volumes.
	for i, got := range pm {
		if !used[i] && !(got.Type == machine.MountVolume && got.Anonymous && slices.Contains(imageVols, got.Target)) {
			return false
		}
	}
	return true
}

// reuseAnonymous gives each anonymous volume of requested the volume
// that old (the container being replaced) had on the same target, so an
// app's anonymous volume keeps its data when its container is made
// again, as Compose does. It returns the volumes of old it did not
// reuse.
func reuseAnonymous(requested, old []machine.Mount) ([]machine.Mount, []string) {
	out := slices.Clone(requested)
	var dropped []string
	for _, om := range old {
		if om.Type != machine.MountVolume || !om.Anonymous || om.Source == "" {
			continue
		}
		i := slices.IndexFunc(out, func(m machine.Mount) bool {
			return m.Type == machine.MountVolume && m.Anonymous && m.Source == "" && m.Target == om.Target
		})
		if i < 0 {
			dropped = append(dropped, om.Source)
			continue
		}
		out[i].Source = om.Source
	}
	return out, dropped
}
