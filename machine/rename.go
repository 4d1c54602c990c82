package machine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
)

// Rename gives container id the name newName (berth rename, docker
// rename): the new name is taken first (a ConflictError if another
// container has it), then the record changes (its name, and the unit
// and machine named after it), then the old name is freed. A container
// that runs, or waits for a restart, keeps its name: its systemd unit,
// berth-NAME.service, is named after it and a unit cannot be renamed
// (a conflict). Errors wrap errdefs classes: ErrInvalid for a bad or
// unchanged name, ErrNotFound, ErrConflict.
func (c *Containers) Rename(id, newName string) error {
	if !validName().MatchString(newName) {
		return invalidf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", newName)
	}
	lock, err := fsutil.LockFile(filepath.Join(c.Dir(id), "lock"), true)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("No such container: %s: %w", id, errdefs.ErrNotFound)
		}
		return fmt.Errorf("rename container %s: %w", id, err)
	}
	defer lock.Unlock()
	rec, err := c.Load(id)
	if err != nil {
		return err
	}
	old := rec.Name
	if old == newName {
		return invalidf("Renaming a container with the same name as its current name")
	}
	if rec.IsRunning() || rec.State.Status == StatusRestarting {
		return fmt.Errorf("cannot rename container %s while it runs: its unit %s is named after it; stop it first: %w", old, rec.Unit, errdefs.ErrConflict)
	}
	if rec.Unit != UnitName(old) {
		// An app's container: the app finds it by its name.
		return fmt.Errorf("cannot rename container %s: it is the app's of unit %s, which knows it by its name: %w", old, rec.Unit, errdefs.ErrConflict)
	}
	if err := c.takeName(newName, id); err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) {
			return fmt.Errorf("Error when allocating new name: %w", err)
		}
		return err
	}
	rec.Name, rec.Options.Name = newName, newName
	rec.Unit, rec.Machine = UnitName(newName), MachineName(newName)
	if err := writeRecord(filepath.Join(c.Dir(id), "container.json"), rec, true); err != nil {
		os.Remove(c.namePath(newName))
		return fmt.Errorf("rename container %s: %w", old, err)
	}
	if target, err := os.Readlink(c.namePath(old)); err == nil && target == id {
		os.Remove(c.namePath(old))
	}
	return nil
}
