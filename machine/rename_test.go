package machine

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

func TestContainersRename(t *testing.T) {
	cs, _ := openTestContainers(t)
	now := time.Now().UTC()
	mustCreate(t, cs, idWeb, "web", now)
	mustCreate(t, cs, idDB, "db", now.Add(time.Second))
	app := testRecord(idOutside, "shop_web_1", now)
	app.Unit = "shop-web.service"
	if err := cs.Create(app, testSpec(idOutside)); err != nil {
		t.Fatal(err)
	}
	// A running container: this process stands in for its PID 1.
	if _, err := cs.Update(idDB, func(r *Container) error {
		st, err := ProcStartTime(os.Getpid())
		r.State = State{Status: StatusRunning, Pid: os.Getpid(), PidStart: st}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, id, to string
		class        error
		msg          string
	}{
		{"bad name", idWeb, "-web", errdefs.ErrInvalid, "Invalid container name (-web)"},
		{"same name", idWeb, "web", errdefs.ErrInvalid, "same name as its current name"},
		{"taken", idWeb, "db", errdefs.ErrConflict, `Error when allocating new name: Conflict. The container name "/db" is already in use`},
		{"running", idDB, "db2", errdefs.ErrConflict, "cannot rename container db while it runs: its unit berth-db.service"},
		{"missing", strings.Repeat("e", 64), "xy", errdefs.ErrNotFound, "No such container"},
		{"an app's", idOutside, "other", errdefs.ErrConflict, "cannot rename container shop_web_1: it is the app's of unit shop-web.service"},
		{"renamed", idWeb, "web_2", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := cs.Rename(tc.id, tc.to)
			switch {
			case tc.class == nil && err != nil:
				t.Fatalf("Rename: %v", err)
			case tc.class != nil && (!errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.msg)):
				t.Fatalf("Rename: %v, want %v with %q", err, tc.class, tc.msg)
			}
		})
	}
	rec, err := cs.Lookup("web_2")
	if err != nil || rec.ID != idWeb || rec.Name != "web_2" || rec.Options.Name != "web_2" || rec.Unit != "berth-web_2.service" || rec.Machine != "web-2" {
		t.Errorf("Lookup(web_2) after the rename: %+v, %v", rec, err)
	}
	if _, err := cs.Lookup("web"); !errdefs.IsNotFound(err) {
		t.Errorf("Lookup(web) after the rename: %v, want not found", err)
	}
	if !cs.NameTaken("db") || cs.NameTaken("db2") || cs.NameTaken("web") {
		t.Errorf("names after the failed renames: db %v, db2 %v, web %v", cs.NameTaken("db"), cs.NameTaken("db2"), cs.NameTaken("web"))
	}
	// The freed name can be taken again.
	mustCreate(t, cs, strings.Repeat("d", 64), "web", now)
}
