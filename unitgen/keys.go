package unitgen

// The keys of an app file, one constant each. A key that is not in the
// list of its table is an error.

// Top-level keys.
const (
	KeyName    = "name"
	KeyService = "service"
	KeyNetwork = "network"
	KeyVolume  = "volume"
	KeyInstall = "install"
)

// Keys of [service.NAME].
const (
	KeyImage       = "image"
	KeyBuild       = "build"
	KeyCommand     = "command"
	KeyEntrypoint  = "entrypoint"
	KeyEnvironment = "environment"
	KeyEnvFile     = "env_file"
	KeyPorts       = "ports"
	KeyVolumes     = "volumes"
	KeyTmpfs       = "tmpfs"
	KeyNetworks    = "networks"
	KeyDependsOn   = "depends_on"
	KeyRestart     = "restart"
	KeyHealthcheck = "healthcheck"
	KeyUser        = "user"
	KeyWorkdir     = "workdir"
	KeyHostname    = "hostname"
	KeyLabels      = "labels"
	KeyMemory      = "memory"
	KeyCPUs        = "cpus"
	KeyPidsLimit   = "pids_limit"
	KeyStopSignal  = "stop_signal"
	KeyStopTimeout = "stop_timeout"
	KeyReadOnly    = "read_only"
	KeyCapAdd      = "cap_add"
	KeyCapDrop     = "cap_drop"
	KeyDevices     = "devices"
	KeyReplicas    = "replicas"
	KeySystemd     = "systemd"
)

// Keys of [service.NAME.build].
const (
	KeyBuildContext    = "context"
	KeyBuildDockerfile = "dockerfile"
	KeyBuildArgs       = "args"
	KeyBuildTarget     = "target"
)

// Keys of a service's networks table entry (`networks.NAME`).
const KeyAliases = "aliases"

// Keys of a service's depends_on table entry (`depends_on.NAME`).
const KeyCondition = "condition"

// Keys of [service.NAME.healthcheck].
const (
	KeyHealthCmd         = "cmd"
	KeyHealthInterval    = "interval"
	KeyHealthTimeout     = "timeout"
	KeyHealthRetries     = "retries"
	KeyHealthStartPeriod = "start_period"
)

// Keys of [network.NAME].
const (
	KeySubnet   = "subnet"
	KeyGateway  = "gateway"
	KeyInternal = "internal"
)

// Keys of [volume.NAME].
const (
	KeyDriver  = "driver"
	KeyOptions = "options"
)

// Keys of [install].
const KeyWantedBy = "wanted_by"

var (
	topKeys     = []string{KeyName, KeyService, KeyNetwork, KeyVolume, KeyInstall}
	serviceKeys = []string{
		KeyImage, KeyBuild, KeyCommand, KeyEntrypoint, KeyEnvironment, KeyEnvFile,
		KeyPorts, KeyVolumes, KeyTmpfs, KeyNetworks, KeyDependsOn, KeyRestart,
		KeyHealthcheck, KeyUser, KeyWorkdir, KeyHostname, KeyLabels, KeyMemory,
		KeyCPUs, KeyPidsLimit, KeyStopSignal, KeyStopTimeout, KeyReadOnly,
		KeyCapAdd, KeyCapDrop, KeyDevices, KeyReplicas, KeySystemd,
	}
	buildKeys         = []string{KeyBuildContext, KeyBuildDockerfile, KeyBuildArgs, KeyBuildTarget}
	serviceNetKeys    = []string{KeyAliases}
	dependsOnKeys     = []string{KeyCondition}
	healthcheckKeys   = []string{KeyHealthCmd, KeyHealthInterval, KeyHealthTimeout, KeyHealthRetries, KeyHealthStartPeriod}
	networkKeys       = []string{KeySubnet, KeyGateway, KeyInternal}
	volumeKeys        = []string{KeyDriver, KeyOptions}
	installKeys       = []string{KeyWantedBy}
	systemdSections   = []string{SectionUnit, SectionService, SectionInstall}
	volumeOptionKeys  = []string{"type", "device", "o"}
	conditionNames    = []string{ConditionStarted, ConditionHealthy, ConditionCompleted}
	restartPolicyKeys = []string{RestartNo, RestartOnFailure, RestartAlways, RestartUnlessStopped}
)

// composeNames are hints for Compose keys that berth spells differently
// or does not support, by table kind.
var composeNames = map[string]map[string]string{
	"top": {
		"services": `berth's tables are [service.NAME]`,
		"networks": `berth's tables are [network.NAME]`,
		"volumes":  `berth's tables are [volume.NAME]`,
		"version":  `app files have no version`,
	},
	"service": {
		"working_dir":       `berth calls it "workdir"`,
		"mem_limit":         `berth calls it "memory"`,
		"stop_grace_period": `berth calls it "stop_timeout" (whole seconds)`,
		"container_name":    `containers are named "<app>-<service>"; there is no container_name`,
		"deploy":            `use "replicas", "memory" and "cpus" directly in the service`,
		"env":               `berth calls it "environment"`,
		"expose":            `not needed: containers on a network reach each other's ports`,
		"links":             `use "networks": services on a network resolve each other's names`,
		"command_line":      `berth calls it "command"`,
	},
	"healthcheck": {
		"test": `berth calls it "cmd"`,
	},
}

// systemdOwned are [Service] directives that berth sets itself and that
// a service's systemd table may not override, with the key to use
// instead where there is one.
var systemdOwned = map[string]string{
	"Type":           "",
	"ExecStart":      `set "command" or "entrypoint"`,
	"ExecStop":       `set "stop_signal" and "stop_timeout"`,
	"ExecStopPost":   "",
	"NotifyAccess":   "",
	"Delegate":       "",
	"KillMode":       "",
	"KillSignal":     `set "stop_signal"`,
	"TimeoutStopSec": `set "stop_timeout"`,
	"Restart":        `set "restart"`,
	"MemoryMax":      `set "memory"`,
	"CPUQuota":       `set "cpus"`,
	"TasksMax":       `set "pids_limit"`,
	"User":           `set "user" (it is the user inside the container)`,
	"Environment":    `set "environment"`,
}
