package unitgen

import "time"

// App is one parsed and validated app file: the services, networks and
// volumes it declares and how it is installed. Everything in it has been
// checked; slices keep the order of the file.
type App struct {
	// Name is the app's name: the file's base name without ".toml", or
	// the top-level `name`. Units are named after it ("<app>-<service>").
	Name string
	// File is the path that was passed to Parse.
	File string
	// Services are the [service.NAME] tables; there is at least one.
	Services []*Service
	// Networks are the [network.NAME] tables.
	Networks []*Network
	// Volumes are the [volume.NAME] tables.
	Volumes []*Volume
	// Install is the [install] table, with its default filled in.
	Install Install
}

// Service returns the service called name, or nil.
func (a *App) Service(name string) *Service {
	for _, s := range a.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Network returns the network called name, or nil.
func (a *App) Network(name string) *Network {
	for _, n := range a.Networks {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Volume returns the volume called name, or nil.
func (a *App) Volume(name string) *Volume {
	for _, v := range a.Volumes {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Service is one [service.NAME] table: a container (or, with Replicas, a
// set of identical containers) and how systemd runs it.
type Service struct {
	// Name is NAME in [service.NAME].
	Name string
	// Image is the image reference to run; exactly one of Image and Build
	// is set.
	Image string `json:",omitempty"`
	// Build says how to build the image; exactly one of Image and Build
	// is set.
	Build *Build `json:",omitempty"`
	// Command replaces the image's CMD. nil keeps the image's; an empty
	// (non-nil) slice means no command, as Compose's `command: []`.
	Command []string `json:",omitzero"`
	// Entrypoint replaces the image's ENTRYPOINT, as Command does CMD.
	Entrypoint []string `json:",omitzero"`
	// Environment holds variables set in the container.
	Environment map[string]string `json:",omitempty"`
	// EnvFiles are files of KEY=value lines (Docker's --env-file rules),
	// read when the container starts; Environment wins over them.
	// Relative paths have been resolved against the app file's directory.
	EnvFiles []string `json:",omitempty"`
	// Ports are published ports.
	Ports []Port `json:",omitempty"`
	// Mounts are the volumes, bind mounts (`volumes`) and tmpfs mounts
	// (`tmpfs`), in file order: volumes first, then tmpfs.
	Mounts []Mount `json:",omitempty"`
	// Networks are the networks the container joins. nil means the app's
	// network "default", as in Compose.
	Networks []ServiceNetwork `json:",omitempty"`
	// DependsOn lists the services this one needs.
	DependsOn []DependsOn `json:",omitempty"`
	// Restart is the restart policy; the default is RestartNo.
	Restart RestartPolicy
	// Healthcheck, if not nil, checks the container's health.
	Healthcheck *Healthcheck `json:",omitempty"`
	// User is "user[:group]", a name or number each; "" keeps the image's.
	User string `json:",omitempty"`
	// Workdir is an absolute path; "" keeps the image's.
	Workdir string `json:",omitempty"`
	// Hostname is the container's host name; "" means the default.
	Hostname string `json:",omitempty"`
	// Labels are the container's labels.
	Labels map[string]string `json:",omitempty"`
	// Memory is the memory limit in bytes; 0 means no limit.
	Memory int64 `json:",omitempty"`
	// CPUs is the CPU limit as a number of CPUs; 0 means no limit.
	CPUs float64 `json:",omitempty"`
	// PidsLimit is the process limit; 0 means the default and -1 no limit.
	PidsLimit int64 `json:",omitempty"`
	// StopSignal is a signal name such as "SIGTERM" or "SIGRTMIN+3"; ""
	// means the image's STOPSIGNAL, else SIGTERM.
	StopSignal string `json:",omitempty"`
	// StopTimeout is how long a stop waits for the container to exit
	// before killing it. The default is DefaultStopTimeout.
	StopTimeout time.Duration
	// ReadOnly mounts the container's root file system read-only.
	ReadOnly bool `json:",omitempty"`
	// CapAdd and CapDrop are capability names in upper case with the
	// "CAP_" prefix ("CAP_NET_ADMIN"), or "ALL".
	CapAdd  []string `json:",omitempty"`
	CapDrop []string `json:",omitempty"`
	// Devices are host devices made available in the container.
	Devices []Device `json:",omitempty"`
	// Replicas is how many identical containers run; at least 1.
	Replicas int
	// Systemd are raw unit directives, in file order, for what berth does
	// not model.
	Systemd []Directive `json:",omitempty"`
}

// DefaultStopTimeout is Docker's default stop timeout.
const DefaultStopTimeout = 10 * time.Second

// Build is a service's `build` table: how to build its image.
type Build struct {
	// Context is the build context directory, resolved against the app
	// file's directory.
	Context string
	// Dockerfile is the Dockerfile's path relative to Context; ""
	// means "Dockerfile".
	Dockerfile string `json:",omitempty"`
	// Args are build arguments (--build-arg).
	Args map[string]string `json:",omitempty"`
	// Target is the build stage to build; "" means the last one.
	Target string `json:",omitempty"`
}

// Port is one published port or port range: host ports HostStart to
// HostEnd on HostIP forward to container ports ContainerStart to
// ContainerEnd. A single port has Start == End.
type Port struct {
	// HostIP is the host address to listen on; "" means all addresses.
	HostIP string `json:",omitempty"`
	// HostStart and HostEnd are the host port range; both 0 means an
	// ephemeral port chosen when the container starts. A host range with
	// a single container port means "one free port of the range".
	HostStart, HostEnd uint16
	// ContainerStart and ContainerEnd are the container port range.
	ContainerStart, ContainerEnd uint16
	// Protocol is "tcp" or "udp".
	Protocol string
}

// Mount types.
const (
	MountVolume = "volume" // a named volume, declared in [volume.NAME]
	MountBind   = "bind"   // a host path
	MountTmpfs  = "tmpfs"  // a tmpfs
)

// Mount is one entry of a service's `volumes` or `tmpfs`.
type Mount struct {
	// Type is MountVolume, MountBind or MountTmpfs.
	Type string
	// Source is the volume's name (MountVolume) or the host path,
	// resolved against the app file's directory (MountBind); "" for
	// MountTmpfs.
	Source string `json:",omitempty"`
	// Target is the absolute path in the container.
	Target string
	// ReadOnly mounts it read-only.
	ReadOnly bool `json:",omitempty"`
	// Anonymous is a volume of the container's own ("/path"), with no
	// [volume] table; NoCopy keeps a new volume from being seeded with
	// the image's content; Propagation is a bind mount's (rprivate
	// when empty). Docker's -v options, which berth applies the same way.
	Anonymous   bool   `json:",omitempty"`
	NoCopy      bool   `json:",omitempty"`
	Propagation string `json:",omitempty"`
	// TmpfsSize is a tmpfs's size limit in bytes; 0 means the kernel's
	// default (half the RAM).
	TmpfsSize int64 `json:",omitempty"`
	// TmpfsMode is a tmpfs's permission bits; 0 means 01777.
	TmpfsMode uint32 `json:",omitempty"`
	// TmpfsFlags are a tmpfs's other mount flags, as given: "exec",
	// "noexec", "suid", "nosuid", "dev" or "nodev".
	TmpfsFlags []string `json:",omitempty"`
}

// ServiceNetwork is one network a service joins.
type ServiceNetwork struct {
	// Name is the network's name: one declared in [network.NAME], or
	// "default".
	Name string
	// Aliases are extra DNS names of the container on that network (the
	// service's name is always one).
	Aliases []string `json:",omitempty"`
}

// Dependency conditions: when a dependency counts as ready.
const (
	ConditionStarted   = "started"   // its container runs (Compose's service_started)
	ConditionHealthy   = "healthy"   // its healthcheck passed (service_healthy)
	ConditionCompleted = "completed" // it exited with status 0 (service_completed_successfully)
)

// DependsOn is one entry of a service's `depends_on`.
type DependsOn struct {
	// Service is the name of the service depended on.
	Service string
	// Condition is ConditionStarted (the default), ConditionHealthy or
	// ConditionCompleted.
	Condition string
}

// Restart policy names, as Docker spells them.
const (
	RestartNo            = "no"
	RestartOnFailure     = "on-failure"
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy is a service's `restart`.
type RestartPolicy struct {
	// Name is RestartNo, RestartOnFailure, RestartAlways or
	// RestartUnlessStopped.
	Name string
	// MaxRetries limits restarts for RestartOnFailure ("on-failure:3");
	// 0 means no limit.
	MaxRetries int `json:",omitempty"`
}

// Healthcheck is a service's `healthcheck` table, with Docker's defaults
// filled in.
type Healthcheck struct {
	// Test is the check in Docker's form: ["CMD", argv...] to run a
	// program, or ["CMD-SHELL", command] to run a command line with
	// /bin/sh -c.
	Test []string
	// Interval is the time between checks (default 30s).
	Interval time.Duration
	// Timeout is how long one check may run (default 30s).
	Timeout time.Duration
	// Retries is how many failures in a row make the container unhealthy
	// (default 3).
	Retries int
	// StartPeriod is the start-up time during which failures do not
	// count (default 0).
	StartPeriod time.Duration
}

// Docker's health check defaults.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 30 * time.Second
	DefaultHealthRetries  = 3
)

// Device is one entry of a service's `devices`.
type Device struct {
	// Host is the device's path on the host.
	Host string
	// Container is its path in the container.
	Container string
	// Permissions is a non-empty combination of "r", "w" and "m", in
	// that order (default "rwm").
	Permissions string
}

// Unit file sections that a service's `systemd` table may add to.
const (
	SectionUnit    = "Unit"
	SectionService = "Service"
	SectionInstall = "Install"
)

// Directive is one raw unit directive from a service's `systemd` table:
// "Key=Value" in [Section], once for each value.
type Directive struct {
	// Section is SectionUnit, SectionService or SectionInstall.
	Section string
	// Key is the directive's name, such as "After".
	Key string
	// Values are its values, one line each; they contain no newline.
	Values []string
}

// Network is a [network.NAME] table: a user network.
type Network struct {
	// Name is NAME in [network.NAME].
	Name string
	// Subnet is the network's subnet in CIDR form ("10.89.1.0/24"); ""
	// means one is allocated.
	Subnet string `json:",omitempty"`
	// Gateway is the gateway's address, inside Subnet; "" means the
	// subnet's first address.
	Gateway string `json:",omitempty"`
	// Internal networks have no route to the outside.
	Internal bool `json:",omitempty"`
}

// Volume is a [volume.NAME] table: a named volume.
type Volume struct {
	// Name is NAME in [volume.NAME].
	Name string
	// Driver is the volume driver; only "local" exists.
	Driver string
	// Options are the local driver's mount options: "type", "device" and
	// "o", as Docker's `--opt`.
	Options map[string]string `json:",omitempty"`
}

// Install is the [install] table: how the app is enabled.
type Install struct {
	// WantedBy are the units that want the app's services when it is
	// enabled; the default is ["multi-user.target"]. An empty list means
	// nothing starts the app at boot.
	WantedBy []string
}
