package machine

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth/berth/internal/fsutil"
)

// PeekContainers opens the container state under root without touching
// it: unlike OpenContainers it neither makes directories nor finishes
// what crashed creators and removers left, so `berth system check` can
// report those first.
func PeekContainers(root string) *Containers {
	return &Containers{dir: filepath.Join(root, "containers")}
}

// StateDebris is a .tmp-<id> or .rm-<id> directory in the state.
type StateDebris struct {
	Name string
	// Busy: a .tmp- whose creator still holds its lock, or younger than
	// a minute (OpenContainers leaves those too).
	Busy bool
}

// Debris lists the half-created and half-removed container directories.
func (c *Containers) Debris() []StateDebris {
	ents, _ := os.ReadDir(c.dir)
	var out []StateDebris
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".rm-"):
			out = append(out, StateDebris{Name: n})
		case strings.HasPrefix(n, ".tmp-"):
			p := filepath.Join(c.dir, n)
			busy := true
			if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) >= time.Minute {
				l, ok, err := fsutil.TryLock(filepath.Join(p, "lock"))
				busy = err == nil && !ok
				if ok {
					l.Unlock()
				}
			}
			out = append(out, StateDebris{Name: n, Busy: busy})
		}
	}
	return out
}

// RemoveDebris removes a debris directory and a name link to it.
func (c *Containers) RemoveDebris(name string) error {
	if !strings.HasPrefix(name, ".rm-") && !strings.HasPrefix(name, ".tmp-") || strings.Contains(name, "/") {
		return invalidf("%q is not a container debris directory", name)
	}
	id := strings.TrimPrefix(strings.TrimPrefix(name, ".rm-"), ".tmp-")
	c.dropNamesOf(id)
	return os.RemoveAll(filepath.Join(c.dir, name))
}

// RemoveUnrecorded removes the state directory of id, which has no
// record, and any name link to it.
func (c *Containers) RemoveUnrecorded(id string) error {
	if !isID(id) {
		return invalidf("%q is not a container ID", id)
	}
	if _, err := c.Load(id); err == nil {
		return invalidf("container %s has a record", id)
	}
	c.dropNamesOf(id)
	return os.RemoveAll(c.Dir(id))
}

// Names maps every names/<name> link to its target ID.
func (c *Containers) Names() map[string]string {
	out := map[string]string{}
	ents, _ := os.ReadDir(filepath.Join(c.dir, "names"))
	for _, e := range ents {
		if id, err := os.Readlink(c.namePath(e.Name())); err == nil {
			out[e.Name()] = id
		}
	}
	return out
}

// DropName removes name's link if it points at no container.
func (c *Containers) DropName(name string) { c.releaseStaleName(name) }

func (c *Containers) dropNamesOf(id string) {
	for name, target := range c.Names() {
		if target == id {
			os.Remove(c.namePath(name))
		}
	}
}
