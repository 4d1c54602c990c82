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
	// empty for tmpfs, and for an anonymous volume until the container
	// is created (then a generated name).
	Source   string `json:"Source"`
	Target   string `json:"Destination"`
	ReadOnly bool   `json:"ReadOnly"`
	// Options are tmpfs options (size=64m,mode=1777).
	Options string `json:"Options,omitempty"`
	// Propagation is a bind mount's: rprivate (the default, ""),
	// private, rshared, shared, rslave or slave.
	Propagation string `json:"Propagation,omitempty"`
	// Anonymous marks a volume without a name of the user's (-v /path,
	// the image's VOLUME): rm -v and --rm remove it with the container.
	Anonymous bool `json:"Anonymous,omitempty"`
	// NoCopy (volume-nocopy, :nocopy) keeps an empty volume from being
	// seeded with the image's content at its target.
	NoCopy bool `json:"NoCopy,omitempty"`
	// MustExist (--mount type=bind) refuses a bind source that does not
	// exist, where -v makes the directory.
	MustExist bool `json:"-"`
}

// propagations are the bind propagation modes, as Docker names them.
var propagations = map[string]bool{"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true}

// ParseVolume reads Docker's -v [SOURCE:]TARGET[:OPTIONS]: an absolute
// SOURCE is a bind mount of that host path, anything else the name of a
// volume, and no SOURCE an anonymous volume. OPTIONS are a comma list of
// ro|rw, nocopy (volumes), a propagation mode (binds) and z|Z (accepted,
// as there is no SELinux label to set). Errors wrap errdefs.ErrInvalid.
func ParseVolume(spec string) (Mount, error) {
	parts := strings.Split(spec, ":")
	m := Mount{}
	var src, dst, opts string
	switch len(parts) {
	case 1:
		dst = parts[0]
	case 2:
		src, dst = parts[0], parts[1]
	case 3:
		src, dst, opts = parts[0], parts[1], parts[2]
	default:
		return m, invalidf("invalid volume %q: want [SOURCE:]TARGET[:OPTIONS]", spec)
	}
	if !path.IsAbs(dst) || path.Clean(dst) == "/" {
		return m, invalidf("invalid volume %q: the target %q must be an absolute path other than /", spec, dst)
	}
	m.Target = path.Clean(dst)
	switch {
	case src == "":
		m.Type, m.Anonymous = MountVolume, true
	case path.IsAbs(src):
		m.Type, m.Source = MountBind, path.Clean(src)
	case validVolumeName(src):
		m.Type, m.Source = MountVolume, src
	default:
		return m, invalidf("invalid volume %q: %q is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", spec, src)
	}
	if opts == "" && len(parts) == 3 {
		return m, invalidf("invalid volume %q: empty options", spec)
	}
	modes := 0
	for _, o := range strings.Split(opts, ",") {
		switch {
		case o == "" && opts == "":
		case o == "ro" || o == "rw":
			m.ReadOnly = o == "ro"
			modes++
		case o == "z" || o == "Z":
		case o == "nocopy" && m.Type == MountVolume:
			m.NoCopy = true
		case propagations[o] && m.Type == MountBind:
			if m.Propagation != "" {
				return m, invalidf("invalid volume %q: two propagation modes", spec)
			}
			m.Propagation = o
		default:
			return m, invalidf("invalid volume %q: unknown option %q (ro, rw, nocopy for volumes, [r]private|[r]shared|[r]slave for binds)", spec, o)
		}
	}
	if modes > 1 {
		return m, invalidf("invalid volume %q: ro and rw given more than once", spec)
	}
	return m, nil
}

// ParseMount reads Docker's --mount, a comma list of KEY=VALUE:
// type=bind|volume|tmpfs (volume if left out), source|src,
// target|destination|dst, readonly|ro[=true|false], bind-propagation,
// volume-nocopy, tmpfs-size and tmpfs-mode. A volume without a source is
// anonymous; a bind source must exist. Errors wrap errdefs.ErrInvalid.
func ParseMount(spec string) (Mount, error) {
	m := Mount{Type: MountVolume}
	bad := func(format string, a ...any) (Mount, error) {
		return Mount{}, invalidf("invalid argument %q for --mount: %s", spec, fmt.Sprintf(format, a...))
	}
	var src, dst string
	var tmpfsOpts []string
	var bindOnly, volumeOnly, tmpfsOnly []string
	for _, field := range strings.Split(spec, ",") {
		k, v, hasValue := strings.Cut(field, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		boolValue := func() (bool, error) {
			switch strings.ToLower(v) {
			case "", "1", "true":
				return true, nil
			case "0", "false":
				return false, nil
			}
			return false, fmt.Errorf("%s: %q is not a boolean", k, v)
		}
		switch k {
		case "type":
			switch v {
			case MountBind, MountVolume, MountTmpfs:
				m.Type = v
			default:
				return bad("type %q is not bind, volume or tmpfs", v)
			}
		case "source", "src":
			src = v
		case "target", "destination", "dst":
			dst = v
		case "readonly", "ro":
			b, err := boolValue()
			if err != nil {
				return bad("%v", err)
			}
			m.ReadOnly = b
		case "bind-propagation":
			if !propagations[v] {
				return bad("bind-propagation %q is not one of [r]private, [r]shared, [r]slave", v)
			}
			m.Propagation = v
			bindOnly = append(bindOnly, k)
		case "volume-nocopy":
			b, err := boolValue()
			if err != nil {
				return bad("%v", err)
			}
			m.NoCopy = b
			volumeOnly = append(volumeOnly, k)
		case "tmpfs-size":
			tmpfsOpts = append(tmpfsOpts, "size="+v)
			tmpfsOnly = append(tmpfsOnly, k)
		case "tmpfs-mode":
			tmpfsOpts = append(tmpfsOpts, "mode="+v)
			tmpfsOnly = append(tmpfsOnly, k)
		case "consistency":
			// macOS only in Docker; nothing to do on Linux.
		default:
			return bad("unknown key %q", k)
		}
		if !hasValue && k != "readonly" && k != "ro" && k != "volume-nocopy" {
			return bad("%q needs a value (KEY=VALUE)", k)
		}
	}
	for _, x := range []struct {
		typ  string
		keys []string
	}{{MountBind, bindOnly}, {MountVolume, volumeOnly}, {MountTmpfs, tmpfsOnly}} {
		if len(x.keys) > 0 && m.Type != x.typ {
			return bad("%s applies to type=%s only", x.keys[0], x.typ)
		}
	}
	if dst == "" {
		return bad("target is missing")
	}
	if !path.IsAbs(dst) || path.Clean(dst) == "/" {
		return bad("the target %q must be an absolute path other than /", dst)
	}
	m.Target = path.Clean(dst)
	switch m.Type {
	case MountBind:
		if src == "" {
			return bad("type=bind needs a source")
		}
		if !path.IsAbs(src) {
			return bad("the bind source %q must be an absolute path", src)
		}
		m.Source, m.MustExist = path.Clean(src), true
	case MountVolume:
		if src == "" {
			m.Anonymous = true
		} else if !validVolumeName(src) {
			return bad("%q is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", src)
		}
		m.Source = src
	case MountTmpfs:
		if src != "" {
			return bad("type=tmpfs takes no source")
		}
		m.Options = strings.Join(tmpfsOpts, ",")
		if m.ReadOnly {
			m.Options = strings.Trim(m.Options+",ro", ",")
			m.ReadOnly = false
		}
		if _, err := ParseTmpfs(m.Target + ":" + m.Options); err != nil {
			return bad("%v", err)
		}
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
	// Options are the local driver's (type, device, o): see
	// ParseVolumeOptions; null for a plain directory, as Docker shows it.
	Options map[string]string `json:"Options"`
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
	return v.CreateWithOptions(name, labels, nil)
}

// CreateWithOptions is Create with the local driver's options (see
// ParseVolumeOptions). A volume that exists is returned as it is, with
// its own options, as Docker does.
func (v *Volumes) CreateWithOptions(name string, labels, opts map[string]string) (vol Volume, created bool, err error) {
	if !validVolumeName(name) {
		return Volume{}, false, invalidf("invalid volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed", name)
	}
	if _, err := ParseVolumeOptions("local", opts); err != nil {
		return Volume{}, false, err
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
	if len(opts) > 0 {
		vol.Options = opts
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
	if err := v.unmount(name); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
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

// AnonymousVolumeLabel marks a volume made for -v /path or an image's
// VOLUME, with Docker's label; volume prune without -a removes those.
const AnonymousVolumeLabel = "com.docker.volume.anonymous"

// RemoveAnonymousVolumes removes the anonymous volumes of rec that none
// of others (every container, rec may be among them) mounts, and
// returns their names. A volume already gone is skipped.
func RemoveAnonymousVolumes(v *Volumes, rec *Container, others []*Container) ([]string, error) {
	var removed []string
	var errs []error
	for _, m := range rec.Options.Mounts {
		if m.Type != MountVolume || !m.Anonymous || m.Source == "" {
			continue
		}
		if slices.ContainsFunc(others, func(o *Container) bool { return o.ID != rec.ID && o.UsesVolume(m.Source) }) {
			continue
		}
		if err := v.Remove(m.Source); err != nil {
			if !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		removed = append(removed, m.Source)
	}
	return removed, errors.Join(errs...)
}

// UsesVolume reports whether c mounts volume name.
func (c *Container) UsesVolume(name string) bool {
	return slices.ContainsFunc(c.Options.Mounts, func(m Mount) bool { return m.Type == MountVolume && m.Source == name })
}
