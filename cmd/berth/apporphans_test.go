package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berth/berth/unitgen"
)

// TestOrphanUnitFiles: the unit files berth wrote for an app that its
// units no longer have are orphans, not those it has, another app's, or
// a file of the same name berth did not write; removing one takes its
// links with it.
func TestOrphanUnitFiles(t *testing.T) {
	dir := t.TempDir()
	app := &unitgen.App{Name: "a"}
	files := map[string]string{
		"a-web.service":    unitHeader + "\n[Unit]\nDescription=berth app a: service web (busybox)\n",
		"a-old@.service":   unitHeader + "\n[Unit]\nDescription=berth app a: service old@%i (busybox)\n",
		"a-net-x.service":  unitHeader + "\n[Unit]\nDescription=berth app a: network a_x\n",
		"a-mine.service":   "[Unit]\nDescription=berth app a: service mine (busybox)\n",
		"ab-web.service":   unitHeader + "\n[Unit]\nDescription=berth app ab: service web (busybox)\n",
		"a-other.service":  unitHeader + "\n[Unit]\nDescription=berth app b: service other (busybox)\n",
		"unrelated.target": "",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "multi-user.target.wants"), 0o755)
	os.Symlink("../a-old@.service", filepath.Join(dir, "multi-user.target.wants", "a-old@1.service"))
	os.Symlink("../a-web.service", filepath.Join(dir, "multi-user.target.wants", "a-web.service"))
	os.Symlink("a-old@.service", filepath.Join(dir, "a-alias@.service"))

	got := orphanUnitFiles(dir, app, []renderedUnit{{Name: "a-web.service"}})
	var names []string
	for _, f := range got {
		names = append(names, filepath.Base(f))
	}
	slices.Sort(names)
	if want := []string{"a-net-x.service", "a-old@.service"}; !slices.Equal(names, want) {
		t.Errorf("orphans %q, want %q", names, want)
	}
	if err := removeUnitFile(filepath.Join(dir, "a-old@.service")); err != nil {
		t.Fatal(err)
	}
	for name, gone := range map[string]bool{
		"a-old@.service": true, "multi-user.target.wants/a-old@1.service": true, "a-alias@.service": true,
		"multi-user.target.wants/a-web.service": false, "a-web.service": false,
	} {
		if _, err := os.Lstat(filepath.Join(dir, name)); (err != nil) != gone {
			t.Errorf("%s: gone %v, want %v", name, err != nil, gone)
		}
	}
}
