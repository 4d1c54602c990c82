package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/berth/berth/machine"
)

func TestSameOptions(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link"))
	requested := machine.RunOptions{Image: "busybox", Mounts: []machine.Mount{
		{Type: machine.MountVolume, Target: "/anon", Anonymous: true},
		{Type: machine.MountBind, Source: filepath.Join(dir, "link"), Target: "/b"},
		{Type: machine.MountVolume, Source: "data", Target: "/data"},
	}}
	prepared := requested
	prepared.Mounts = []machine.Mount{
		{Type: machine.MountVolume, Source: "f00", Target: "/anon", Anonymous: true},
		{Type: machine.MountBind, Source: filepath.Join(dir, "real"), Target: "/b"},
		{Type: machine.MountVolume, Source: "data", Target: "/data"},
		{Type: machine.MountVolume, Source: "ba5", Target: "/var/lib/x", Anonymous: true}, // the image's VOLUME
	}
	if !sameOptions(prepared, requested, []string{"/var/lib/x"}) {
		t.Error("a prepared container differs from its request")
	}
	if sameOptions(prepared, requested, nil) {
		t.Error("a volume the image does not declare is taken for one of its VOLUMEs")
	}
	for name, change := range map[string]func(o *machine.RunOptions){
		"another image":  func(o *machine.RunOptions) { o.Image = "other" },
		"read-only":      func(o *machine.RunOptions) { o.Mounts[2].ReadOnly = true },
		"another volume": func(o *machine.RunOptions) { o.Mounts[2].Source = "other" },
		"another bind":   func(o *machine.RunOptions) { o.Mounts[1].Source = dir },
		"a mount less":   func(o *machine.RunOptions) { o.Mounts = o.Mounts[1:] },
		"a named volume": func(o *machine.RunOptions) {
			o.Mounts[0] = machine.Mount{Type: machine.MountVolume, Source: "n", Target: "/anon"}
		},
		"propagation": func(o *machine.RunOptions) { o.Mounts[1].Propagation = "rslave" },
	} {
		r := requested
		r.Mounts = append([]machine.Mount(nil), requested.Mounts...)
		change(&r)
		if sameOptions(prepared, r, []string{"/var/lib/x"}) {
			t.Errorf("%s: still the same", name)
		}
	}
}

func TestReuseAnonymous(t *testing.T) {
	requested := []machine.Mount{
		{Type: machine.MountVolume, Target: "/a", Anonymous: true},
		{Type: machine.MountVolume, Target: "/new", Anonymous: true},
	}
	old := []machine.Mount{
		{Type: machine.MountVolume, Source: "va", Target: "/a", Anonymous: true},
		{Type: machine.MountVolume, Source: "vgone", Target: "/gone", Anonymous: true},
		{Type: machine.MountVolume, Source: "named", Target: "/n"},
	}
	got, dropped := reuseAnonymous(requested, old)
	want := []machine.Mount{
		{Type: machine.MountVolume, Source: "va", Target: "/a", Anonymous: true},
		{Type: machine.MountVolume, Target: "/new", Anonymous: true},
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(dropped, []string{"vgone"}) {
		t.Errorf("reuseAnonymous = %+v, %v", got, dropped)
	}
	if requested[0].Source != "" {
		t.Error("reuseAnonymous changed its argument")
	}
}
