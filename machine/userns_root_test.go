package machine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
)

// A container with a block is created with its upper's root given to
// the block's root and a path the block's root can traverse (and no
// more); the next reservation skips its block, and its removal frees it;
// a new volume becomes the block's root's, one with content does not.
func TestUsernsContainerDirs(t *testing.T) {
	testutil.RequiresRoot(t)
	root := t.TempDir()
	cs, err := OpenContainers(root)
	if err != nil {
		t.Fatal(err)
	}
	files := SubIDFiles{UID: filepath.Join(root, "subuid"), GID: filepath.Join(root, "subgid")}
	m, release, err := cs.ReserveIDs(files, 65536)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 32)
	rec := testRecord(id, "u", time.Now())
	rec.IDMap = &m
	err = cs.Create(rec, testSpec(id))
	release()
	if err != nil {
		t.Fatal(err)
	}
	st := func(p string) (uint32, os.FileMode) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Uid, fi.Mode().Perm()
	}
	if uid, _ := st(filepath.Join(cs.Dir(id), "upper")); uid != m.HostID {
		t.Errorf("upper belongs to %d, want %d", uid, m.HostID)
	}
	for _, d := range []string{root, cs.dir, cs.Dir(id)} {
		if _, perm := st(d); perm != 0o711 {
			t.Errorf("%s: mode %o, want 711", d, perm)
		}
	}
	if _, perm := st(filepath.Join(cs.Dir(id), "container.json")); perm != 0o600 {
		t.Errorf("the record is %o, want 600", perm)
	}
	m2, release, err := cs.ReserveIDs(files, 65536)
	release()
	if err != nil || m2.HostID != m.HostID+65536 {
		t.Errorf("second block: %v, %v; want the one after %v", m2, err, m)
	}
	if err := cs.Remove(id); err != nil {
		t.Fatal(err)
	}
	m3, release, err := cs.ReserveIDs(files, 65536)
	release()
	if err != nil || m3 != m {
		t.Errorf("after rm: %v, %v; want the freed %v", m3, err, m)
	}

	vols, err := OpenVolumes(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fresh", "used"} {
		if _, _, err := vols.Create(name, nil); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(vols.Path("used"), "f"), nil, 0o644)
	for name, want := range map[string]uint32{"fresh": m.HostID, "used": 0} {
		if err := vols.ForUserns(name, m); err != nil {
			t.Fatal(err)
		}
		if uid, _ := st(vols.Path(name)); uid != want {
			t.Errorf("volume %s belongs to %d, want %d", name, uid, want)
		}
		if _, perm := st(filepath.Dir(vols.Path(name))); perm != 0o711 {
			t.Errorf("volume %s's directory: mode %o, want 711", name, perm)
		}
	}
}
