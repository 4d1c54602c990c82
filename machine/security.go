package machine

import (
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Device is one --device HOST[:CONTAINER][:PERMISSIONS]. Type, Major,
// Minor and Mode are the host node's, filled in by the caller (the CLI
// stats the host path when the container is created, as Docker does).
type Device struct {
	// HostPath is the node on the host; ContainerPath where it appears
	// in the container (HostPath when not given).
	HostPath, ContainerPath string
	// Permissions is a combination of "r", "w" and "m" (Docker's
	// default "rwm").
	Permissions string
	// Type is "c" or "b"; Major, Minor and Mode (permission bits) are
	// the host node's.
	Type         string
	Major, Minor int64
	Mode         uint32
}

// ParseDevice parses --device HOST[:CONTAINER][:PERMISSIONS] with
// Docker's rules: both paths absolute, permissions a non-empty subset of
// "rwm". The node's numbers are left for the caller to fill in.
func ParseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	d := Device{Permissions: "rwm"}
	switch len(parts) {
	case 1:
		d.HostPath = parts[0]
	case 2:
		d.HostPath = parts[0]
		if validDevicePerms(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.ContainerPath = parts[1]
		}
	case 3:
		d.HostPath, d.ContainerPath, d.Permissions = parts[0], parts[1], parts[2]
		if !validDevicePerms(d.Permissions) {
			return Device{}, invalidf("invalid device mode: %s", d.Permissions)
		}
	default:
		return Device{}, invalidf("invalid device specification: %s", s)
	}
	if d.ContainerPath == "" {
		d.ContainerPath = d.HostPath
	}
	for _, p := range []string{d.HostPath, d.ContainerPath} {
		if !path.IsAbs(p) {
			return Device{}, invalidf("invalid device specification %s: %s is not an absolute path", s, p)
		}
	}
	d.ContainerPath = path.Clean(d.ContainerPath)
	if d.ContainerPath == "/dev" || !strings.HasPrefix(d.ContainerPath, "/dev/") {
		return Device{}, invalidf("invalid device specification %s: the container path must be under /dev", s)
	}
	return d, nil
}

func validDevicePerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) || strings.Count(p, string(c)) > 1 {
			return false
		}
	}
	return true
}

// DefaultDeviceAllow are the device nodes a container may use besides
// those systemd's DevicePolicy=closed always allows (null, zero, full,
// random, urandom): runc's default list as systemd spells it. Creating
// any node is allowed (Docker's "c *:* m", "b *:* m"), so that images
// that mknod keep working; opening one that is not listed is not.
var DefaultDeviceAllow = []DeviceRule{
	{"char-*", "m"},
	{"block-*", "m"},
	{"/dev/tty", "rwm"},
	{"/dev/console", "rwm"},
	{"/dev/ptmx", "rwm"},
	{"char-pts", "rwm"},
}

// DeviceRule is one DeviceAllow= entry: a path, or "char-GROUP" /
// "block-GROUP" from /proc/devices ("char-*" for every one), and
// permissions ("r", "w", "m").
type DeviceRule struct {
	Path, Permissions string
}

// deviceProperties are the unit's device cgroup policy: closed with
// Docker's allow list and the --device nodes, or no policy at all for
// --privileged.
func deviceProperties(o RunOptions) []Property {
	if o.Privileged {
		return []Property{{"DevicePolicy", "auto"}}
	}
	rules := append([]DeviceRule(nil), DefaultDeviceAllow...)
	for _, d := range o.Devices {
		rules = append(rules, DeviceRule{d.HostPath, d.Permissions})
	}
	return []Property{{"DevicePolicy", "closed"}, {"DeviceAllow", rules}}
}

// linuxDevices are the --device nodes as the spec lists them, and the
// device cgroup rules that allow them.
func linuxDevices(devs []Device) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup) {
	var nodes []specs.LinuxDevice
	var rules []specs.LinuxDeviceCgroup
	for _, d := range devs {
		mode := fs.FileMode(d.Mode & 0o7777)
		major, minor := d.Major, d.Minor
		nodes = append(nodes, specs.LinuxDevice{
			Path: d.ContainerPath, Type: d.Type, Major: major, Minor: minor, FileMode: &mode,
			UID: ptrU32(0), GID: ptrU32(0),
		})
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: d.Permissions})
	}
	return nodes, rules
}

func ptrU32(v uint32) *uint32 { return &v }

// groupAdd resolves --group-add entries (names in the image's
// /etc/group, or numbers) and appends them to gids, without repeats.
func groupAdd(groups [][]string, gids []uint32, add []string) ([]uint32, error) {
	for _, g := range add {
		gid, err := strconv.Atoi(g)
		if err != nil {
			found := false
			for _, f := range groups {
				if field(f, 0) == g {
					gid, found = atoiDefault(field(f, 2)), true
					break
				}
			}
			if !found {
				return nil, invalidf("unable to find group %s: no matching entries in group file", g)
			}
		}
		if gid < 0 || gid > maxID {
			return nil, invalidf("invalid group %s: gids must be in range 0-%d", g, maxID)
		}
		if !slices.Contains(gids, uint32(gid)) {
			gids = append(gids, uint32(gid))
		}
	}
	return gids, nil
}
