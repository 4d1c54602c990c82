package machine

import (
	"context"
	"fmt"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Units is what the container lifecycle needs of systemd;
// machine/systemd.Manager implements it.
type Units interface {
	// StartTransient creates and starts a transient unit and waits for
	// the start job; a unit of that name that exists is ErrAlreadyExists.
	StartTransient(ctx context.Context, name string, props []Property) error
	// Stop stops a unit and waits for the stop job; no unit is success.
	Stop(ctx context.Context, name string) error
	// Kill signals a unit's main process ("main") or all of them ("all");
	// no unit is ErrNotFound.
	Kill(ctx context.Context, name, whom string, sig syscall.Signal) error
}

// NewContainer makes the record and the runtime spec of a new container
// of img, whose unpacked layers are layerDirs (top first), with the
// user's options. A name is generated when o has none; taken says which
// names are in use. volumePath gives the host directory of a named volume
// (which the caller has made). It only reads /etc/passwd and /etc/group
// from the layers.
func NewContainer(img Image, layerDirs []string, o RunOptions, taken func(string) bool, volumePath func(string) string) (*Container, *specs.Spec, error) {
	return NewContainerWithID(NewID(), img, layerDirs, o, taken, volumePath)
}

// NewContainerWithID is NewContainer with a given ID (64 hex digits):
// an app's service has a stable one.
func NewContainerWithID(id string, img Image, layerDirs []string, o RunOptions, taken func(string) bool, volumePath func(string) string) (*Container, *specs.Spec, error) {
	if o.Name == "" {
		o.Name = GenerateName(taken)
	}
	layers, err := OpenLayers(layerDirs)
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: %w", o.Image, err)
	}
	defer layers.Close()
	spec, err := BuildSpec(img.Config, o, id, layers)
	if err != nil {
		return nil, nil, err
	}
	sig, err := StopSignalOf(img.Config, o)
	if err != nil {
		return nil, nil, err
	}
	spec.Mounts = append(spec.Mounts, SpecMounts(o.Mounts, volumePath)...)
	if len(layerDirs) == 0 {
		return nil, nil, fmt.Errorf("image %s has no layers: %w", o.Image, errdefs.ErrInvalid)
	}
	rec := &Container{
		ID:          id,
		Name:        o.Name,
		Created:     time.Now().UTC(),
		Image:       o.Image,
		ImageID:     img.ID,
		LowerDirs:   layerDirs,
		Options:     o,
		StopSignal:  signalName(sig),
		StopTimeout: StopTimeoutOf(o),
		Unit:        UnitName(o.Name),
		Machine:     MachineName(o.Name),
		State:       State{Status: StatusCreated},
	}
	return rec, spec, nil
}

// signalName is SIGNAME for sig, or its number when it has no name.
func signalName(sig syscall.Signal) string {
	var best string
	for name, s := range signalNames {
		// Several names share a number (ABRT/IOT, CHLD/CLD, IO/POLL):
		// take the one that sorts first, so the choice is stable.
		if s == sig && (best == "" || name < best) {
			best = name
		}
	}
	if best != "" {
		return "SIG" + best
	}
	return strconv.Itoa(int(sig))
}

// Image is what a container takes from its image (an imagestore.Image):
// machine does not read the image store itself, so that the programs a
// container's unit runs (cmd/berth-unit) carry no registry client.
type Image struct {
	// ID is the image's ID, its config digest ("sha256:…").
	ID string
	// Config is the image's runtime config (entrypoint, env, user…).
	Config ocispec.ImageConfig
}

// LayerDirs are the unpacked layers of an image whose layers have the
// chain IDs chains (bottom first, imagestore.Image.ChainIDs), in store
// order for overlayfs: top first.
func LayerDirs(chains []digest.Digest, layerPath func(chain digest.Digest) string) []string {
	var dirs []string
	for _, c := range chains {
		dirs = append(dirs, layerPath(c))
	}
	slices.Reverse(dirs)
	return dirs
}

// IsRunning reports whether the container's PID 1 is alive: its PID
// exists, has the start time recorded when it started, and is not a
// zombie.
func (c *Container) IsRunning() bool {
	if c.State.Pid <= 0 {
		return false
	}
	st, state, err := procStat(c.State.Pid)
	// A zombie has exited: it waits only for its parent (systemd) to
	// reap it.
	return err == nil && st == c.State.PidStart && state != "Z" && state != "X"
}

// ProcStartTime is field 22 of /proc/PID/stat: when the process started,
// in clock ticks after boot.
func ProcStartTime(pid int) (uint64, error) {
	st, _, err := procStat(pid)
	return st, err
}

// procStat reads the start time (field 22) and the state (field 3) of
// /proc/PID/stat.
func procStat(pid int) (start uint64, state string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0], err
}

// ExitStatus is how the container's PID 1 ended, from the variables
// systemd gives ExecStopPost= (systemd.exec(5)).
type ExitStatus struct {
	// Result is $SERVICE_RESULT: success, exit-code, signal, core-dump,
	// timeout, start-limit-hit, resources, oom-kill…
	Result string
	// Code is $EXIT_CODE (exited, killed, dumped) and Status is
	// $EXIT_STATUS (a number, or a signal name such as "KILL").
	Code, Status string
}

// ExitCode is Docker's exit code for s: the status of a process that
// exited, 128+N for one killed by signal N.
func (s ExitStatus) ExitCode() int {
	switch s.Code {
	case "exited":
		n, err := strconv.Atoi(s.Status)
		if err == nil {
			return n
		}
	case "killed", "dumped":
		if n, err := strconv.Atoi(s.Status); err == nil {
			return 128 + n
		}
		if sig, err := ParseSignal(s.Status); err == nil {
			return 128 + int(sig)
		}
	}
	// The main process never ran (a start that failed in systemd).
	return 255
}

// WillRestart predicts whether systemd restarts the unit after an exit
// with code under policy p, having restarted it n times: Restart=always,
// or on-failure with a non-zero code and retries left. A stop asked for
// by the user never restarts.
func WillRestart(p RestartPolicy, code, n int, stopping bool) bool {
	if stopping {
		return false
	}
	switch p.Name {
	case RestartAlways, RestartUnlessStopped:
		return true
	case RestartOnFailure:
		return code != 0 && (p.MaximumRetryCount == 0 || n < p.MaximumRetryCount)
	}
	return false
}

// DisplayStatus is the STATUS column of `berth ps`, in Docker's words:
// "Up 3 seconds", "Exited (0) 2 minutes ago", "Created",
// "Restarting (1) 5 seconds ago".
func DisplayStatus(s State, now time.Time, human func(time.Duration) string) string {
	switch s.Status {
	case StatusRunning:
		if s.Paused {
			return "Up " + human(now.Sub(s.StartedAt)) + " (Paused)"
		}
		return "Up " + human(now.Sub(s.StartedAt)) + healthSuffix(s.Health)
	case StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", s.ExitCode, human(now.Sub(s.FinishedAt)))
	case StatusExited:
		if s.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", s.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", s.ExitCode, human(now.Sub(s.FinishedAt)))
	}
	return "Created"
}

// SpecMounts are the runtime spec's mounts for the container's own
// mounts: recursive binds of host paths and volume directories
// (propagation rprivate unless the mount says otherwise),
// read-only where asked, and tmpfs with nosuid and nodev.
func SpecMounts(ms []Mount, volumePath func(string) string) []specs.Mount {
	var out []specs.Mount
	for _, m := range ms {
		sm := specs.Mount{Destination: m.Target}
		switch m.Type {
		case MountBind, MountVolume:
			sm.Type, sm.Source = "bind", m.Source
			if m.Type == MountVolume {
				sm.Source = volumePath(m.Source)
			}
			prop := m.Propagation
			if prop == "" {
				prop = "rprivate"
			}
			sm.Options = []string{"rbind", prop}
			if m.ReadOnly {
				sm.Options = append(sm.Options, "ro")
			}
		case MountTmpfs:
			sm.Type, sm.Source = "tmpfs", "tmpfs"
			sm.Options = []string{"nosuid", "nodev"}
			if m.Options != "" {
				sm.Options = append(sm.Options, strings.Split(m.Options, ",")...)
			}
		}
		out = append(out, sm)
	}
	return out
}
