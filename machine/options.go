package machine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"net/netip"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berth/berth/internal/errdefs"
	units "github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// RunOptions are the user's choices for a container: Docker's `run` and
// `create` flags, already parsed by the CLI. The zero value of each field
// means "not given" (the image's value or Docker's default applies).
type RunOptions struct {
	// Name is the container's name; "" means the caller generates one
	// (GenerateName) before building the spec.
	Name string
	// Image is the image reference as the user wrote it.
	Image string
	// Cmd are the arguments after IMAGE; empty means the image's Cmd.
	Cmd []string
	// Entrypoint is --entrypoint: nil means the image's; a pointer to ""
	// resets it (no entrypoint). Like Docker, the value is one argument,
	// never split on spaces.
	Entrypoint *string
	// Env is the container's own environment: the entries of the env
	// files (ParseEnvFile, in file order) followed by the -e entries, as
	// Docker's CLI joins them. The CLI resolves "-e K" from its own
	// environment first; a bare "K" that is left means "unset K", as in
	// Docker (it removes K from the image's environment too).
	Env []string
	// EnvFiles are the --env-file paths, for the record only: the CLI
	// reads them with ParseEnvFile into the front of Env.
	EnvFiles []string
	// WorkingDir is -w; it must be absolute.
	WorkingDir string
	// User is -u USER[:GROUP], names or numbers (see ResolveUser).
	User string
	// Hostname is --hostname; "" means the first 12 hex digits of the ID.
	Hostname string
	// Memory is -m in bytes; 0 means unlimited.
	Memory int64
	// CPUs is --cpus; 0 means unlimited.
	CPUs float64
	// PidsLimit is --pids-limit; 0 or negative (Docker's -1) means
	// unlimited.
	PidsLimit int64
	// Restart is --restart; the zero value means "no".
	Restart RestartPolicy
	// StopSignal is --stop-signal; "" means the image's StopSignal, else
	// SIGTERM.
	StopSignal string
	// StopTimeout is --stop-timeout in seconds; nil means 10, a negative
	// value means wait for ever (Docker's -1).
	StopTimeout *int
	// Labels are the -l labels. They are merged over the image's labels
	// and recorded in the spec's annotations under their own names (see
	// BuildSpec); keys starting with "berth." are reserved.
	Labels map[string]string
	// CapAdd and CapDrop are --cap-add and --cap-drop: capability names
	// with or without "CAP_", or "ALL".
	CapAdd, CapDrop []string
	// ReadOnly is --read-only: the root filesystem is mounted read-only.
	ReadOnly bool
	// NoNewPrivileges is --security-opt no-new-privileges[=true]. berth
	// sets no_new_privs by default anyway (unlike Docker); this keeps it
	// on with --privileged too.
	NoNewPrivileges bool
	// NewPrivileges is --security-opt no-new-privileges=false: it lifts
	// the default no_new_privs, so that setuid and file capabilities work.
	NewPrivileges bool
	// Seccomp is --security-opt seccomp=…: SeccompDefault (Docker's
	// default profile), SeccompUnconfined, or a profile's JSON text in
	// Docker's format (the CLI reads the file, as Docker's does).
	Seccomp string
	// Privileged is --privileged: every capability, no seccomp filter,
	// no masked or read-only paths, /sys and the cgroup file system
	// writable, the host's device nodes in /dev and no device policy,
	// and no no_new_privs unless NoNewPrivileges asks for it. It gives
	// the container the host (see docs/SECURITY.md).
	Privileged bool
	// Devices are --device: host device nodes made in the container's
	// /dev and allowed in its device cgroup.
	Devices []Device
	// Userns is --userns: "" or UsernsHost, UsernsAuto, or
	// "auto:size=N" (see ParseUserns).
	Userns string `json:",omitempty"`
	// GroupAdd are --group-add: supplementary groups, names from the
	// image's /etc/group or numbers.
	GroupAdd []string
	// Network is --network: NetworkBridge ("" too), NetworkNone,
	// NetworkHost or the name of a user network.
	Network string
	// NetworkAliases are --network-alias: more names of the container on
	// a user network.
	NetworkAliases []string `json:",omitempty"`
	// IP is --ip: the container's address on a user network.
	IP string `json:",omitempty"`
	// Connected are the user networks `berth network connect` added, in
	// order: the container joins them too (as eth1, eth2…) whenever it
	// runs.
	Connected []ConnectedNetwork `json:",omitempty"`
	// DNS are --dns: name servers for the container's resolv.conf.
	DNS []string `json:",omitempty"`
	// ExtraHosts are --add-host as NAME:IP (ParseAddHost).
	ExtraHosts []string `json:",omitempty"`
	// Publish are -p.
	Publish []PortMapping
	// Healthcheck is --health-cmd and friends; nil: none.
	Healthcheck *Healthcheck `json:",omitempty"`
	// ReadyWhenHealthy: with a Healthcheck, the container's unit becomes
	// active (READY=1) only when the check first passes, not when the
	// container runs: an app's service, so that systemd orders its
	// dependents after it is healthy. `berth run` leaves it false, so
	// that `run -d` returns once the container runs, as Docker's.
	ReadyWhenHealthy bool `json:",omitempty"`
	// PublishAll is -P: every port the image exposes gets a free host
	// port when the container is created (see ExposedPorts).
	PublishAll bool `json:",omitempty"`
	// Mounts are -v and --tmpfs (ParseVolume, ParseTmpfs), mounted in
	// this order over the image's root.
	Mounts []Mount
	// VolumesFrom are --volumes-from, CONTAINER[:ro|rw]; their mounts
	// are in Mounts once the container is made.
	VolumesFrom []string `json:",omitempty"`
	// AutoRemove is --rm.
	AutoRemove bool
	// Detach is -d.
	Detach bool
	// Tty is -t: the container gets a terminal (see package console);
	// Interactive is -i: a client passes its stdin to it. ConsoleSize is
	// the terminal's first size, rows and columns (0: unset).
	Tty         bool
	Interactive bool
	ConsoleSize [2]uint16
}

// Restart policy names, as Docker spells them.
const (
	RestartNo            = "no"
	RestartOnFailure     = "on-failure"
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy is --restart. Name "" is the same as "no".
type RestartPolicy struct {
	// Name is "no", "on-failure", "always" or "unless-stopped".
	Name string
	// MaximumRetryCount limits restarts for "on-failure"; 0 means no limit.
	MaximumRetryCount int
}

// IsNone reports whether the policy never restarts.
func (p RestartPolicy) IsNone() bool { return p.Name == "" || p.Name == RestartNo }

// Validate checks the policy with Docker's rules and messages.
func (p RestartPolicy) Validate() error {
	switch p.Name {
	case "", RestartNo, RestartAlways, RestartUnlessStopped:
		if p.MaximumRetryCount != 0 {
			msg := "invalid restart policy: maximum retry count can only be used with 'on-failure'"
			if p.MaximumRetryCount < 0 {
				msg += " and cannot be negative"
			}
			return invalidf("%s", msg)
		}
		return nil
	case RestartOnFailure:
		if p.MaximumRetryCount < 0 {
			return invalidf("invalid restart policy: maximum retry count cannot be negative")
		}
		return nil
	default:
		return invalidf("invalid restart policy: unknown policy '%s'; use one of '%s', '%s', '%s', or '%s'",
			p.Name, RestartNo, RestartAlways, RestartOnFailure, RestartUnlessStopped)
	}
}

// ParseRestartPolicy parses --restart: "no", "on-failure", "on-failure:N",
// "always" or "unless-stopped". "" gives "no". Errors wrap
// errdefs.ErrInvalid and carry Docker's messages.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	if s == "" {
		return RestartPolicy{Name: RestartNo}, nil
	}
	k, v, ok := strings.Cut(s, ":")
	if ok && k == "" {
		return RestartPolicy{}, invalidf("invalid restart policy format: no policy provided before colon")
	}
	p := RestartPolicy{Name: k}
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return RestartPolicy{}, invalidf("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	if err := p.Validate(); err != nil {
		return RestartPolicy{}, err
	}
	return p, nil
}

// MinMemory is the smallest memory limit Docker accepts on Linux.
const MinMemory = 6 * 1024 * 1024

// ParseMemory parses -m with Docker's rules (go-units RAMInBytes, which
// Docker's CLI uses): a number of bytes with an optional binary suffix
// b, k, m, g, t or p, any case, optionally followed by "b" or "ib"
// ("32m", "32mb", "1.5g", "100"). "0" means unlimited; anything else
// below MinMemory is refused as Docker's daemon refuses it.
func ParseMemory(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, invalidf("%v", err)
	}
	if n < 0 { // float overflow in the conversion ("1e30")
		return 0, invalidf("invalid size: '%s'", s)
	}
	if err := checkMemory(n); err != nil {
		return 0, err
	}
	return n, nil
}

func checkMemory(n int64) error {
	if n < 0 {
		return invalidf("invalid memory limit %d: cannot be negative", n)
	}
	if n != 0 && n < MinMemory {
		return invalidf("Minimum memory limit allowed is 6MB")
	}
	return nil
}

// MinCPUs is the smallest --cpus that a CFS quota can express: 0.01 CPU
// is a quota of 1ms per 100ms period, the kernel's minimum quota.
const MinCPUs = 0.01

// ParseCPUs parses --cpus as Docker's NanoCPUs option does: a decimal
// (or rational) number with at most nine decimals. "0" means unlimited;
// otherwise the value must lie between MinCPUs and the number of CPUs
// this process may run on, as Docker's daemon requires.
func ParseCPUs(s string) (float64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, invalidf("failed to parse %v as a rational number", s)
	}
	nano := new(big.Rat).Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, invalidf("value is too precise")
	}
	if !nano.Num().IsInt64() {
		return 0, cpuRangeError()
	}
	c := float64(nano.Num().Int64()) / 1e9
	if err := checkCPUs(c); err != nil {
		return 0, err
	}
	return c, nil
}

func checkCPUs(c float64) error {
	if c == 0 {
		return nil
	}
	if math.IsNaN(c) || c < MinCPUs || c > float64(runtime.NumCPU()) {
		return cpuRangeError()
	}
	return nil
}

func cpuRangeError() error {
	n := runtime.NumCPU()
	return invalidf("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n)
}

// Real-time signal numbers as glibc (and Docker) number them: the kernel
// reserves 32 and 33 for the threading library.
const (
	sigRTMIN = 34
	sigRTMAX = 64
)

var signalNames = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS,
	"CHLD": syscall.SIGCHLD, "CLD": syscall.SIGCLD, "CONT": syscall.SIGCONT,
	"FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP, "ILL": syscall.SIGILL,
	"INT": syscall.SIGINT, "IO": syscall.SIGIO, "IOT": syscall.SIGIOT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "POLL": syscall.SIGPOLL,
	"PROF": syscall.SIGPROF, "PWR": syscall.SIGPWR, "QUIT": syscall.SIGQUIT,
	"SEGV": syscall.SIGSEGV, "STKFLT": syscall.SIGSTKFLT, "STOP": syscall.SIGSTOP,
	"SYS": syscall.SIGSYS, "TERM": syscall.SIGTERM, "TRAP": syscall.SIGTRAP,
	"TSTP": syscall.SIGTSTP, "TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU,
	"URG": syscall.SIGURG, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"VTALRM": syscall.SIGVTALRM, "WINCH": syscall.SIGWINCH, "XCPU": syscall.SIGXCPU,
	"XFSZ":  syscall.SIGXFSZ,
	"RTMIN": sigRTMIN, "RTMAX": sigRTMAX,
}

// ParseSignal parses a signal as Docker does: a number ("15"), or a name
// with or without "SIG" in any case ("SIGTERM", "term"), including
// "SIGRTMIN+n" and "SIGRTMAX-n". Numbers must be a Linux signal (1-64).
// The error wraps errdefs.ErrInvalid.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > sigRTMAX {
			return 0, invalidf("invalid signal: %s", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := signalNames[name]; ok {
		return sig, nil
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"RTMIN+", sigRTMIN, 1}, {"RTMAX-", sigRTMAX, -1}} {
		off, ok := strings.CutPrefix(name, rt.prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(off)
		if err != nil || n < 0 || n > sigRTMAX-sigRTMIN || strings.HasPrefix(off, "+") {
			break
		}
		return syscall.Signal(rt.base + rt.sign*n), nil
	}
	return 0, invalidf("invalid signal: %s", s)
}

// ParseEnvFile reads an --env-file with Docker's rules: a UTF-8 BOM is
// dropped; leading whitespace is trimmed from each line; blank lines and
// lines starting with '#' are skipped; "K=V" is taken literally (no
// quotes, no escapes, trailing whitespace kept); a bare "K" takes its
// value from lookup and is skipped when lookup does not know it. A name
// with whitespace inside, an empty name or invalid UTF-8 is an error
// naming name:line, wrapping errdefs.ErrInvalid. lookup may be nil.
func ParseEnvFile(r io.Reader, name string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		b := sc.Bytes()
		if lineNo == 1 {
			b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		}
		if !utf8.Valid(b) {
			return nil, invalidf("%s:%d: env file contains invalid utf8 bytes", name, lineNo)
		}
		line := strings.TrimLeftFunc(string(b), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		if strings.ContainsAny(key, " \t") {
			return nil, invalidf("%s:%d: poorly formatted environment: variable '%s' contains whitespaces", name, lineNo, key)
		}
		if key == "" {
			return nil, invalidf("%s:%d: poorly formatted environment: no variable name on line '%s'", name, lineNo, line)
		}
		if hasValue {
			out = append(out, key+"="+value)
			continue
		}
		if lookup == nil {
			continue
		}
		if v, ok := lookup(key); ok {
			out = append(out, key+"="+v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env file %s: %w", name, err)
	}
	return out, nil
}

// validName is Docker's container name rule.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// LabelPrefix starts the annotation keys berth reserves for itself.
const LabelPrefix = "berth."

// DefaultStopTimeout is Docker's grace period between the stop signal
// and SIGKILL.
const DefaultStopTimeout = 10 * time.Second

// Validate makes every check on o that needs no image: formats of the
// fields and the combinations Docker refuses. BuildSpec calls it. Errors
// wrap errdefs.ErrInvalid; several problems are joined.
func (o *RunOptions) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if o.Name != "" && !validName().MatchString(o.Name) {
		add(invalidf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name))
	}
	if o.Image == "" {
		add(invalidf("no image specified"))
	}
	if mode, _, err := ParseUserns(o.Userns); err != nil {
		add(err)
	} else if mode == UsernsAuto {
		add(o.usernsConflicts())
	}
	for _, e := range o.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" || strings.ContainsRune(e, 0) {
			add(invalidf("invalid environment variable: %s", e))
		}
	}
	if o.WorkingDir != "" && !path.IsAbs(o.WorkingDir) {
		add(workdirError(o.WorkingDir))
	}
	add(checkHostname(o.Hostname))
	add(checkMemory(o.Memory))
	if o.CPUs < 0 {
		add(cpuRangeError())
	} else {
		add(checkCPUs(o.CPUs))
	}
	add(o.Restart.Validate())
	if o.AutoRemove && !o.Restart.IsNone() {
		add(invalidf("conflicting options: cannot specify both --restart and --rm"))
	}
	if o.StopSignal != "" {
		_, err := ParseSignal(o.StopSignal)
		add(err)
	}
	add(checkMounts(o.Mounts))
	if o.Healthcheck != nil {
		add(o.Healthcheck.Validate())
	}
	switch o.Network {
	case "", NetworkBridge:
	case NetworkNone, NetworkHost:
		if len(o.Publish) > 0 {
			add(invalidf("conflicting options: port publishing and the container's network mode"))
		}
	default:
		if other, shared := SharedNetwork(o.Network); shared {
			switch {
			case other == "":
				add(invalidf("--network container: needs a container's name or ID"))
			case len(o.Publish) > 0 || o.PublishAll:
				add(invalidf("conflicting options: port publishing and the container type network mode"))
			case o.Hostname != "":
				add(invalidf("conflicting options: hostname and the network mode"))
			case len(o.DNS) > 0 || len(o.ExtraHosts) > 0:
				add(invalidf("conflicting options: dns and the network mode"))
			}
		} else if !validNetworkName.MatchString(o.Network) {
			add(invalidf("invalid network name %q", o.Network))
		}
	}
	if !IsUserNetwork(o.Network) {
		if o.IP != "" {
			add(invalidf("user specified IP address is supported on user defined networks only"))
		}
		if len(o.NetworkAliases) > 0 {
			add(invalidf("network-scoped aliases are supported for user defined networks only"))
		}
	}
	if o.IP != "" {
		if a, err := netip.ParseAddr(o.IP); err != nil || !a.Is4() {
			add(invalidf("invalid IPv4 address %q for --ip", o.IP))
		}
	}
	for _, d := range o.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			add(invalidf("%s is not an IP address (--dns)", d))
		}
	}
	for _, h := range o.ExtraHosts {
		_, _, err := ParseAddHost(h)
		add(err)
	}
	for _, c := range append(append([]string(nil), o.CapAdd...), o.CapDrop...) {
		if _, err := NormalizeCapability(c); err != nil {
			add(err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Labels)) {
		switch {
		case strings.TrimSpace(k) == "":
			add(invalidf("invalid label '%s': empty name", k))
		case strings.HasPrefix(k, LabelPrefix):
			add(invalidf("invalid label '%s': the prefix %q is reserved for berth", k, LabelPrefix))
		}
	}
	return errors.Join(errs...)
}

func workdirError(dir string) error {
	return invalidf("the working directory '%s' is invalid, it needs to be an absolute path", dir)
}

// checkHostname refuses what sethostname(2) refuses (more than 64 bytes)
// and what cannot be a host name at all (spaces, control characters,
// slashes). Docker itself checks little more than the length.
func checkHostname(h string) error {
	if len(h) > 64 {
		return invalidf("invalid hostname %q: longer than 64 characters", h)
	}
	for _, c := range h {
		if c <= ' ' || c >= 0x7f || c == '/' {
			return invalidf("invalid hostname %q: only printable ASCII without spaces or '/' is allowed", h)
		}
	}
	return nil
}

// StopSignalOf is the signal that stops the container: --stop-signal,
// else the image's StopSignal, else SIGTERM.
func StopSignalOf(img ocispec.ImageConfig, o RunOptions) (syscall.Signal, error) {
	switch {
	case o.StopSignal != "":
		return ParseSignal(o.StopSignal)
	case img.StopSignal != "":
		sig, err := ParseSignal(img.StopSignal)
		if err != nil {
			return 0, fmt.Errorf("image StopSignal: %w", err)
		}
		return sig, nil
	}
	return syscall.SIGTERM, nil
}

// StopTimeoutOf is the grace period between the stop signal and SIGKILL:
// --stop-timeout, else DefaultStopTimeout. A negative result means wait
// for ever (Docker's -1); the unit layer maps it to TimeoutStopSec=infinity.
func StopTimeoutOf(o RunOptions) time.Duration {
	switch {
	case o.StopTimeout == nil:
		return DefaultStopTimeout
	case *o.StopTimeout < 0:
		return -1
	}
	return time.Duration(*o.StopTimeout) * time.Second
}

// invalidError carries a message in Docker's exact words and is of class
// errdefs.ErrInvalid without the class name appended to the text.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return errdefs.ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}
