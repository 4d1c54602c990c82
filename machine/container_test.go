package machine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// IDs with known prefixes, so that the prefix cases of Lookup are fixed.
const (
	idWeb = "aaaa1111" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	idDB  = "aaaa2222" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	// idOutside is a well-formed ID whose state lies outside the store.
	idOutside = "bbbb3333" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
)

func openTestContainers(t *testing.T) (*Containers, string) {
	t.Helper()
	root := t.TempDir()
	cs, err := OpenContainers(root)
	if err != nil {
		t.Fatal(err)
	}
	return cs, root
}

func testRecord(id, name string, created time.Time) *Container {
	return &Container{
		ID:          id,
		Name:        name,
		Created:     created,
		Image:       "busybox:latest",
		ImageID:     "sha256:" + strings.Repeat("0", 64),
		LowerDirs:   []string{"/layers/top", "/layers/bottom"},
		StopSignal:  "SIGTERM",
		StopTimeout: DefaultStopTimeout,
		Unit:        UnitName(name),
		Machine:     MachineName(name),
		State:       State{Status: StatusCreated},
	}
}

func testSpec(id string) *specs.Spec {
	return &specs.Spec{Version: specs.Version, Hostname: id[:12], Process: &specs.Process{Args: []string{"sh"}}}
}

func mustCreate(t *testing.T, cs *Containers, id, name string, created time.Time) *Container {
	t.Helper()
	rec := testRecord(id, name, created)
	if err := cs.Create(rec, testSpec(id)); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return rec
}

// debris lists the entries of the store directory that are not
// containers or the names directory.
func debris(t *testing.T, cs *Containers) []string {
	t.Helper()
	ents, err := os.ReadDir(cs.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() != "names" && !isID(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestContainersCreate(t *testing.T) {
	cs, _ := openTestContainers(t)
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	rec := mustCreate(t, cs, idWeb, "web", created)

	for _, tc := range []struct {
		path string
		dir  bool
		perm os.FileMode
	}{
		{"container.json", false, 0o600},
		{"config.json", false, 0o600},
		{"lock", false, 0},
		{"upper", true, 0o755},
		{"work", true, 0o700},
		{"rootfs", true, 0o700},
	} {
		fi, err := os.Stat(filepath.Join(cs.Dir(idWeb), tc.path))
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if fi.IsDir() != tc.dir {
			t.Errorf("%s: dir %v, want %v", tc.path, fi.IsDir(), tc.dir)
		}
		if tc.perm != 0 && fi.Mode().Perm() != tc.perm {
			t.Errorf("%s: mode %v, want %v", tc.path, fi.Mode().Perm(), tc.perm)
		}
	}
	if d := debris(t, cs); len(d) != 0 {
		t.Errorf("debris after create: %q", d)
	}
	if target, err := os.Readlink(filepath.Join(cs.dir, "names", "web")); err != nil || target != idWeb {
		t.Errorf("names/web -> %q (%v), want %s", target, err, idWeb)
	}
	if !cs.NameTaken("web") || cs.NameTaken("db") {
		t.Errorf("NameTaken(web)=%v NameTaken(db)=%v, want true false", cs.NameTaken("web"), cs.NameTaken("db"))
	}

	got, err := cs.Load(idWeb)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rec.ID || got.Name != rec.Name || !got.Created.Equal(rec.Created) || got.Image != rec.Image ||
		got.StopTimeout != rec.StopTimeout || got.Unit != rec.Unit || got.State.Status != StatusCreated ||
		strings.Join(got.LowerDirs, ":") != strings.Join(rec.LowerDirs, ":") {
		t.Errorf("Load = %+v, want %+v", got, rec)
	}
	spec, err := cs.Spec(idWeb)
	if err != nil || spec.Hostname != idWeb[:12] || spec.Process.Args[0] != "sh" {
		t.Errorf("Spec = %+v, %v", spec, err)
	}
	ids, err := cs.IDs()
	if err != nil || len(ids) != 1 || ids[0] != idWeb {
		t.Errorf("IDs = %q, %v; want [%s]", ids, err, idWeb)
	}
}

func TestContainersLookup(t *testing.T) {
	cs, root := openTestContainers(t)
	now := time.Now().UTC()
	mustCreate(t, cs, idWeb, "web", now)
	mustCreate(t, cs, idDB, "db", now.Add(time.Second))
	// A container named like the other's ID prefix: the name wins.
	const idName = "cccc4444" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	mustCreate(t, cs, idName, "aaaa2", now.Add(2*time.Second))

	// A well-formed record outside the store that a path escape would
	// find: <root>/<id>/container.json, <root>/x/container.json, and a
	// name link beside the store's names directory.
	for _, d := range []string{idOutside, "x"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := writeRecord(filepath.Join(root, d, "container.json"), testRecord(idOutside, "outside", now), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(idWeb, filepath.Join(cs.dir, "evil")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		ref    string
		wantID string
		class  error // when wantID is ""
	}{
		{idWeb, idWeb, nil},
		{idDB, idDB, nil},
		{"web", idWeb, nil},
		{"/web", idWeb, nil},
		{"db", idDB, nil},
		{"aaaa1", idWeb, nil},
		{"aaaa1111", idWeb, nil},
		{"aaaa22", idDB, nil},
		{"aaaa2", idName, nil}, // a name before an ID prefix, as Docker
		{"c", idName, nil},
		{"aaaa", "", errdefs.ErrInvalid},
		{"a", "", errdefs.ErrInvalid},
		{"", "", errdefs.ErrNotFound},
		{"nosuch", "", errdefs.ErrNotFound},
		{"/nosuch", "", errdefs.ErrNotFound},
		{"/", "", errdefs.ErrNotFound},
		{"//web", "", errdefs.ErrNotFound},
		{"WEB", "", errdefs.ErrNotFound},
		{"AAAA1", "", errdefs.ErrNotFound},
		{strings.Repeat("f", 64), "", errdefs.ErrNotFound},
		{idWeb + "0", "", errdefs.ErrNotFound},
		{"../x", "", errdefs.ErrNotFound},
		{"/../x", "", errdefs.ErrNotFound},
		{"../" + idOutside, "", errdefs.ErrNotFound},
		{"../../" + filepath.Base(root) + "/" + idOutside, "", errdefs.ErrNotFound},
		{idOutside, "", errdefs.ErrNotFound},
		{"../evil", "", errdefs.ErrNotFound},
		{"names/../web", "", errdefs.ErrNotFound},
	} {
		rec, err := cs.Lookup(tc.ref)
		switch {
		case tc.wantID != "" && err != nil:
			t.Errorf("Lookup(%q): %v, want %s", tc.ref, err, tc.wantID)
		case tc.wantID != "" && rec.ID != tc.wantID:
			t.Errorf("Lookup(%q) = %s, want %s", tc.ref, rec.ID, tc.wantID)
		case tc.wantID == "" && err == nil:
			t.Errorf("Lookup(%q) = %s (%s), want %v", tc.ref, rec.ID, rec.Name, tc.class)
		case tc.wantID == "" && !errors.Is(err, tc.class):
			t.Errorf("Lookup(%q): %v, want class %v", tc.ref, err, tc.class)
		case tc.wantID == "" && rec != nil:
			t.Errorf("Lookup(%q) returned a record with its error", tc.ref)
		}
		if tc.class == errdefs.ErrNotFound && err != nil && !strings.Contains(err.Error(), "No such container") {
			t.Errorf("Lookup(%q): %q, want Docker's \"No such container\"", tc.ref, err)
		}
	}
}

func TestContainersCreateConflict(t *testing.T) {
	cs, _ := openTestContainers(t)
	first := mustCreate(t, cs, idWeb, "web", time.Now().UTC())
	before, err := os.ReadFile(filepath.Join(cs.Dir(idWeb), "container.json"))
	if err != nil {
		t.Fatal(err)
	}

	err = cs.Create(testRecord(idDB, "web", time.Now().UTC()), testSpec(idDB))
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("second create of web: %v, want a *ConflictError", err)
	}
	if ce.Name != "web" || ce.ID != idWeb {
		t.Errorf("ConflictError = %+v, want name web, ID %s", ce, idWeb)
	}
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("%v is not ErrConflict", err)
	}
	want := `Conflict. The container name "/web" is already in use by container "` + idWeb + `". You have to remove (or rename) that container to be able to reuse that name.`
	if err.Error() != want {
		t.Errorf("message\n%q\nwant\n%q", err, want)
	}

	// Nothing of the loser is left, and the winner is intact.
	if d := debris(t, cs); len(d) != 0 {
		t.Errorf("debris after a failed create: %q", d)
	}
	if _, err := os.Lstat(cs.Dir(idDB)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state of the refused container: %v", err)
	}
	if ids, _ := cs.IDs(); len(ids) != 1 || ids[0] != idWeb {
		t.Errorf("IDs = %q, want only %s", ids, idWeb)
	}
	after, err := os.ReadFile(filepath.Join(cs.Dir(idWeb), "container.json"))
	if err != nil || string(after) != string(before) {
		t.Errorf("first container's record changed: %v\n%s", err, after)
	}
	if rec, err := cs.Lookup("web"); err != nil || rec.ID != first.ID {
		t.Errorf("Lookup(web) = %v, %v; want the first container", rec, err)
	}
}

func TestContainersUpdate(t *testing.T) {
	errVeto := errors.New("veto")
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		id         string
		fn         func(*Container) error
		err        error // errors.Is
		wantStatus string
		wantPid    int
	}{
		{"change is written", idWeb, func(c *Container) error {
			c.State.Status, c.State.Pid, c.State.StartedAt = StatusRunning, 42, started
			return nil
		}, nil, StatusRunning, 42},
		{"no change", idWeb, func(c *Container) error { return nil }, nil, StatusCreated, 0},
		{"fn error writes nothing", idWeb, func(c *Container) error {
			c.State.Status, c.State.Pid = StatusRunning, 42
			return errVeto
		}, errVeto, StatusCreated, 0},
		{"unknown container", idDB, func(c *Container) error {
			t.Error("fn called for a container that does not exist")
			return nil
		}, errdefs.ErrNotFound, StatusCreated, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, _ := openTestContainers(t)
			mustCreate(t, cs, idWeb, "web", started)
			path := filepath.Join(cs.Dir(idWeb), "container.json")
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cs.Update(tc.id, tc.fn)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("Update: %v, want %v", err, tc.err)
			}
			got, err := cs.Load(idWeb)
			if err != nil {
				t.Fatal(err)
			}
			if got.State.Status != tc.wantStatus || got.State.Pid != tc.wantPid {
				t.Errorf("after Update: status %q pid %d, want %q %d", got.State.Status, got.State.Pid, tc.wantStatus, tc.wantPid)
			}
			if tc.err != nil {
				if after, _ := os.ReadFile(path); string(after) != string(before) {
					t.Errorf("record changed by a failed Update:\n%s", after)
				}
			}
			if tc.wantPid != 0 && !got.State.StartedAt.Equal(started) {
				t.Errorf("StartedAt = %v, want %v", got.State.StartedAt, started)
			}
			if _, err := os.Stat(cs.Dir(idDB)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Update of an unknown container made its directory: %v", err)
			}
		})
	}
}

// TestContainersUpdateLocks checks that Update holds the container's
// lock: a second Update waits for the first.
func TestContainersUpdateLocks(t *testing.T) {
	cs, _ := openTestContainers(t)
	mustCreate(t, cs, idWeb, "web", time.Now().UTC())
	lock, err := fsutil.LockFile(filepath.Join(cs.Dir(idWeb), "lock"), true)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := cs.Update(idWeb, func(c *Container) error { c.State.RestartCount++; return nil })
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Update finished while another holder had the lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	lock.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec, _ := cs.Load(idWeb); rec.State.RestartCount != 1 {
		t.Errorf("RestartCount = %d, want 1", rec.State.RestartCount)
	}
}

func TestContainersRemove(t *testing.T) {
	cs, _ := openTestContainers(t)
	mustCreate(t, cs, idWeb, "web", time.Now().UTC())
	mustCreate(t, cs, idDB, "db", time.Now().UTC())

	if err := cs.Remove(idWeb); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(cs.Dir(idWeb)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory after Remove: %v", err)
	}
	if d := debris(t, cs); len(d) != 0 {
		t.Errorf("debris after Remove: %q", d)
	}
	if cs.NameTaken("web") {
		t.Error("name web still taken after Remove")
	}
	for _, ref := range []string{"web", idWeb, "aaaa1"} {
		if _, err := cs.Lookup(ref); !errdefs.IsNotFound(err) {
			t.Errorf("Lookup(%q) after Remove: %v, want ErrNotFound", ref, err)
		}
	}
	if err := cs.Remove(idWeb); !errdefs.IsNotFound(err) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	if rec, err := cs.Lookup("db"); err != nil || rec.ID != idDB {
		t.Errorf("other container after Remove: %v, %v", rec, err)
	}

	// The name is free for a new container.
	const idNew = "dddd5555" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	mustCreate(t, cs, idNew, "web", time.Now().UTC())
	if rec, err := cs.Lookup("web"); err != nil || rec.ID != idNew {
		t.Errorf("Lookup(web) after re-create = %v, %v; want %s", rec, err, idNew)
	}
}

// TestContainersRemoveKeepsForeignName checks that Remove frees only a
// name that points at the removed container.
func TestContainersRemoveKeepsForeignName(t *testing.T) {
	cs, _ := openTestContainers(t)
	rec := mustCreate(t, cs, idWeb, "web", time.Now().UTC())
	mustCreate(t, cs, idDB, "db", time.Now().UTC())
	// The record claims a name that belongs to another container.
	if _, err := cs.Update(idWeb, func(c *Container) error { c.Name = "db"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := cs.Remove(rec.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := cs.Lookup("db"); err != nil || got.ID != idDB {
		t.Errorf("Lookup(db) = %v, %v; want %s", got, err, idDB)
	}
}

// TestOpenContainersCleansDebris simulates crashed creators and removers
// and a creator still at work, then reopens the store.
func TestOpenContainersCleansDebris(t *testing.T) {
	cs, root := openTestContainers(t)
	mustCreate(t, cs, idWeb, "keep", time.Now().UTC())
	const (
		idCrashed   = "1111aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
		idNoLock    = "2222aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
		idGone      = "3333aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
		idRemoving  = "4444aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
		idLive      = "5555aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
		idNoLockYet = "7777aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	)
	mkdir := func(p string) {
		t.Helper()
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	touch := func(p string) {
		t.Helper()
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(name, id string) {
		t.Helper()
		if err := os.Symlink(id, filepath.Join(cs.dir, "names", name)); err != nil {
			t.Fatal(err)
		}
	}
	// A creator that died after taking its name: .tmp-<id> with an
	// unlocked lock, and its name link.
	crashed := filepath.Join(cs.dir, ".tmp-"+idCrashed)
	mkdir(filepath.Join(crashed, "upper"))
	touch(filepath.Join(crashed, "lock"))
	touch(filepath.Join(crashed, "container.json"))
	link("crashed", idCrashed)
	// It died a while ago: young ones are left alone (see below).
	for _, p := range []string{crashed, filepath.Join(crashed, "lock")} {
		if err := os.Chtimes(p, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// A creator that died long ago before its lock file existed, and
	// one that is between mkdir and lock right now.
	noLock := filepath.Join(cs.dir, ".tmp-"+idNoLock)
	mkdir(noLock)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(noLock, old, old); err != nil {
		t.Fatal(err)
	}
	noLockYet := filepath.Join(cs.dir, ".tmp-"+idNoLockYet)
	mkdir(noLockYet)
	// One that has made its lock file but not locked it yet (seen when
	// 20 containers were created at once): young, so kept.
	notLockedYet := filepath.Join(cs.dir, ".tmp-"+"8888aaaa"+"0123456789abcdef0123456789abcdef0123456789abcdef01234567")
	mkdir(notLockedYet)
	touch(filepath.Join(notLockedYet, "lock"))
	// A name link to a container that does not exist at all.
	link("dangling", idGone)
	// A removal that a crash interrupted, with files in it.
	removing := filepath.Join(cs.dir, ".rm-"+idRemoving)
	mkdir(filepath.Join(removing, "upper", "etc"))
	touch(filepath.Join(removing, "upper", "etc", "passwd"))
	touch(filepath.Join(removing, "container.json"))
	// A creator still at work: its lock is held.
	live := filepath.Join(cs.dir, ".tmp-"+idLive)
	mkdir(live)
	lock, err := fsutil.LockFile(filepath.Join(live, "lock"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	link("creating", idLive)

	cs2, err := OpenContainers(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		exists bool
	}{
		{crashed, false},
		{noLock, false},
		{noLockYet, true},
		{notLockedYet, true},
		{removing, false},
		{filepath.Join(cs.dir, "names", "crashed"), false},
		{filepath.Join(cs.dir, "names", "dangling"), false},
		{live, true},
		{filepath.Join(cs.dir, "names", "creating"), true},
		{cs.Dir(idWeb), true},
		{filepath.Join(cs.dir, "names", "keep"), true},
	} {
		_, err := os.Lstat(tc.path)
		if exists := err == nil; exists != tc.exists {
			t.Errorf("%s: exists %v (%v), want %v", strings.TrimPrefix(tc.path, cs.dir+"/"), exists, err, tc.exists)
		}
	}
	if rec, err := cs2.Lookup("keep"); err != nil || rec.ID != idWeb {
		t.Errorf("Lookup(keep) = %v, %v", rec, err)
	}
	// The freed names can be taken; the live creator's cannot.
	mustCreate(t, cs2, idDB, "crashed", time.Now().UTC())
	const idOther = "6666aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	var ce *ConflictError
	if err := cs2.Create(testRecord(idOther, "creating", time.Now().UTC()), testSpec(idOther)); !errors.As(err, &ce) || ce.ID != idLive {
		t.Errorf("create with a name a live creator holds: %v, want a conflict with %s", err, idLive)
	}
}

// TestCreateTakesOverStaleName checks that Create itself (not only
// OpenContainers) takes a name whose link points at no container.
func TestCreateTakesOverStaleName(t *testing.T) {
	cs, _ := openTestContainers(t)
	const idGone = "3333aaaa" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	if err := os.Symlink(idGone, filepath.Join(cs.dir, "names", "web")); err != nil {
		t.Fatal(err)
	}
	if !cs.NameTaken("web") {
		t.Fatal("NameTaken(web) = false with a link in place")
	}
	mustCreate(t, cs, idWeb, "web", time.Now().UTC())
	if target, _ := os.Readlink(filepath.Join(cs.dir, "names", "web")); target != idWeb {
		t.Errorf("names/web -> %q, want %s", target, idWeb)
	}
}

func TestContainersList(t *testing.T) {
	cs, _ := openTestContainers(t)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	const idOld = "eeee6666" + "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	// Created out of order, and with IDs in another order again.
	mustCreate(t, cs, idDB, "middle", t0.Add(time.Hour))
	mustCreate(t, cs, idWeb, "newest", t0.Add(2*time.Hour))
	mustCreate(t, cs, idOld, "oldest", t0)
	// Debris and stray files are not containers.
	os.Mkdir(filepath.Join(cs.dir, ".tmp-"+idOutside), 0o700)
	os.WriteFile(filepath.Join(cs.dir, "README"), nil, 0o600)

	recs, err := cs.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "newest middle oldest" {
		t.Errorf("List = %s, want newest middle oldest", got)
	}

	empty, _ := openTestContainers(t)
	if recs, err := empty.List(); err != nil || len(recs) != 0 {
		t.Errorf("List of an empty store = %v, %v", recs, err)
	}
}
