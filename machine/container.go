package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container states, as Docker names them.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusRestarting = "restarting"
	StatusExited     = "exited"
)

// Container is the record of one container: container.json in its state
// directory. It is written atomically, under the container's lock, by the
// CLI (create, start), by `berth __init` (running) and by `berth
// __cleanup` (exited).
type Container struct {
	ID      string    `json:"Id"`
	Name    string    `json:"Name"`
	Created time.Time `json:"Created"`
	// Image is the reference the user gave; ImageID the image's ID
	// (sha256:…) at create time.
	Image   string `json:"Image"`
	ImageID string `json:"ImageID"`
	// LowerDirs are the unpacked image layers, top first, as overlayfs
	// wants its lowerdir.
	LowerDirs []string `json:"LowerDirs"`
	// Options are the user's run/create flags.
	Options RunOptions `json:"Options"`
	// StopSignal and StopTimeout are resolved at create time (flags, then
	// the image's config, then Docker's defaults); StopTimeout < 0 means
	// wait for ever.
	StopSignal  string        `json:"StopSignal"`
	StopTimeout time.Duration `json:"StopTimeout"`
	// Unit is the container's systemd unit; Machine its machined name
	// (a host name, so '_' in Name becomes '-').
	Unit    string `json:"Unit"`
	Machine string `json:"Machine"`
	// IDMap is the block of host ids of a --userns=auto container's user
	// namespace, taken when it is created and free again when it is
	// removed (see userns.go); nil without a user namespace.
	IDMap *IDMap `json:"IDMap,omitempty"`
	State State  `json:"State"`
}

// State is what happened to the container last.
type State struct {
	Status string `json:"Status"`
	// Pid is the host PID of the container's PID 1 while it runs, and
	// PidStart that process's start time (clock ticks after boot, field
	// 22 of /proc/PID/stat), so a reused PID is never taken for it.
	Pid        int       `json:"Pid"`
	PidStart   uint64    `json:"PidStart,omitempty"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
	ExitCode   int       `json:"ExitCode"`
	// Error is why the last start failed, if it did.
	Error     string `json:"Error"`
	OOMKilled bool   `json:"OOMKilled"`
	// RestartCount counts the restarts systemd made under the restart
	// policy since the last start by the user.
	RestartCount int `json:"RestartCount"`
	// UserStart is set by `berth start` and cleared by the init it
	// starts: an init that finds it unset was started by systemd's
	// restart policy.
	UserStart bool `json:"UserStart,omitempty"`
	// Paused is set by `berth pause` (the cgroup is frozen) and cleared
	// by unpause or when the container ends.
	Paused bool `json:"Paused,omitempty"`
	// PtyIndex and PtyDev name the terminal of a -t container while it
	// runs (its /dev/pts number and devpts device), which systemd's file
	// descriptor store holds; see package console.
	PtyIndex int    `json:"PtyIndex,omitempty"`
	PtyDev   uint64 `json:"PtyDev,omitempty"`
	// ConsoleWait makes the next __init wait for a client to take the
	// terminal before the command runs (`run -it`: no output is lost).
	ConsoleWait bool `json:"ConsoleWait,omitempty"`
	// InitPid and StdinFd are the waiting __init of a `run -i` container
	// without -t and its descriptor of the write end of the container's
	// stdin pipe, which the client takes with pidfd_getfd(2).
	InitPid int `json:"InitPid,omitempty"`
	StdinFd int `json:"StdinFd,omitempty"`
	// LogStreams are journald's ends of the running container's stdout
	// and stderr (see nsinit.Result).
	LogStreams []uint64 `json:"LogStreams,omitempty"`
	// IPAddress is the container's address on its network while it
	// runs (the lease is released when it ends).
	IPAddress string `json:"IPAddress,omitempty"`
	// Stopping is set by `berth stop`: a container stopped by the user
	// is not restarted, as in Docker.
	Stopping bool `json:"Stopping,omitempty"`
	// Health is the health of a running container with a health check
	// (`berth __health`, run by its health timer, keeps it).
	Health *Health `json:"Health,omitempty"`
}

// ShortID is the 12-digit form of an ID.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// MachineName is the machined name of the container called name:
// machined accepts host names only, so '_' becomes '-'.
func MachineName(name string) string { return strings.ReplaceAll(name, "_", "-") }

// Containers is the container state directory, /var/lib/berth/containers:
//
//	<id>/container.json   the record (Container)
//	<id>/config.json      the OCI runtime spec
//	<id>/upper, <id>/work the overlay's writable layer
//	<id>/rootfs           where the container's own mount namespace mounts its root
//	<id>/lock             flock(2) serialising updates of the record
//	names/<name>          symlink to <id>: a name is taken atomically by symlink(2)
//	.tmp-<id>             a container being created (removed on the next Open if its creator died)
//	.rm-<id>              a container being removed (removal finishes on the next Open)
type Containers struct {
	dir string
}

// OpenContainers opens (creating it if needed) the container state under
// root (/var/lib/berth) and finishes what crashed creators and removers
// left half done.
func OpenContainers(root string) (*Containers, error) {
	dir := filepath.Join(root, "containers")
	if err := os.MkdirAll(filepath.Join(dir, "names"), 0o700); err != nil {
		return nil, fmt.Errorf("open container state: %w", err)
	}
	c := &Containers{dir: dir}
	c.cleanDebris()
	return c, nil
}

// Dir is the state directory of container id.
func (c *Containers) Dir(id string) string { return filepath.Join(c.dir, id) }

func (c *Containers) namePath(name string) string { return filepath.Join(c.dir, "names", name) }

// cleanDebris removes .tmp-* directories whose creator is gone and
// finishes .rm-* removals, and drops name links to nothing.
func (c *Containers) cleanDebris() {
	ents, _ := os.ReadDir(c.dir)
	for _, e := range ents {
		p := filepath.Join(c.dir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), ".tmp-"):
			// A creator holds its lock from just after mkdir until the
			// rename; between the two, and for a young directory in
			// general, only age tells a live creator from a dead one.
			if fi, err := os.Stat(p); err != nil || time.Since(fi.ModTime()) < time.Minute {
				continue
			}
			l, ok, err := fsutil.TryLock(filepath.Join(p, "lock"))
			if err == nil && !ok {
				continue // its creator is alive
			}
			os.RemoveAll(p)
			l.Unlock()
		case strings.HasPrefix(e.Name(), ".rm-"):
			os.RemoveAll(p)
		}
	}
	names, _ := os.ReadDir(filepath.Join(c.dir, "names"))
	for _, n := range names {
		c.releaseStaleName(n.Name())
	}
}

// releaseStaleName removes the name link if it points at no container.
func (c *Containers) releaseStaleName(name string) {
	id, err := os.Readlink(c.namePath(name))
	if err != nil {
		return
	}
	// .tmp-<id> first: a creator renames it to <id>, so checking in
	// this order never misses a live container.
	if _, err := os.Stat(filepath.Join(c.dir, ".tmp-"+id)); !errors.Is(err, os.ErrNotExist) {
		return
	}
	if _, err := os.Stat(filepath.Join(c.Dir(id), "container.json")); errors.Is(err, os.ErrNotExist) {
		os.Remove(c.namePath(name))
	}
}

// NameTaken reports whether a container has the name.
func (c *Containers) NameTaken(name string) bool {
	_, err := os.Lstat(c.namePath(name))
	return err == nil
}

// ConflictError is a name already in use, in Docker's words.
type ConflictError struct{ Name, ID string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", e.Name, e.ID)
}
func (e *ConflictError) Unwrap() error { return errdefs.ErrConflict }

// Create writes a new container's state: the record, its spec and empty
// upper and work directories, and takes its name. It is all or nothing:
// the state is assembled in .tmp-<id> and renamed into place, so a
// failure or a crash leaves no container and no name behind.
func (c *Containers) Create(rec *Container, spec *specs.Spec) (err error) {
	tmp := filepath.Join(c.dir, ".tmp-"+rec.ID)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	lock, err := fsutil.LockFile(filepath.Join(tmp, "lock"), true)
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	named := false
	defer func() {
		if err != nil {
			if named {
				os.Remove(c.namePath(rec.Name))
			}
			os.RemoveAll(tmp)
		}
		lock.Unlock()
	}()
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o700); err != nil {
			return fmt.Errorf("create container %s: %w", rec.Name, err)
		}
	}
	// The upper's root is the container's "/": 0755 like any root.
	if err := os.Chmod(filepath.Join(tmp, "upper"), 0o755); err != nil {
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	if rec.IDMap != nil {
		if err := c.userNamespaceDirs(tmp, *rec.IDMap); err != nil {
			return fmt.Errorf("create container %s: %w", rec.Name, err)
		}
	}
	sj, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), sj, 0o600); err != nil {
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	if err := writeRecord(filepath.Join(tmp, "container.json"), rec, true); err != nil {
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	if err := c.takeName(rec.Name, rec.ID); err != nil {
		return err
	}
	named = true
	if err := fsutil.SyncDir(tmp); err != nil {
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	if err := os.Rename(tmp, c.Dir(rec.ID)); err != nil {
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	return fsutil.SyncDir(c.dir)
}

// takeName links names/<name> to id, or fails with a ConflictError. A
// link left by a crashed creator or remover is taken over.
func (c *Containers) takeName(name, id string) error {
	for range 2 {
		err := os.Symlink(id, c.namePath(name))
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create container %s: %w", name, err)
		}
		c.releaseStaleName(name)
	}
	other, _ := os.Readlink(c.namePath(name))
	return &ConflictError{Name: name, ID: other}
}

// writeRecord replaces a record atomically. Only a new container's
// record is fsynced (Create): updates are state changes (running,
// exited) that happen on every start and stop, and after a power loss
// the record is corrected anyway (a container recorded as running whose
// unit is gone shows as exited).
func writeRecord(path string, rec *Container, durable bool) error {
	b, err := json.MarshalIndent(rec, "", "\t")
	if err != nil {
		return err
	}
	if durable {
		return fsutil.WriteFileAtomic(path, append(b, '\n'), 0o600)
	}
	return fsutil.ReplaceFile(path, append(b, '\n'), 0o600)
}

// Load reads the record of container id (a full ID).
func (c *Containers) Load(id string) (*Container, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir(id), "container.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("No such container: %s: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	rec := &Container{}
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return rec, nil
}

// Spec reads the OCI runtime spec of container id.
func (c *Containers) Spec(id string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir(id), "config.json"))
	if err != nil {
		return nil, fmt.Errorf("load spec of %s: %w", id, err)
	}
	s := &specs.Spec{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("load spec of %s: %w", id, err)
	}
	return s, nil
}

// Update changes the record of container id under its lock: fn sees the
// current record and its changes are written atomically unless it
// returns an error.
func (c *Containers) Update(id string, fn func(*Container) error) (*Container, error) {
	lock, err := fsutil.LockFile(filepath.Join(c.Dir(id), "lock"), true)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("No such container: %s: %w", id, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("update container %s: %w", id, err)
	}
	defer lock.Unlock()
	rec, err := c.Load(id)
	if err != nil {
		return nil, err
	}
	if err := fn(rec); err != nil {
		return rec, err
	}
	if err := writeRecord(filepath.Join(c.Dir(id), "container.json"), rec, false); err != nil {
		return nil, fmt.Errorf("update container %s: %w", id, err)
	}
	return rec, nil
}

// IDs lists the IDs of all containers.
func (c *Containers) IDs() ([]string, error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if isID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// List loads every container's record, newest first (as docker ps).
// Containers removed while listing are skipped.
func (c *Containers) List() ([]*Container, error) {
	ids, err := c.IDs()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, id := range ids {
		rec, err := c.Load(id)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b *Container) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// Lookup finds a container by full ID, name (with or without Docker's
// leading '/') or unique ID prefix, in that order, as Docker does.
func (c *Containers) Lookup(ref string) (*Container, error) {
	if ref == "" {
		return nil, fmt.Errorf("No such container: %q: %w", ref, errdefs.ErrNotFound)
	}
	if isID(ref) {
		if rec, err := c.Load(ref); err == nil || !errdefs.IsNotFound(err) {
			return rec, err
		}
	}
	if name := strings.TrimPrefix(ref, "/"); validName().MatchString(name) {
		if id, err := os.Readlink(c.namePath(name)); err == nil && isID(id) {
			if rec, err := c.Load(id); err == nil || !errdefs.IsNotFound(err) {
				return rec, err
			}
		}
	}
	ids, err := c.IDs()
	if err != nil {
		return nil, err
	}
	var found []string
	for _, id := range ids {
		if strings.HasPrefix(id, ref) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	case 1:
		return c.Load(found[0])
	}
	return nil, fmt.Errorf("multiple containers found with ID prefix %s: %w", ref, errdefs.ErrInvalid)
}

// Remove deletes container id's state and frees its name. Removal is two
// phases: the directory is renamed to .rm-<id> (the container is gone
// from that instant), then deleted; OpenContainers finishes a removal
// that a crash interrupted. Under the container's lock it checks again
// that the container does not run (or wait for a restart): that is a
// conflict, never a removal from under a running container.
func (c *Containers) Remove(id string) error {
	lock, err := fsutil.LockFile(filepath.Join(c.Dir(id), "lock"), true)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("No such container: %s: %w", id, errdefs.ErrNotFound)
		}
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	defer lock.Unlock()
	rec, err := c.Load(id)
	if err != nil {
		return err
	}
	if rec.IsRunning() || rec.State.Status == StatusRestarting {
		return fmt.Errorf("You cannot remove a running container %s. Stop the container before attempting removal or force remove: %w", id, errdefs.ErrConflict)
	}
	// The name first: once the directory is gone (which is what
	// watchers see, Watch), the name is free.
	named := false
	if target, err := os.Readlink(c.namePath(rec.Name)); err == nil && target == id {
		named = os.Remove(c.namePath(rec.Name)) == nil
	}
	tomb := filepath.Join(c.dir, ".rm-"+id)
	if err := os.Rename(c.Dir(id), tomb); err != nil {
		if named {
			os.Symlink(id, c.namePath(rec.Name)) // still there: still named
		}
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("No such container: %s: %w", id, errdefs.ErrNotFound)
		}
		return fmt.Errorf("remove container %s: %w", rec.Name, err)
	}
	if err := os.RemoveAll(tomb); err != nil {
		return fmt.Errorf("remove container %s: %w", rec.Name, err)
	}
	return nil
}
