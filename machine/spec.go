package machine

import (
	"io/fs"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/berth/berth/machine/seccomp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Annotation keys that berth writes into every spec. The container's
// labels (the image's, overridden by -l) are annotations too, under their
// own names; Validate reserves the "berth." prefix so they cannot clash.
const (
	AnnotationName  = "berth.name"
	AnnotationImage = "berth.image"
)

// DefaultCapabilities are Docker's default capabilities, which the
// process gets in its bounding, effective and permitted sets (never
// inheritable or ambient, as Docker since 20.10.14).
var DefaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// AllCapabilities are the capabilities Linux knows (capabilities(7)),
// in number order.
var AllCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// NormalizeCapability spells a capability as the spec does
// ("net_admin" → "CAP_NET_ADMIN"); "ALL" stays "ALL".
func NormalizeCapability(c string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(c))
	if u == "ALL" {
		return u, nil
	}
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	if !slices.Contains(AllCapabilities, u) {
		return "", invalidf("invalid capability: %s", c)
	}
	return u, nil
}

// capabilities are Docker's defaults with --cap-drop removed, then
// --cap-add added, as Docker applies them ("ALL" in either).
func capabilities(add, drop []string) []string {
	if len(add) == 0 && len(drop) == 0 {
		return append([]string(nil), DefaultCapabilities...)
	}
	set := map[string]bool{}
	for _, c := range DefaultCapabilities {
		set[c] = true
	}
	for _, c := range drop {
		n, _ := NormalizeCapability(c)
		if n == "ALL" {
			clear(set)
		}
		delete(set, n)
	}
	for _, c := range add {
		n, _ := NormalizeCapability(c)
		if n == "ALL" {
			for _, a := range AllCapabilities {
				set[a] = true
			}
		}
		if n != "" && n != "ALL" {
			set[n] = true
		}
	}
	var out []string
	for _, c := range AllCapabilities {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

// CPUPeriod is the CFS period, in microseconds, that --cpus is expressed
// over, as in Docker.
const CPUPeriod = 100000

// DefaultNofile is the RLIMIT_NOFILE, soft and hard, of the container's
// process.
const DefaultNofile = 1048576

// DefaultPath is the PATH every container starts with, before its
// image's and its own environment: Docker's, as imagestore.DefaultPath
// (TestDefaultPath holds the two together).
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BuildSpec builds the OCI runtime spec of container id (64 hex digits,
// from NewID) from its image's config, the user's options and the
// image's root filesystem (read only for /etc/passwd and /etc/group; see
// ResolveUser for what root must be). It is pure: it reads root and
// nothing else, and it validates o first. Errors about the input wrap
// errdefs.ErrInvalid.
//
// Docker's rules, applied here:
//   - Process args are entrypoint + cmd. --entrypoint replaces the image's
//     ENTRYPOINT and drops its CMD; "" leaves no entrypoint. Arguments
//     after IMAGE replace the image's CMD. Nothing at all is the error
//     "no command specified".
//   - Env starts with PATH (DefaultPath) and HOSTNAME, then the
//     image's Env, then o.Env; a later entry replaces an earlier one with
//     the same key where the first stood, and a bare "K" in o.Env removes
//     K (Docker's "unset"). HOME is added last from the user's passwd
//     entry unless set. As Docker's CLI does, the caller puts the env
//     files' entries (ParseEnvFile, in file order) before the -e entries
//     in o.Env; o.EnvFiles is only a record of the paths.
//   - Cwd is -w, else the image's WorkingDir, else "/"; it must be
//     absolute. The user is -u, else the image's User, else root.
//   - Hostname is --hostname, else the first 12 digits of id.
//   - Resources record -m (with swap = 2 × memory, Docker's default for
//     --memory without --memory-swap), --cpus as a quota over CPUPeriod
//     and --pids-limit. systemd enforces them as unit properties; the
//     spec keeps them for inspect and for the runtime.
//   - Annotations hold berth.name (when o.Name is set), berth.image and
//     the labels.
//
// The mounts, namespaces, masked and read-only paths and the device rule
// are runc's and Docker's defaults. The network namespace is a new one
// with loopback only.
func BuildSpec(img ocispec.ImageConfig, o RunOptions, id string, root fs.FS) (*specs.Spec, error) {
	if !isID(id) {
		return nil, invalidf("invalid container ID %q: want 64 lowercase hex digits", id)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	args, err := processArgs(img, o)
	if err != nil {
		return nil, err
	}
	userSpec := o.User
	if userSpec == "" {
		userSpec = img.User // the image's USER, as Docker
	}
	user, err := ResolveUser(root, userSpec)
	if err != nil {
		return nil, err
	}
	hostname := o.Hostname
	if hostname == "" {
		hostname = id[:12]
	}
	cwd := o.WorkingDir
	if cwd == "" {
		cwd = img.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return nil, workdirError(cwd)
	}
	cwd = path.Clean(cwd)
	env := mergeEnv([]string{DefaultPath, "HOSTNAME=" + hostname}, img.Env, o.Env)
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+user.Home)
	}

	if len(o.GroupAdd) > 0 {
		groups, err := readDB(root, "etc/group")
		if err != nil {
			return nil, err
		}
		if user.AdditionalGids, err = groupAdd(groups, user.AdditionalGids, o.GroupAdd); err != nil {
			return nil, err
		}
	}

	caps := capabilities(o.CapAdd, o.CapDrop)
	seccompChoice := o.Seccomp
	if o.Privileged {
		// As Docker: everything, whatever --cap-drop and seccomp= say.
		caps = append([]string(nil), AllCapabilities...)
		seccompChoice = SeccompUnconfined
	}
	filter, err := SeccompProfile(seccompChoice, caps)
	if err != nil {
		return nil, err
	}
	if filter != nil && seccompChoice != SeccompDefault {
		// Refuse now, not when the container starts, a profile that
		// cannot be compiled. Docker's default profile compiles with
		// any capabilities (TestDefaultSeccompProfileCompiles): the
		// container's start compiles it, once.
		if _, err := seccomp.Compile(filter); err != nil {
			return nil, invalidf("%v", err)
		}
	}
	s := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: false,
			User: specs.User{
				UID:            user.UID,
				GID:            user.GID,
				AdditionalGids: user.AdditionalGids,
			},
			Args: args,
			Env:  env,
			Cwd:  cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: DefaultNofile, Soft: DefaultNofile}},
			// On unless lifted (Docker's default is off; see
			// docs/SECURITY.md).
			NoNewPrivileges: !o.NewPrivileges && (o.NoNewPrivileges || !o.Privileged),
		},
		Root:        &specs.Root{Path: "rootfs", Readonly: o.ReadOnly},
		Hostname:    hostname,
		Mounts:      defaultMounts(o.Privileged),
		Annotations: annotations(img, o),
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.CgroupNamespace},
				{Type: specs.NetworkNamespace},
			}[:namespaces(o)],
			Resources: resources(o),
			Seccomp:   filter,
			MaskedPaths: []string{
				"/proc/asound",
				"/proc/acpi",
				"/proc/interrupts",
				"/proc/kcore",
				"/proc/keys",
				"/proc/latency_stats",
				"/proc/timer_list",
				"/proc/timer_stats",
				"/proc/sched_debug",
				"/proc/scsi",
				"/sys/firmware",
				"/sys/devices/virtual/powercap",
			},
			ReadonlyPaths: []string{
				"/proc/bus",
				"/proc/fs",
				"/proc/irq",
				"/proc/sys",
				"/proc/sysrq-trigger",
			},
		},
	}
	s.Linux.Devices, s.Linux.Resources.Devices = privilegedOr(o, s.Linux.Resources.Devices)
	if o.Privileged {
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	}
	return s, nil
}

// privilegedOr are the spec's device nodes and device cgroup rules: the
// --device nodes on top of "deny all", or "allow all" for --privileged
// (whose nodes, the host's, the init makes when it starts).
func privilegedOr(o RunOptions, rules []specs.LinuxDeviceCgroup) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup) {
	if o.Privileged {
		return nil, []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	nodes, allow := linuxDevices(o.Devices)
	return nodes, append(rules, allow...)
}

// processArgs is Docker's merge of ENTRYPOINT and CMD with --entrypoint
// and the arguments after IMAGE.
func processArgs(img ocispec.ImageConfig, o RunOptions) ([]string, error) {
	var entrypoint, cmd []string
	switch {
	case o.Entrypoint == nil:
		entrypoint = img.Entrypoint
		cmd = img.Cmd
	case *o.Entrypoint != "":
		entrypoint = []string{*o.Entrypoint}
	}
	if len(o.Cmd) > 0 {
		cmd = o.Cmd
	}
	args := append(append([]string(nil), entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, invalidf("no command specified")
	}
	return args, nil
}

// mergeEnv applies layers of KEY=VALUE entries in order: an entry
// replaces the earlier one with its key in place, or is appended; a bare
// KEY removes the key.
func mergeEnv(layers ...[]string) []string {
	var out []string
	at := map[string]int{}
	for _, layer := range layers {
		for _, e := range layer {
			k, _, ok := strings.Cut(e, "=")
			i, seen := at[k]
			switch {
			case !ok && seen:
				out[i] = ""
				delete(at, k)
			case !ok:
			case seen:
				out[i] = e
			default:
				at[k] = len(out)
				out = append(out, e)
			}
		}
	}
	kept := out[:0]
	for _, e := range out {
		if e != "" {
			kept = append(kept, e)
		}
	}
	return kept
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}

// defaultMounts are runc's default mounts, which Docker uses too; with
// privileged, /sys and /sys/fs/cgroup are writable.
func defaultMounts(privileged bool) []specs.Mount {
	ro := "ro"
	if privileged {
		ro = "rw"
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", ro}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", ro}},
	}
}

// resources records the limits. The device rule denies every device
// node; the runtime adds its default allow list (null, zero, full,
// random, urandom, tty, pts) on top, as runc does for Docker.
func resources(o RunOptions) *specs.LinuxResources {
	r := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	if o.Memory > 0 {
		limit, swap := o.Memory, o.Memory
		if o.Memory <= math.MaxInt64/2 {
			swap = 2 * o.Memory
		}
		r.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &swap}
	}
	if o.CPUs > 0 {
		nano := int64(math.Round(o.CPUs * 1e9))
		quota := nano * CPUPeriod / 1e9
		period := uint64(CPUPeriod)
		r.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if o.PidsLimit > 0 {
		limit := o.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return r
}

// annotations are berth's keys and the labels: the image's, overridden
// by -l, as Docker merges them.
func annotations(img ocispec.ImageConfig, o RunOptions) map[string]string {
	a := map[string]string{}
	maps.Copy(a, img.Labels)
	maps.Copy(a, o.Labels)
	if o.Name != "" {
		a[AnnotationName] = o.Name
	}
	a[AnnotationImage] = o.Image
	return a
}

// namespaces is how many of the spec's namespaces the container gets:
// all but the last (network) with --network host.
func namespaces(o RunOptions) int {
	if o.Network == NetworkHost {
		return 5
	}
	return 6
}
