package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/unitgen"
)

// `berth up` of an app that runs already applies what changed in its
// file, as `docker compose up` does: a service whose unit file or
// container the file now makes differently is restarted (its __prepare
// then makes the container again); the others are left running.

// desiredContainer is what the file makes of the container of service s
// whose key is key: its run options and record, as __prepare makes them.
func desiredContainer(app *unitgen.App, s *unitgen.Service, key string) (machine.RunOptions, *machine.Container, error) {
	o, err := instanceOptions(app, s, key)
	if err != nil {
		return o, nil, err
	}
	want := appRecord(app, key, o)
	o.StopSignal = want.StopSignal
	return o, want, nil
}

// containerCurrent says whether old is the container the file makes
// (options o, record want): same image, same options, same unit.
func containerCurrent(ctx context.Context, store *imagestore.Store, old *machine.Container, o machine.RunOptions, want *machine.Container) bool {
	img, err := store.Get(ctx, o.Image)
	return err == nil && old.ImageID == img.ID.String() && sameOptions(old.Options, o, imageVolumes(img)) && old.Unit == want.Unit // mounts.go
}

// changedUnits are the service units of app whose unit file in dir
// differs from units, or whose container is no longer what the file
// makes. A service with no container yet, or whose options cannot be
// made (an env file gone), is not in the list: starting it says why.
func changedUnits(ctx context.Context, h *host, store *imagestore.Store, root, dir string, app *unitgen.App, units []renderedUnit) map[string]bool {
	changed := map[string]bool{}
	for _, u := range units {
		if b, err := os.ReadFile(filepath.Join(dir, u.Name)); err == nil && string(b) != u.Text {
			changed[u.Name] = true
		}
	}
	for _, s := range app.Services {
		for _, key := range instanceKeys(s) {
			o, want, err := desiredContainer(app, s, key)
			if err != nil {
				continue
			}
			old, err := h.cs.Load(want.ID)
			if err != nil {
				continue
			}
			if err := pickHostPorts(root, &o, old); err != nil {
				continue
			}
			if !containerCurrent(ctx, store, old, o, want) {
				changed[want.Unit] = true
			}
		}
	}
	return changed
}
