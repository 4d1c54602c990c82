package unitgen

import (
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
)

// The value parsers below are pure and follow Docker's rules. Those that
// also exist in package machine (restart, memory, signals, hostname) are
// small reimplementations, because unitgen runs at early boot and must
// not import machine.

// problem is a bad value: what is wrong, and maybe a hint.
type problem struct{ msg, hint string }

func (p *problem) Error() string { return p.msg }

func bad(format string, args ...any) *problem { return &problem{msg: fmt.Sprintf(format, args...)} }

func (p *problem) withHint(format string, args ...any) *problem {
	p.hint = fmt.Sprintf(format, args...)
	return p
}

// nameRE is Docker's container-name charset, which service, network,
// volume and app names share.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// maxUnitName is the longest unit name systemd accepts (UNIT_NAME_MAX
// minus the terminating NUL).
const maxUnitName = 255

func checkName(kind, name string) *problem {
	if !nameRE.MatchString(name) {
		return bad("invalid %s name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed", kind, name)
	}
	return nil
}

// unitNameRE is systemd's unit name syntax: a prefix, an optional
// "@instance", and a type suffix.
var unitNameRE = regexp.MustCompile(`^[a-zA-Z0-9:_.\\-]+(@[a-zA-Z0-9:_.\\-]*)?\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$`)

func checkUnitName(name string) *problem {
	if len(name) > maxUnitName || !unitNameRE.MatchString(name) {
		return bad("invalid unit name %q", name).withHint(`a unit name looks like "multi-user.target"`)
	}
	return nil
}

// parseRestart parses Docker's restart policy: "no", "always",
// "unless-stopped", "on-failure" or "on-failure:N".
func parseRestart(s string) (RestartPolicy, *problem) {
	name, count, hasCount := strings.Cut(s, ":")
	if !slices.Contains(restartPolicyKeys, name) {
		p := bad("invalid restart policy %q", s)
		if h := suggest(name, restartPolicyKeys); h != "" {
			return RestartPolicy{}, p.withHint("%s", h)
		}
		return RestartPolicy{}, p.withHint(`use "no", "on-failure[:N]", "always" or "unless-stopped"`)
	}
	if !hasCount {
		return RestartPolicy{Name: name}, nil
	}
	if name != RestartOnFailure {
		return RestartPolicy{}, bad("invalid restart policy %q: a maximum retry count can only be used with %q", s, RestartOnFailure)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 0 {
		return RestartPolicy{}, bad("invalid restart policy %q: the maximum retry count must be a whole number ≥ 0", s)
	}
	return RestartPolicy{Name: name, MaxRetries: n}, nil
}

// minMemory is the smallest memory limit Docker accepts on Linux.
const minMemory = 6 * 1024 * 1024

// parseMemory parses a memory size as Docker's -m does (go-units
// RAMInBytes: "64m", "1.5g", "512mb", "100" bytes). "0" means no limit;
// anything else below 6MB is refused, as Docker's daemon refuses it.
func parseMemory(s string) (int64, *problem) {
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, bad("invalid memory size %q", s).withHint(`use a number with an optional unit b, k, m, g: "64m", "1.5g"`)
	}
	if n != 0 && n < minMemory {
		return 0, bad("memory %q is below the minimum of 6MB", s)
	}
	return n, nil
}

// parseSize parses a tmpfs size ("64m"), as parseMemory without the
// minimum.
func parseSize(s string) (int64, *problem) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, bad("invalid size %q", s).withHint(`use a number with an optional unit b, k, m, g: "64m"`)
	}
	return n, nil
}

// checkCPUs checks a CPU limit as Docker's --cpus: 0 (no limit) or at
// least 0.01, with at most nine decimals. The upper bound (the host's CPU
// count) depends on the host and is checked when the container starts.
func checkCPUs(c float64) *problem {
	if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 || c != 0 && c < 0.01 || c > 1e6 {
		return bad("invalid cpus %v: use 0 for no limit, or a number of CPUs of at least 0.01", c)
	}
	r := new(big.Rat)
	r.SetString(strconv.FormatFloat(c, 'f', -1, 64))
	if !r.Mul(r, big.NewRat(1e9, 1)).IsInt() {
		return bad("invalid cpus %v: at most nine decimals", c)
	}
	return nil
}

// Real-time signal numbers as glibc and Docker number them.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// signals are Linux's signal names without "SIG" and their numbers. When
// two names share a number, the first listed is the canonical one.
var signals = []struct {
	name string
	num  int
}{
	{"HUP", 1}, {"INT", 2}, {"QUIT", 3}, {"ILL", 4}, {"TRAP", 5}, {"ABRT", 6},
	{"IOT", 6}, {"BUS", 7}, {"FPE", 8}, {"KILL", 9}, {"USR1", 10}, {"SEGV", 11},
	{"USR2", 12}, {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15}, {"STKFLT", 16},
	{"CHLD", 17}, {"CLD", 17}, {"CONT", 18}, {"STOP", 19}, {"TSTP", 20},
	{"TTIN", 21}, {"TTOU", 22}, {"URG", 23}, {"XCPU", 24}, {"XFSZ", 25},
	{"VTALRM", 26}, {"PROF", 27}, {"WINCH", 28}, {"IO", 29}, {"POLL", 29},
	{"PWR", 30}, {"SYS", 31}, {"RTMIN", sigRTMin}, {"RTMAX", sigRTMax},
}

// parseSignal parses a signal as Docker does: a number 1-64, or a name
// with or without "SIG" in any case, including "RTMIN+n" and "RTMAX-n".
// It returns the canonical name: "SIGTERM", "SIGRTMIN+3".
func parseSignal(s string) (string, *problem) {
	num := -1
	if n, err := strconv.Atoi(s); err == nil {
		if n >= 1 && n <= sigRTMax {
			num = n
		}
	} else {
		name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
		for _, sig := range signals {
			if sig.name == name {
				num = sig.num
			}
		}
		if off, ok := strings.CutPrefix(name, "RTMIN+"); ok {
			if n, err := strconv.Atoi(off); err == nil && n >= 0 && !strings.HasPrefix(off, "+") && n <= sigRTMax-sigRTMin {
				num = sigRTMin + n
			}
		}
		if off, ok := strings.CutPrefix(name, "RTMAX-"); ok {
			if n, err := strconv.Atoi(off); err == nil && n >= 0 && !strings.HasPrefix(off, "+") && n <= sigRTMax-sigRTMin {
				num = sigRTMax - n
			}
		}
	}
	if num < 0 || num == 32 || num == 33 {
		return "", bad("invalid signal %q", s).withHint(`use a name like "SIGTERM" or "TERM", or a number like 15`)
	}
	for _, sig := range signals {
		if sig.num == num && num < sigRTMin {
			return "SIG" + sig.name, nil
		}
	}
	return fmt.Sprintf("SIGRTMIN+%d", num-sigRTMin), nil
}

// parseDuration parses a Go/Compose duration ("10s", "1m30s", "500ms").
func parseDuration(s string) (time.Duration, *problem) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad("invalid duration %q", s).withHint(`use a duration like "10s", "1m30s" or "500ms"`)
	}
	return d, nil
}

// capabilities are Linux's capability names without "CAP_", up to
// CAP_CHECKPOINT_RESTORE (Linux 5.9).
var capabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// parseCapability normalises a capability name as Docker does: any case,
// with or without "CAP_"; "ALL" stands for all of them.
func parseCapability(s string) (string, *problem) {
	name := strings.TrimPrefix(strings.ToUpper(s), "CAP_")
	if name == "ALL" {
		return "ALL", nil
	}
	if !slices.Contains(capabilities, name) {
		p := bad("unknown capability %q", s)
		if h := suggest(name, capabilities); h != "" {
			p.hint = strings.Replace(h, `"`, `"CAP_`, 1)
		}
		return "", p
	}
	return "CAP_" + name, nil
}

// parsePort parses Docker's -p syntax:
// [[IP:]HOST:]CONTAINER[/PROTO], where HOST and CONTAINER are a port or a
// range "START-END", IP may be in brackets ("[::1]"), and an empty HOST
// ("127.0.0.1::80") means an ephemeral port.
func parsePort(s string) (Port, *problem) {
	example := func(p *problem) (Port, *problem) {
		return Port{}, p.withHint(`use [IP:]HOST:CONTAINER[/tcp|udp], like "8080:80" or "127.0.0.1:53:53/udp"`)
	}
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return example(bad("invalid port %q: unknown protocol %q", s, proto))
	}
	var ip, host, ctr string
	if i := strings.LastIndex(spec, ":"); i < 0 {
		ctr = spec
	} else {
		ctr = spec[i+1:]
		rest := spec[:i]
		if j := strings.LastIndex(rest, ":"); j < 0 || strings.HasSuffix(rest, "]") {
			host = rest
		} else {
			ip, host = rest[:j], rest[j+1:]
			if ip == "" {
				return example(bad("invalid port %q: empty host address", s))
			}
		}
	}
	if strings.Contains(host, "]") || strings.Contains(host, "[") {
		// "[::1]:80" is an address and a container port: no host port.
		return example(bad("invalid port %q: a host address needs a host port or an empty one, like \"[::1]::80\"", s))
	}
	var p Port
	p.Protocol = proto
	if ip != "" {
		addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]"))
		if err != nil || addr.Zone() != "" {
			return example(bad("invalid port %q: invalid host address %q", s, ip))
		}
		p.HostIP = addr.String()
	}
	var ok bool
	if p.ContainerStart, p.ContainerEnd, ok = portRange(ctr); !ok {
		return example(bad("invalid port %q: invalid container port %q", s, ctr))
	}
	if host != "" {
		if p.HostStart, p.HostEnd, ok = portRange(host); !ok {
			return example(bad("invalid port %q: invalid host port %q", s, host))
		}
		hostN, ctrN := p.HostEnd-p.HostStart, p.ContainerEnd-p.ContainerStart
		if ctrN != 0 && hostN != ctrN {
			return Port{}, bad("invalid port %q: the host and container ranges must have the same size", s)
		}
	}
	return p, nil
}

// portRange parses "80" or "8000-8010": ports 1-65535, start ≤ end.
func portRange(s string) (start, end uint16, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	x, err1 := strconv.ParseUint(a, 10, 16)
	y, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil || x == 0 || y < x {
		return 0, 0, false
	}
	return uint16(x), uint16(y), true
}

// resolve makes a relative path absolute against dir, the app file's
// directory; absolute paths are cleaned.
func resolve(dir, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(dir, p)
}

// parseVolume parses Compose's short volume syntax: SOURCE:TARGET[:OPTS]
// or TARGET alone (an anonymous volume), where SOURCE is a volume name or
// a host path (absolute, or relative starting with "./" or "../",
// resolved against dir) and OPTS a comma list of "ro" or "rw", "nocopy"
// (volumes), a propagation (bind mounts) and "z"/"Z" (ignored), as
// Docker's -v.
func parseVolume(dir, s string) (Mount, *problem) {
	example := func(p *problem) (Mount, *problem) {
		return Mount{}, p.withHint(`use NAME:/path[:ro] for a named volume, /host/path:/path[:ro] for a bind mount or /path for an anonymous volume`)
	}
	parts := strings.Split(s, ":")
	if len(parts) == 1 {
		if !path.IsAbs(s) {
			return example(bad("invalid volume %q: the container path %q is not absolute", s, s))
		}
		return Mount{Type: MountVolume, Anonymous: true, Target: path.Clean(s)}, nil
	}
	if len(parts) > 3 {
		return example(bad("invalid volume %q: too many colons", s))
	}
	m := Mount{Source: parts[0], Target: parts[1]}
	var opts []string
	if len(parts) == 3 {
		opts = strings.Split(parts[2], ",")
	}
	modes := 0
	for _, o := range opts {
		switch o {
		case "ro", "rw":
			m.ReadOnly = o == "ro"
			modes++
		case "nocopy":
			m.NoCopy = true
		case "z", "Z":
			// SELinux relabelling, as Docker's -v: no label to set here.
		case "private", "rprivate", "shared", "rshared", "slave", "rslave":
			if m.Propagation != "" {
				modes = 2
			}
			m.Propagation = o
		default:
			return Mount{}, bad("invalid volume %q: unknown mode %q", s, o).withHint(`the options are "ro" or "rw", "nocopy" for a volume, and a propagation ([r]private, [r]shared, [r]slave) for a bind mount`)
		}
	}
	if modes > 1 {
		return Mount{}, bad("invalid volume %q: more than one mode or propagation", s)
	}
	if !path.IsAbs(m.Target) {
		return example(bad("invalid volume %q: the container path %q is not absolute", s, m.Target))
	}
	m.Target = path.Clean(m.Target)
	switch src := m.Source; {
	case src == "":
		return example(bad("invalid volume %q: empty source", s))
	case strings.HasPrefix(src, "/") || src == "." || src == ".." || strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../"):
		m.Type, m.Source = MountBind, resolve(dir, src)
	case strings.HasPrefix(src, "~"):
		return example(bad("invalid volume %q: \"~\" is not expanded", s))
	default:
		if p := checkName("volume", src); p != nil {
			return example(p)
		}
		m.Type = MountVolume
	}
	if m.NoCopy && m.Type != MountVolume {
		return Mount{}, bad("invalid volume %q: nocopy applies to volumes only", s)
	}
	if m.Propagation != "" && m.Type != MountBind {
		return Mount{}, bad("invalid volume %q: a propagation applies to bind mounts only", s)
	}
	return m, nil
}

// parseTmpfs parses a `tmpfs` entry: /path[:OPTIONS], where OPTIONS is a
// comma-separated list of size=SIZE, mode=OCTAL, ro, rw, exec, noexec,
// suid, nosuid, dev, nodev (Docker's --tmpfs).
func parseTmpfs(s string) (Mount, *problem) {
	target, opts, _ := strings.Cut(s, ":")
	if !path.IsAbs(target) {
		return Mount{}, bad("invalid tmpfs %q: the container path is not absolute", s).withHint(`use /path[:size=64m,mode=1777]`)
	}
	m := Mount{Type: MountTmpfs, Target: path.Clean(target)}
	if opts == "" {
		return m, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, hasV := strings.Cut(o, "=")
		switch {
		case k == "size" && hasV:
			n, p := parseSize(v)
			if p != nil {
				p.msg = fmt.Sprintf("invalid tmpfs %q: %s", s, p.msg)
				return Mount{}, p
			}
			m.TmpfsSize = n
		case k == "mode" && hasV:
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil || n == 0 || n > 0o7777 {
				return Mount{}, bad("invalid tmpfs %q: mode %q is not an octal mode between 1 and 7777", s, v)
			}
			m.TmpfsMode = uint32(n)
		case o == "ro":
			m.ReadOnly = true
		case o == "rw":
			m.ReadOnly = false
		case o == "exec" || o == "noexec" || o == "suid" || o == "nosuid" || o == "dev" || o == "nodev":
			m.TmpfsFlags = append(m.TmpfsFlags, o)
		default:
			return Mount{}, bad("invalid tmpfs %q: unknown option %q", s, o).withHint("the options are size=SIZE, mode=OCTAL, ro, rw, exec, noexec, suid, nosuid, dev, nodev")
		}
	}
	return m, nil
}

// parseDevice parses Docker's --device: HOST[:CONTAINER][:PERMISSIONS],
// where PERMISSIONS is a combination of r, w and m (default rwm).
func parseDevice(s string) (Device, *problem) {
	parts := strings.Split(s, ":")
	d := Device{Host: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
		d.Container = d.Host
	case 2:
		if isPermissions(parts[1]) {
			d.Container, d.Permissions = d.Host, parts[1]
		} else {
			d.Container = parts[1]
		}
	case 3:
		d.Container, d.Permissions = parts[1], parts[2]
		if !isPermissions(d.Permissions) {
			return Device{}, bad("invalid device %q: permissions %q are not a combination of r, w and m", s, d.Permissions)
		}
	default:
		return Device{}, bad("invalid device %q: too many colons", s).withHint(`use /dev/HOST[:/dev/CONTAINER][:rwm]`)
	}
	if !path.IsAbs(d.Host) || !path.IsAbs(d.Container) {
		return Device{}, bad("invalid device %q: device paths must be absolute", s).withHint(`use /dev/HOST[:/dev/CONTAINER][:rwm]`)
	}
	d.Host, d.Container = path.Clean(d.Host), path.Clean(d.Container)
	// Normalise the permissions to the order r, w, m.
	var perm strings.Builder
	for _, c := range "rwm" {
		if strings.ContainsRune(d.Permissions, c) {
			perm.WriteRune(c)
		}
	}
	d.Permissions = perm.String()
	return d, nil
}

func isPermissions(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for _, c := range s {
		if c != 'r' && c != 'w' && c != 'm' || strings.Count(s, string(c)) > 1 {
			return false
		}
	}
	return true
}

// checkHostname refuses what sethostname(2) refuses (more than 64 bytes)
// and what cannot be a host name at all (spaces, control characters,
// slashes), as berth run does.
func checkHostname(h string) *problem {
	if len(h) > 64 {
		return bad("invalid hostname %q: longer than 64 characters", h)
	}
	for _, c := range h {
		if c <= ' ' || c >= 0x7f || c == '/' {
			return bad("invalid hostname %q: only printable ASCII without spaces or '/' is allowed", h)
		}
	}
	return nil
}

// checkUser checks "user[:group]": each a name or a number, no spaces.
func checkUser(u string) *problem {
	user, group, hasGroup := strings.Cut(u, ":")
	if user == "" || hasGroup && group == "" || strings.ContainsAny(u, " \t\n") || strings.Count(u, ":") > 1 {
		return bad("invalid user %q", u).withHint(`use "user", "user:group", "1000" or "1000:1000"`)
	}
	return nil
}

// shellSplit splits a command line into words as Compose does (POSIX
// shell quoting, as Python's shlex.split): words are separated by
// blanks; '...' keeps everything literally; "..." keeps everything but
// \", \\, \$ and \` which lose their backslash; a backslash outside
// quotes keeps the next character literally. Nothing is expanded: $VAR,
// globs, ~, |, ; and && are ordinary characters.
func shellSplit(s string) ([]string, *problem) {
	words := []string{}
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					w.WriteByte(s[i])
				}
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, bad("unterminated ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				w.WriteByte(s[i])
			}
			if !closed {
				return nil, bad("unterminated \" in %q", s)
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// directiveKeyRE is the syntax of a raw unit directive's name.
var directiveKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
