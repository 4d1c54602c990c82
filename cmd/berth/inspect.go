package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/netsetup/ipam"
)

// containerInspect is `berth inspect CONTAINER` in the shape of Docker's
// (ContainerJSON), for the fields that map to berth; Unit and Machine
// are berth's own.
type containerInspect struct {
	ID              string            `json:"Id"`
	Created         time.Time         `json:"Created"`
	Path            string            `json:"Path"`
	Args            []string          `json:"Args"`
	State           inspectState      `json:"State"`
	Image           string            `json:"Image"`
	ResolvConfPath  string            `json:"ResolvConfPath"`
	HostnamePath    string            `json:"HostnamePath"`
	HostsPath       string            `json:"HostsPath"`
	LogPath         string            `json:"LogPath"`
	Name            string            `json:"Name"`
	RestartCount    int               `json:"RestartCount"`
	Driver          string            `json:"Driver"`
	Platform        string            `json:"Platform"`
	HostConfig      inspectHostConfig `json:"HostConfig"`
	GraphDriver     inspectDriver     `json:"GraphDriver"`
	Mounts          []any             `json:"Mounts"`
	Config          inspectConfig     `json:"Config"`
	NetworkSettings map[string]any    `json:"NetworkSettings"`
	Unit            string            `json:"Unit"`
	Machine         string            `json:"Machine"`
}

type inspectState struct {
	Status     string    `json:"Status"`
	Running    bool      `json:"Running"`
	Paused     bool      `json:"Paused"`
	Restarting bool      `json:"Restarting"`
	OOMKilled  bool      `json:"OOMKilled"`
	Dead       bool      `json:"Dead"`
	Pid        int       `json:"Pid"`
	ExitCode   int       `json:"ExitCode"`
	Error      string    `json:"Error"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
	// Health is there for a container with a health check, as Docker's.
	Health *machine.Health `json:"Health,omitempty"`
}

type inspectRestart struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

type inspectHostConfig struct {
	Memory         int64          `json:"Memory"`
	MemorySwap     int64          `json:"MemorySwap"`
	NanoCpus       int64          `json:"NanoCpus"`
	CpuQuota       int64          `json:"CpuQuota"`
	CpuPeriod      int64          `json:"CpuPeriod"`
	PidsLimit      *int64         `json:"PidsLimit"`
	RestartPolicy  inspectRestart `json:"RestartPolicy"`
	AutoRemove     bool           `json:"AutoRemove"`
	NetworkMode    string         `json:"NetworkMode"`
	ReadonlyRootfs bool           `json:"ReadonlyRootfs"`
	CapAdd         []string       `json:"CapAdd"`
	CapDrop        []string       `json:"CapDrop"`
	Privileged     bool           `json:"Privileged"`
	Devices        []inspectDev   `json:"Devices"`
	GroupAdd       []string       `json:"GroupAdd"`
	SecurityOpt    []string       `json:"SecurityOpt"`
	UsernsMode     string         `json:"UsernsMode"`
	// IDMappings is Podman's: the user namespace's uid and gid maps,
	// "CONTAINER:HOST:SIZE" (--userns=auto).
	IDMappings *inspectIDMappings `json:"IDMappings,omitempty"`
}

type inspectIDMappings struct {
	UIDMap []string `json:"UidMap"`
	GIDMap []string `json:"GidMap"`
}

type inspectDev struct {
	PathOnHost        string `json:"PathOnHost"`
	PathInContainer   string `json:"PathInContainer"`
	CgroupPermissions string `json:"CgroupPermissions"`
}

type inspectDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

type inspectConfig struct {
	Hostname    string            `json:"Hostname"`
	User        string            `json:"User"`
	Env         []string          `json:"Env"`
	Cmd         []string          `json:"Cmd"`
	Image       string            `json:"Image"`
	WorkingDir  string            `json:"WorkingDir"`
	Entrypoint  []string          `json:"Entrypoint"`
	Labels      map[string]string `json:"Labels"`
	StopSignal  string            `json:"StopSignal"`
	StopTimeout *int              `json:"StopTimeout,omitempty"`
	Tty         bool              `json:"Tty"`
	OpenStdin   bool              `json:"OpenStdin"`
}

func (h *host) inspectContainer(ctx context.Context, rec *machine.Container) containerInspect {
	rec = h.refresh(ctx, rec)
	dir := h.cs.Dir(rec.ID)
	o := rec.Options
	st := rec.State
	running := rec.IsRunning()
	status := st.Status
	if status == machine.StatusRunning && !running {
		status = machine.StatusExited
	}
	paused := running && st.Paused
	if paused {
		status = "paused"
	}
	out := containerInspect{
		ID:      rec.ID,
		Created: rec.Created,
		State: inspectState{
			Status: status, Running: running, Paused: paused, Restarting: status == machine.StatusRestarting,
			OOMKilled: st.OOMKilled, Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error,
			StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, Health: st.Health,
		},
		Image:        rec.ImageID,
		HostnamePath: filepath.Join(dir, "hostname"),
		HostsPath:    filepath.Join(dir, "hosts"),
		Name:         "/" + rec.Name,
		RestartCount: st.RestartCount,
		Driver:       "overlay",
		Platform:     "linux",
		HostConfig: inspectHostConfig{
			Memory:         o.Memory,
			NanoCpus:       int64(o.CPUs * 1e9),
			RestartPolicy:  inspectRestart{Name: o.Restart.Name, MaximumRetryCount: o.Restart.MaximumRetryCount},
			AutoRemove:     o.AutoRemove,
			NetworkMode:    networkMode(rec),
			CapAdd:         append([]string{}, o.CapAdd...),
			CapDrop:        append([]string{}, o.CapDrop...),
			ReadonlyRootfs: o.ReadOnly,
			Privileged:     o.Privileged,
			Devices:        inspectDevices(o.Devices),
			GroupAdd:       append([]string{}, o.GroupAdd...),
			SecurityOpt:    securityOpts(o),
			UsernsMode:     o.Userns,
			IDMappings:     idMappings(rec), // userns.go
		},
		GraphDriver: inspectDriver{Name: "overlay", Data: map[string]string{
			"LowerDir":  strings.Join(rec.LowerDirs, ":"),
			"UpperDir":  filepath.Join(dir, "upper"),
			"WorkDir":   filepath.Join(dir, "work"),
			"MergedDir": filepath.Join(dir, "rootfs"),
		}},
		Mounts:          inspectMounts(h, rec),
		NetworkSettings: networkSettings(h.g.root, rec),
		Config: inspectConfig{
			User: o.User, Image: rec.Image, Labels: map[string]string{},
			StopSignal: rec.StopSignal, StopTimeout: o.StopTimeout,
			Tty: o.Tty, OpenStdin: o.Interactive,
		},
		Unit:    rec.Unit,
		Machine: rec.Machine,
	}
	if !running {
		out.State.Pid = 0
	}
	if out.HostConfig.RestartPolicy.Name == "" {
		out.HostConfig.RestartPolicy.Name = "no"
	}
	if o.Memory > 0 {
		out.HostConfig.MemorySwap = 2 * o.Memory
	}
	if o.PidsLimit > 0 {
		out.HostConfig.PidsLimit = &o.PidsLimit
	}
	if spec, err := h.cs.Spec(rec.ID); err == nil && spec.Process != nil {
		p := spec.Process
		if len(p.Args) > 0 {
			out.Path, out.Args = p.Args[0], p.Args[1:]
		}
		out.Config.Hostname, out.Config.Env, out.Config.WorkingDir = spec.Hostname, p.Env, p.Cwd
		out.Config.Cmd = p.Args
		if o.Entrypoint != nil || len(o.Cmd) > 0 {
			out.Config.Cmd = o.Cmd
		}
		for k, v := range spec.Annotations {
			if !strings.HasPrefix(k, machine.LabelPrefix) {
				out.Config.Labels[k] = v
			}
		}
		if r := spec.Linux; r != nil && r.Resources != nil && r.Resources.CPU != nil && r.Resources.CPU.Quota != nil {
			out.HostConfig.CpuQuota = *r.Resources.CPU.Quota
			out.HostConfig.CpuPeriod = int64(*r.Resources.CPU.Period)
		}
	}
	if o.Entrypoint != nil && *o.Entrypoint != "" {
		out.Config.Entrypoint = []string{*o.Entrypoint}
	}
	return out
}

// inspectMount is one entry of Docker's Mounts.
type inspectMount struct {
	Type        string `json:"Type"`
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Driver      string `json:"Driver,omitempty"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
	Propagation string `json:"Propagation"`
}

func inspectMounts(h *host, rec *machine.Container) []any {
	out := []any{}
	vols, _ := machine.OpenVolumes(h.g.root)
	for _, m := range rec.Options.Mounts {
		im := inspectMount{Type: m.Type, Source: m.Source, Destination: m.Target, RW: !m.ReadOnly, Mode: "rw", Propagation: "rprivate"}
		if m.Propagation != "" {
			im.Propagation = m.Propagation
		}
		if m.ReadOnly {
			im.Mode = "ro"
		}
		switch m.Type {
		case machine.MountVolume:
			im.Name, im.Driver, im.Propagation = m.Source, "local", ""
			if vols != nil {
				im.Source = vols.Path(m.Source)
			}
		case machine.MountTmpfs:
			im.Mode, im.Propagation = m.Options, ""
		}
		out = append(out, im)
	}
	return out
}

func networkMode(rec *machine.Container) string {
	if rec.Options.Network == "" {
		return machine.NetworkBridge
	}
	return rec.Options.Network
}

// networkSettings is Docker's NetworkSettings, where it maps.
func networkSettings(root string, rec *machine.Container) map[string]any {
	ns := map[string]any{"IPAddress": "", "Gateway": "", "IPPrefixLen": 0, "Ports": map[string]any{}}
	ep := map[string]any{"IPAddress": "", "Gateway": "", "IPPrefixLen": 0, "Aliases": rec.Options.NetworkAliases}
	if n, ok, err := containerNetwork(root, rec); err == nil && ok {
		ep["NetworkID"] = n.ID
		if rec.IsRunning() && rec.State.IPAddress != "" {
			for k, v := range map[string]any{"IPAddress": rec.State.IPAddress, "IPPrefixLen": n.Subnet.Bits(), "Gateway": n.Gateway.String()} {
				ns[k], ep[k] = v, v
			}
			ns["Bridge"] = n.Bridge
		}
	}
	nets := map[string]any{networkMode(rec): ep}
	for _, c := range rec.Options.Connected {
		cep := map[string]any{"IPAddress": "", "Gateway": "", "IPPrefixLen": 0, "Aliases": c.Aliases}
		if n, err := networkStore(root).Get(c.Name); err == nil {
			cep["NetworkID"] = n.ID
			if rec.IsRunning() {
				leases, _ := ipam.New(ipam.NewDiskStore(networksDir(root))).List(n.Bridge)
				for _, l := range leases {
					if l.Owner == rec.ID {
						cep["IPAddress"], cep["IPPrefixLen"], cep["Gateway"] = l.Addr.String(), n.Subnet.Bits(), n.Gateway.String()
					}
				}
			}
		}
		nets[c.Name] = cep
	}
	ns["Networks"] = nets
	ports := map[string]any{}
	for _, p := range rec.Options.Publish {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		for i := uint16(0); i < max(p.Count, 1); i++ {
			key := fmt.Sprintf("%d/%s", p.ContainerPort+i, p.Proto)
			ports[key] = []map[string]string{{"HostIp": ip, "HostPort": fmt.Sprint(p.HostPort + i)}}
		}
	}
	ns["Ports"] = ports
	return ns
}
