package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
)

// Mount types of a container's own mounts (-v, --tmpfs).
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is one of the container's own mounts.
type Mount struct {
	Type string `json:"Type"`
	// Source is the host path (bind) or the volume's name (volume);
	// empty for tmpfs.
	Source   string `json:"Source"`
	Target   string `json:"Destination"`
	ReadOnly bool   `json:"ReadOnly"`
	// Options are tmpfs options (size=64m,mode=1777).
	Options string `json:"Options,omitempty"`
}

// ParseVolume reads Docker's -v SOURCE:TARGET[:ro|rw]: an absolute
// SOURCE is a bind mount of that host path, anything else the name of a
// volume. Errors wrap errdefs.ErrInvalid.
func ParseVolume(spec string) (Mount, error) {
	parts := strings.Split(spec, ":")
	m := Mount{}
	switch len(parts) {
	case 1:
		return m, invalidf("invalid volume %q: anonymous volumes are not supported yet; use NAME:%s or /host/path:%s", spec, spec, spec)
	case 2, 3:
	default:
		return m, invalidf("invalid volume %q: want SOURCE:TARGET[:ro|rw]", spec)
	}
	src, dst := parts[0], parts[1]
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return m, invalidf("invalid volume %q: unknown mode %q (ro or rw)", spec, parts[2])
		}
	}
	if !path.IsAbs(dst) || path.Clean(dst) == "/" {
		return m, invalidf("invalid volume %q: the target %q must be an absolute path other than /", spec, dst)
	}
	m.Target = path.Clean(dst)
	switch {
	case path.IsAbs(src):
		m.Type, m.Source = MountBind, path.Clean(src)
	case validVolumeName(src):
		m.Type, m.Source = MountVolume, src
	default:
		return m, invalidf("invalid volume %q: %q is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", spec, src)
	}
	return m, nil
}

// ParseTmpfs reads Docker's --tmpfs TARGET[:OPTIONS].
func ParseTmpfs(spec string) (Mount, error) {
	dst, opts, _ := strings.Cut(spec, ":")
	if !path.IsAbs(dst) || path.Clean(dst) == "/" {
		return Mount{}, invalidf("invalid tmpfs %q: the target must be an absolute path other than /", spec)
	}
	for _, o := range strings.Split(opts, ",") {
		k, _, _ := strings.Cut(o, "=")
		switch k {
		case "", "size", "mode", "nr_inodes", "uid", "gid", "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev":
		default:
			return Mount{}, invalidf("invalid tmpfs %q: unknown option %q", spec, o)
		}
	}
	return Mount{Type: MountTmpfs, Target: path.Clean(dst), Options: opts}, nil
}

func validVolumeName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && strings.ContainsRune("_.-", c)
		if !ok {
			return false
		}
	}
	return true
}

// checkMounts refuses two mounts on one target.
func checkMounts(ms []Mount) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Target] {
			return invalidf("duplicate mount point: %s", m.Target)
		}
		seen[m.Target] = true
	}
	return nil
}

// Volume is a named volume: a directory under
// /var/lib/berth/volumes/NAME/_data that containers mount.
type Volume struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`
	Mountpoint string            `json:"Mountpoint"`
	CreatedAt  time.Time         `json:"CreatedAt"`
	Labels     map[string]string `json:"Labels"`
	Scope      string            `json:"Scope"`
}

// Volumes is the volume store, /var/lib/berth/volumes.
type Volumes struct{ dir string }

// OpenVolumes opens (creating it if needed) the volume store under root.
func OpenVolumes(root string) (*Volumes, error) {
	dir := filepath.Join(root, "volumes")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open volumes: %w", err)
	}
	return &Volumes{dir: dir}, nil
}

// Path is where volume name's data is.
func (v *Volumes) Path(name string) string { return filepath.Join(v.dir, name, "_data") }

// Create makes volume name, or returns it if it exists (created false),
// as `docker volume create` and a first -v do.
func (v *Volumes) Create(name string, labels map[string]string) (vol Volume, created bool, err error) {
	if !validVolumeName(name) {
		return Volume{}, false, invalidf("invalid volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed", name)
	}
	if vol, err := v.Get(name); err == nil {
		return vol, false, nil
	}
	tmp, err := os.MkdirTemp(v.dir, ".tmp-")
	if err != nil {
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	vol = Volume{Name: name, Driver: "local", Mountpoint: v.Path(name), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Labels: labels, Scope: "local"}
	if vol.Labels == nil {
		vol.Labels = map[string]string{}
	}
	b, _ := json.MarshalIndent(vol, "", "\t")
	if err := fsutil.WriteFileAtomic(filepath.Join(tmp, "volume.json"), b, 0o600); err != nil {
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, name)); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			// Another process made it first.
			vol, gerr := v.Get(name)
			return vol, false, gerr
		}
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	return vol, true, nil
}

// Get reads volume name.
func (v *Volumes) Get(name string) (Volume, error) {
	if !validVolumeName(name) {
		return Volume{}, fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(v.dir, name, "volume.json"))
	if errors.Is(err, os.ErrNotExist) {
		return Volume{}, fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	if err != nil {
		return Volume{}, fmt.Errorf("volume %s: %w", name, err)
	}
	var vol Volume
	if err := json.Unmarshal(b, &vol); err != nil {
		return Volume{}, fmt.Errorf("volume %s: %w", name, err)
	}
	return vol, nil
}

// List returns every volume, by name.
func (v *Volumes) List() ([]Volume, error) {
	ents, err := os.ReadDir(v.dir)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []Volume
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if vol, err := v.Get(e.Name()); err == nil {
			out = append(out, vol)
		}
	}
	slices.SortFunc(out, func(a, b Volume) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Remove deletes volume name and its data. The caller checks that no
// container uses it.
func (v *Volumes) Remove(name string) error {
	if _, err := v.Get(name); err != nil {
		return err
	}
	tomb, err := os.MkdirTemp(v.dir, ".rm-")
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.Rename(filepath.Join(v.dir, name), filepath.Join(tomb, name)); err != nil {
		os.Remove(tomb)
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return os.RemoveAll(tomb)
}
