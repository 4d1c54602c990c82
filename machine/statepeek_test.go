package machine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPeekContainers(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "containers")
	idOld, idYoung, idRm, idBare := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64), strings.Repeat("d", 64)
	for _, d := range []string{".tmp-" + idOld, ".tmp-" + idYoung, ".rm-" + idRm, idBare, "names"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	for _, d := range []string{".tmp-" + idOld, ".tmp-" + idYoung} {
		os.WriteFile(filepath.Join(dir, d, "lock"), nil, 0o600)
	}
	old := time.Now().Add(-2 * time.Minute)
	os.Chtimes(filepath.Join(dir, ".tmp-"+idOld), old, old)
	os.Symlink(idOld, filepath.Join(dir, "names", "half"))
	os.Symlink(idBare, filepath.Join(dir, "names", "bare"))

	c := PeekContainers(root)
	got := map[string]bool{}
	for _, d := range c.Debris() {
		got[d.Name] = d.Busy
	}
	want := map[string]bool{".tmp-" + idOld: false, ".tmp-" + idYoung: true, ".rm-" + idRm: false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Debris = %v, want %v", got, want)
	}
	if n := c.Names(); n["half"] != idOld || n["bare"] != idBare {
		t.Errorf("Names = %v", n)
	}
	// Peeking changed nothing.
	if _, err := os.Stat(filepath.Join(dir, ".rm-"+idRm)); err != nil {
		t.Errorf("PeekContainers finished a removal: %v", err)
	}
	if err := c.RemoveDebris(".tmp-" + idOld); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveUnrecorded(idBare); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDebris("../etc"); err == nil {
		t.Error("RemoveDebris took a path that is no debris")
	}
	for _, p := range []string{".tmp-" + idOld, idBare, "names/half", "names/bare"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", p, err)
		}
	}
}
