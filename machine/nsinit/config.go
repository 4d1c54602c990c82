package nsinit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Config is what the child needs, sent by the parent over the socket
// pair as JSON.
type Config struct {
	// Protocol is the sender's Protocol (set by Start).
	Protocol int         `json:"protocol"`
	Spec     *specs.Spec `json:"spec"`
	// LowerDirs are the image layers, top first; Upper and Work the
	// container's writable overlay directories; Rootfs the mount point.
	LowerDirs []string `json:"lowerDirs"`
	Upper     string   `json:"upper"`
	Work      string   `json:"work"`
	Rootfs    string   `json:"rootfs"`
	// StateDir holds the files bind-mounted into the container
	// (/etc/hostname, /etc/hosts).
	StateDir string `json:"stateDir"`
	// LogIdentifier and Unit go in the header of the journal streams that
	// become the container's stdout and stderr.
	LogIdentifier string `json:"logIdentifier"`
	Unit          string `json:"unit"`
	// Address is the container's own address on its network, for its
	// /etc/hosts; empty without a network (its host name is then on
	// 127.0.1.1).
	Address string `json:"address,omitempty"`
	// ResolvConf is the content of its /etc/resolv.conf; empty: none.
	ResolvConf string `json:"resolvConf,omitempty"`
	// ExtraHosts are more lines of its /etc/hosts (--add-host), each
	// "IP<TAB>NAME".
	ExtraHosts []string `json:"extraHosts,omitempty"`
	// HostNetwork keeps the host's network namespace (--network host).
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// NetNS is the network namespace to join (/proc/PID/ns/net of
	// another container's PID 1, --network container:OTHER).
	NetNS string `json:"netns,omitempty"`
	// HostDevices (--privileged) makes a node in the container's /dev
	// for every device node of the host's /dev.
	HostDevices bool `json:"hostDevices,omitempty"`
	// DeviceSources are the host nodes of the spec's devices, by their
	// path in the container: a user namespace cannot mknod, so the
	// host's node is bind-mounted there instead (devices_linux.go).
	DeviceSources map[string]string `json:"deviceSources,omitempty"`
	// CopyUp are the targets of volumes to seed, when empty, with the
	// image's content there (Docker's copy on a volume's first use).
	CopyUp []string `json:"copyUp,omitempty"`
	// SeccompFilter is the spec's seccomp profile (Spec.Linux.Seccomp)
	// compiled to BPF by the parent (machine.SeccompFilter), so that the
	// child, which runs in every container's start, carries no compiler.
	SeccompFilter BPF `json:"seccompFilter,omitempty"`
	// SeccompEarly: the filter allows what the child does while it waits
	// for Process.Resume (machine.SeccompEarly), so it is installed
	// before that wait, beside the parent's work, instead of after.
	SeccompEarly bool `json:"seccompEarly,omitempty"`
	// Streams says that the parent passes journal streams for stdout
	// and stderr as descriptors 5 and 6.
	Streams bool `json:"streams"`
	// Console, when set, is the slave of the container's terminal (-t):
	// its stdin, stdout, stderr and controlling terminal, in a session
	// of its own, instead of the journal streams.
	Console *os.File `json:"-"`
	// Stdin, when set and Console is not, is the container's stdin (the
	// read end of a pipe that a `run -i` client feeds); else /dev/null.
	Stdin *os.File `json:"-"`
	// rootfsFD is, in the child, the overlay mount that the parent made
	// for a user namespace (userns_linux.go); -1 when the child mounts it.
	rootfsFD int
}

// Result is the child's report: ok, or an error with the exit code
// Docker gives it.
type Result struct {
	OK    bool   `json:"ok"`
	Code  int    `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// Exit codes of a container that could not start, as Docker's.
const (
	ExitSetup       = 125
	ExitCannotExec  = 126
	ExitNotFound    = 127
	maxOverlayData  = 4096 - 1 // one page, with its NUL
	overlayOptsTail = ",upperdir=%s,workdir=%s"
)

// OverlayData is the data argument of the overlay mount. With many
// layers the absolute paths do not fit in the one page mount(2) takes;
// then the caller must chdir to the common parent of the layers and use
// the relative form, which OverlayData returns with rel set.
func OverlayData(lowers []string, upper, work string) (data string, rel bool, err error) {
	if len(lowers) == 0 {
		return "", false, fmt.Errorf("overlay: no layers")
	}
	for _, l := range lowers {
		if strings.ContainsAny(l, ",:") {
			return "", false, fmt.Errorf("overlay: layer path %q contains ',' or ':'", l)
		}
	}
	for _, d := range []string{upper, work} {
		if strings.ContainsAny(d, ",:") {
			return "", false, fmt.Errorf("overlay: directory %q contains ',' or ':'", d)
		}
	}
	data = "lowerdir=" + strings.Join(lowers, ":") + fmt.Sprintf(overlayOptsTail, upper, work)
	if len(data) <= maxOverlayData {
		return data, false, nil
	}
	parent := commonParent(lowers)
	if parent == "" {
		return "", false, fmt.Errorf("overlay: %d layers do not fit in one mount", len(lowers))
	}
	short := make([]string, len(lowers))
	for i, l := range lowers {
		short[i] = strings.TrimPrefix(l, parent+"/")
	}
	data = "lowerdir=" + strings.Join(short, ":") + fmt.Sprintf(overlayOptsTail, upper, work)
	if len(data) > maxOverlayData {
		return "", false, fmt.Errorf("overlay: %d layers do not fit in one mount", len(lowers))
	}
	return data, true, nil
}

// commonParent is the directory that holds every path of ps, or "".
func commonParent(ps []string) string {
	parent := ps[0][:max(strings.LastIndex(ps[0], "/"), 0)]
	for _, p := range ps {
		if !strings.HasPrefix(p, parent+"/") || strings.Contains(p[len(parent)+1:], "/") {
			return ""
		}
	}
	return parent
}

// mountFlags are the options of an OCI mount that are mount(2) flags;
// the rest are the filesystem's data.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro":          {false, unix.MS_RDONLY},
	"rw":          {true, unix.MS_RDONLY},
	"nosuid":      {false, unix.MS_NOSUID},
	"suid":        {true, unix.MS_NOSUID},
	"nodev":       {false, unix.MS_NODEV},
	"dev":         {true, unix.MS_NODEV},
	"noexec":      {false, unix.MS_NOEXEC},
	"exec":        {true, unix.MS_NOEXEC},
	"relatime":    {false, unix.MS_RELATIME},
	"norelatime":  {true, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME},
	"noatime":     {false, unix.MS_NOATIME},
	"nodiratime":  {false, unix.MS_NODIRATIME},
	"bind":        {false, unix.MS_BIND},
	"rbind":       {false, unix.MS_BIND | unix.MS_REC},
}

// ParseMountOptions splits OCI mount options into mount(2) flags and the
// comma-joined data string; propagation options (rprivate…) are neither,
// they are applied on their own.
func ParseMountOptions(opts []string) (flags uintptr, data string) {
	var rest []string
	for _, o := range opts {
		switch o {
		case "private", "rprivate", "slave", "rslave", "shared", "rshared":
			continue
		}
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		rest = append(rest, o)
	}
	return flags, strings.Join(rest, ",")
}

// HostsFile is the container's /etc/hosts: loopback names and its own
// host name on loopback, until it has a network of its own.
func HostsFile(hostname string, address ...string) string {
	own := "127.0.1.1"
	if len(address) > 0 && address[0] != "" {
		own = address[0]
	}
	return "127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"ff00::0\tip6-mcastprefix\n" +
		"ff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n" +
		own + "\t" + hostname + "\n"
}

// hostsFile is HostsFile with cfg's extra lines.
func hostsFile(cfg *Config) string {
	s := HostsFile(cfg.Spec.Hostname, cfg.Address)
	for _, l := range cfg.ExtraHosts {
		s += l + "\n"
	}
	return s
}

// LookPath finds the command the way execvp(3) does, in the container's
// PATH (from env), using stat to test candidates; it returns the path
// and an exit code: 0, ExitNotFound or ExitCannotExec.
func LookPath(file string, env []string, stat func(string) (mode uint32, err error)) (string, int, error) {
	check := func(p string) (int, error) {
		m, err := stat(p)
		if errors.Is(err, unix.EACCES) {
			return ExitCannotExec, fmt.Errorf("permission denied")
		}
		if err != nil {
			return ExitNotFound, err
		}
		if m&unix.S_IFMT == unix.S_IFDIR {
			return ExitCannotExec, fmt.Errorf("is a directory")
		}
		if m&0o111 == 0 {
			return ExitCannotExec, fmt.Errorf("permission denied")
		}
		return 0, nil
	}
	if strings.Contains(file, "/") {
		code, err := check(file)
		if err != nil {
			if code == ExitNotFound {
				return "", code, fmt.Errorf("exec: %q: stat %s: no such file or directory", file, file)
			}
			return "", code, fmt.Errorf("exec: %q: %v", file, err)
		}
		return file, 0, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	denied := ""
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + file
		code, err := check(p)
		if err == nil {
			return p, 0, nil
		}
		if code == ExitCannotExec && denied == "" {
			denied = p
		}
	}
	if denied != "" {
		return "", ExitCannotExec, fmt.Errorf("exec: %q: permission denied", denied)
	}
	return "", ExitNotFound, fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

// BPF is a compiled seccomp filter. In JSON it is one base64 string of
// the kernel's struct sock_filter array (8 bytes an instruction, in this
// machine's byte order: parent and child run on the same kernel), not an
// array of objects: Docker's default profile compiles to some 1,500
// instructions, which as objects took the child 2 ms to decode.
type BPF []bpf.RawInstruction

// MarshalJSON encodes f as base64 of its sock_filter array.
func (f BPF) MarshalJSON() ([]byte, error) {
	b := make([]byte, 8*len(f))
	for i, in := range f {
		w := b[8*i:]
		binary.NativeEndian.PutUint16(w[0:], in.Op)
		w[2], w[3] = in.Jt, in.Jf
		binary.NativeEndian.PutUint32(w[4:], in.K)
	}
	return json.Marshal(b)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (f *BPF) UnmarshalJSON(data []byte) error {
	var b []byte
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("seccomp filter: %w", err)
	}
	if len(b)%8 != 0 {
		return fmt.Errorf("seccomp filter: %d bytes is not a whole number of instructions", len(b))
	}
	out := make(BPF, len(b)/8)
	for i := range out {
		r := b[8*i:]
		out[i] = bpf.RawInstruction{Op: binary.NativeEndian.Uint16(r[0:]), Jt: r[2], Jf: r[3], K: binary.NativeEndian.Uint32(r[4:])}
	}
	*f = out
	return nil
}
