package machine

import (
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Volume driver options, as Docker's "local" driver takes them
// (`volume create --opt type=tmpfs --opt device=tmpfs --opt o=size=64m`):
// the volume is a mount of device with the file system type and the
// options o, made on the host at its _data directory when a container
// that uses it starts and undone when the last one has stopped.

// VolumeMount is what mount(2) gets for a volume with options.
type VolumeMount struct {
	Source, FSType string
	Flags          uintptr
	Data           string
}

// The option words of o that are mount flags, not file system data.
var volumeMountFlags = map[string]uintptr{
	"ro":          unix.MS_RDONLY,
	"rw":          0,
	"nosuid":      unix.MS_NOSUID,
	"nodev":       unix.MS_NODEV,
	"noexec":      unix.MS_NOEXEC,
	"sync":        unix.MS_SYNCHRONOUS,
	"dirsync":     unix.MS_DIRSYNC,
	"noatime":     unix.MS_NOATIME,
	"nodiratime":  unix.MS_NODIRATIME,
	"relatime":    unix.MS_RELATIME,
	"strictatime": unix.MS_STRICTATIME,
	"bind":        unix.MS_BIND,
	"rbind":       unix.MS_BIND | unix.MS_REC,
}

// ParseVolumeOptions checks a volume's driver and options and returns
// the mount they describe; nil for a plain directory (no options).
func ParseVolumeOptions(driver string, opts map[string]string) (*VolumeMount, error) {
	if driver != "" && driver != "local" {
		return nil, invalidf("volume driver %q is not supported: berth has the local driver only", driver)
	}
	for k := range opts {
		if !slices.Contains([]string{"type", "device", "o"}, k) {
			return nil, invalidf("invalid option key %q for the local volume driver: type, device and o are known", k)
		}
	}
	if len(opts) == 0 {
		return nil, nil
	}
	typ, device, o := opts["type"], opts["device"], opts["o"]
	if typ == "" {
		return nil, invalidf("volume options need type= (tmpfs, none with o=bind, or a file system type)")
	}
	m := &VolumeMount{Source: device, FSType: typ}
	var data []string
	for _, w := range strings.Split(o, ",") {
		if w == "" {
			continue
		}
		if f, ok := volumeMountFlags[w]; ok {
			m.Flags |= f
			continue
		}
		data = append(data, w)
	}
	m.Data = strings.Join(data, ",")
	bind := m.Flags&unix.MS_BIND != 0
	switch {
	case typ == "none" && !bind:
		return nil, invalidf("volume type none needs o=bind or o=rbind")
	case typ != "none" && bind:
		return nil, invalidf("o=bind goes with type=none, not type=%s", typ)
	case bind && (device == "" || !filepath.IsAbs(device)):
		return nil, invalidf("a bind volume needs device= an absolute host path, not %q", device)
	case typ == "tmpfs" && device == "":
		m.Source = "tmpfs"
	case device == "":
		return nil, invalidf("volume type %s needs device=", typ)
	}
	if bind {
		m.FSType, m.Data = "", ""
	}
	return m, nil
}
