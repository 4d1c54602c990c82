package unitproc

import (
	"errors"
	"slices"

	"github.com/berth/berth/machine"
)

// acquireVolumes mounts the volumes with options that rec uses (the
// first user mounts; see machine.Volumes.Acquire), before its PID 1
// binds their directories.
func acquireVolumes(root string, rec *machine.Container) error {
	if !slices.ContainsFunc(rec.Options.Mounts, func(m machine.Mount) bool { return m.Type == machine.MountVolume }) {
		return nil // every container start comes here: no store to open
	}
	vols, err := machine.OpenVolumes(root)
	if err != nil {
		return err
	}
	for i, m := range rec.Options.Mounts {
		if m.Type != machine.MountVolume {
			continue
		}
		if err := vols.Acquire(m.Source, rec.ID); err != nil {
			for _, done := range rec.Options.Mounts[:i] {
				if done.Type == machine.MountVolume {
					vols.Release(done.Source, rec.ID, nil)
				}
			}
			return err
		}
	}
	return nil
}

// releaseVolumes is acquireVolumes undone, after rec has ended: the last
// user unmounts. A user whose container is not running any more (it
// crashed before its cleanup) is dropped too.
func releaseVolumes(root string, rec *machine.Container) error {
	if !slices.ContainsFunc(rec.Options.Mounts, func(m machine.Mount) bool { return m.Type == machine.MountVolume }) {
		return nil // every cleanup comes here: no stores to open
	}
	vols, err := machine.OpenVolumes(root)
	if err != nil {
		return err
	}
	cs, err := machine.OpenContainers(root)
	if err != nil {
		return err
	}
	alive := func(id string) bool {
		r, err := cs.Load(id)
		return err == nil && (r.IsRunning() || r.State.Status == machine.StatusCreated || r.State.Status == machine.StatusRestarting)
	}
	var errs []error
	for _, m := range rec.Options.Mounts {
		if m.Type == machine.MountVolume {
			errs = append(errs, vols.Release(m.Source, rec.ID, alive))
		}
	}
	return errors.Join(errs...)
}
