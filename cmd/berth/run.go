package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/berth/berth/internal/cgroupfs"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/cmd/internal/unitproc"
	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/console"
	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/machine/journal/journalfile"
	"github.com/berth/berth/machine/systemd"
	"github.com/spf13/cobra"
)

// Exit codes of a container that did not start, as Docker's.
const (
	exitCannotExec = 126
	exitNotFound   = 127
)

// engineError marks failures of berth itself before a container ran:
// `run` and `start` exit 125 for them, as Docker does.
type engineError struct{ error }

func (e engineError) Unwrap() error { return e.error }

// runFlags are Docker's run/create flags that berth knows.
type runFlags struct {
	o machine.RunOptions
	// --health-*: a health check (see health.go).
	healthCmd                                  string
	healthInterval, healthTimeout, healthStart time.Duration
	healthRetries                              int
	noHealthcheck                              bool
	env                                        []string
	envFiles                                   []string
	volumes                                    []string
	mounts                                     []string
	tmpfs                                      []string
	publish                                    []string
	capAdd                                     []string
	capDrop                                    []string
	securityOpt                                []string
	devices                                    []string
	labels                                     []string
	memory                                     string
	cpus                                       string
	restart                                    string
	entrypoint                                 string
	stopTimeout                                int
	interactive                                bool
	tty                                        bool
	detachKeys                                 string
}

func addRunFlags(c *cobra.Command, f *runFlags) {
	fl := c.Flags()
	fl.SetInterspersed(false) // flags after IMAGE belong to the command
	fl.StringVar(&f.o.Name, "name", "", "Assign a name to the container")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "Set environment variables")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "Read in a file of environment variables")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "Bind mount a host path or mount a named volume: SOURCE:TARGET[:ro|rw]")
	fl.StringArrayVar(&f.tmpfs, "tmpfs", nil, "Mount a tmpfs: TARGET[:OPTIONS]")
	fl.StringArrayVar(&f.mounts, "mount", nil, "Attach a filesystem mount: type=bind|volume|tmpfs,source=…,target=…[,readonly][,…]")
	fl.StringArrayVar(&f.o.VolumesFrom, "volumes-from", nil, "Mount the volumes of the given container(s): CONTAINER[:ro|rw]")
	fl.StringArrayVarP(&f.publish, "publish", "p", nil, "Publish a container's port(s) to the host: [IP:]HOST:CONTAINER[/tcp|udp], or [IP::]CONTAINER on a free host port")
	fl.BoolVarP(&f.o.PublishAll, "publish-all", "P", false, "Publish all exposed ports to free host ports")
	fl.StringVar(&f.healthCmd, "health-cmd", "", "Command to run to check health (run with /bin/sh -c)")
	fl.DurationVar(&f.healthInterval, "health-interval", 0, "Time between running the check (default 30s)")
	fl.DurationVar(&f.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (default 30s)")
	fl.IntVar(&f.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy (default 3)")
	fl.DurationVar(&f.healthStart, "health-start-period", 0, "Start period for the container to initialize before failures count")
	fl.BoolVar(&f.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fl.StringVar(&f.o.Network, "network", "bridge", "Connect the container to a network: bridge (berth0), a user network, host or none")
	fl.StringArrayVar(&f.o.NetworkAliases, "network-alias", nil, "Add a network-scoped alias for the container (user networks)")
	fl.StringVar(&f.o.IP, "ip", "", "IPv4 address on a user network (e.g. 10.89.1.20)")
	fl.StringArrayVar(&f.o.DNS, "dns", nil, "Set custom DNS servers")
	fl.StringArrayVar(&f.o.ExtraHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip; ip may be host-gateway)")
	fl.StringArrayVar(&f.capAdd, "cap-add", nil, "Add Linux capabilities (or ALL)")
	fl.StringArrayVar(&f.capDrop, "cap-drop", nil, "Drop Linux capabilities (or ALL)")
	fl.BoolVar(&f.o.ReadOnly, "read-only", false, "Mount the container's root filesystem as read only")
	addSecurityFlags(fl, f)
	fl.StringArrayVar(&f.securityOpt, "security-opt", nil, "Security options: no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json")
	fl.StringVarP(&f.o.WorkingDir, "workdir", "w", "", "Working directory inside the container")
	fl.StringVarP(&f.o.User, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&f.o.Hostname, "hostname", "h", "", "Container host name")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fl.StringVarP(&f.memory, "memory", "m", "", "Memory limit")
	fl.StringVar(&f.cpus, "cpus", "", "Number of CPUs")
	fl.Int64Var(&f.o.PidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fl.StringVar(&f.restart, "restart", "no", "Restart policy to apply when a container exits")
	fl.StringVar(&f.o.StopSignal, "stop-signal", "", "Signal to stop the container")
	fl.IntVar(&f.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "Set meta data on a container")
	fl.BoolVar(&f.o.AutoRemove, "rm", false, "Automatically remove the container when it exits")
	// Docker users type -it by habit: say plainly that it is not there yet.
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "Keep STDIN open (with -t)")
	fl.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fl.StringVar(&f.detachKeys, "detach-keys", console.DefaultDetachKeys, "Override the key sequence for detaching a container")
	// -h is --hostname, as in Docker; help stays reachable as --help.
	c.Flags().BoolP("help", "", false, "help for "+c.Name())
}

// options turns the flags and IMAGE [COMMAND...] into RunOptions.
func (f *runFlags) options(c *cobra.Command, args []string) (machine.RunOptions, error) {
	if _, err := console.ParseKeys(f.detachKeys); err != nil {
		return f.o, usageError{err}
	}
	o := f.o
	o.Tty, o.Interactive = f.tty, f.interactive
	if rows, cols, ok := console.Size(os.Stdout); ok && f.tty {
		o.ConsoleSize = [2]uint16{rows, cols}
	}
	o.Image, o.Cmd = args[0], args[1:]
	if c.Flags().Changed("entrypoint") {
		e := f.entrypoint
		o.Entrypoint = &e
	}
	if c.Flags().Changed("stop-timeout") {
		t := f.stopTimeout
		o.StopTimeout = &t
	}
	var err error
	if f.memory != "" {
		if o.Memory, err = machine.ParseMemory(f.memory); err != nil {
			return o, usageError{err}
		}
	}
	if f.cpus != "" {
		if o.CPUs, err = machine.ParseCPUs(f.cpus); err != nil {
			return o, usageError{err}
		}
	}
	if o.Restart, err = machine.ParseRestartPolicy(f.restart); err != nil {
		return o, usageError{err}
	}
	o.EnvFiles = f.envFiles
	for _, name := range f.envFiles {
		r, err := os.Open(name)
		if err != nil {
			return o, usageError{fmt.Errorf("open env file: %w", err)}
		}
		env, err := machine.ParseEnvFile(r, name, os.LookupEnv)
		r.Close()
		if err != nil {
			return o, usageError{err}
		}
		o.Env = append(o.Env, env...)
	}
	for _, e := range f.env {
		if !strings.Contains(e, "=") {
			if v, ok := os.LookupEnv(e); ok {
				e += "=" + v
			}
		}
		o.Env = append(o.Env, e)
	}
	o.CapAdd, o.CapDrop = f.capAdd, f.capDrop
	if f.healthCmd != "" && !f.noHealthcheck {
		o.Healthcheck = &machine.Healthcheck{Test: []string{"CMD-SHELL", f.healthCmd}, Interval: f.healthInterval,
			Timeout: f.healthTimeout, Retries: f.healthRetries, StartPeriod: f.healthStart}
	} else if f.healthCmd == "" && (f.healthInterval != 0 || f.healthTimeout != 0 || f.healthRetries != 0 || f.healthStart != 0) && !f.noHealthcheck {
		return o, usageError{errors.New("--health-interval, --health-timeout, --health-retries and --health-start-period need --health-cmd (berth does not read an image's HEALTHCHECK yet)")}
	}
	if o.Devices, err = hostDevices(f.devices); err != nil {
		return o, usageError{err}
	}
	for _, p := range f.publish {
		pm, err := machine.ParsePublish(p)
		if err != nil {
			return o, usageError{err}
		}
		o.Publish = append(o.Publish, pm)
	}
	for _, so := range f.securityOpt {
		k, v, found := strings.Cut(so, "=")
		if !found {
			k, v, _ = strings.Cut(so, ":") // Docker's older spelling
		}
		switch {
		case k == "no-new-privileges" && (v == "" || v == "true"):
			o.NoNewPrivileges, o.NewPrivileges = true, false
		case k == "no-new-privileges" && v == "false":
			o.NoNewPrivileges, o.NewPrivileges = false, true
		case k == "seccomp" && v != "":
			if o.Seccomp, err = readSeccompOpt(v); err != nil {
				return o, usageError{err}
			}
		default:
			return o, usageError{fmt.Errorf("invalid --security-opt %q: berth knows no-new-privileges[=true|false] and seccomp=unconfined|PROFILE.json (apparmor and label do not apply)", so)}
		}
	}
	for _, v := range f.volumes {
		m, err := machine.ParseVolume(v)
		if err != nil {
			return o, usageError{err}
		}
		o.Mounts = append(o.Mounts, m)
	}
	for _, v := range f.mounts {
		m, err := machine.ParseMount(v)
		if err != nil {
			return o, usageError{err}
		}
		o.Mounts = append(o.Mounts, m)
	}
	for _, v := range f.tmpfs {
		m, err := machine.ParseTmpfs(v)
		if err != nil {
			return o, usageError{err}
		}
		o.Mounts = append(o.Mounts, m)
	}
	if len(f.labels) > 0 {
		o.Labels = map[string]string{}
		for _, l := range f.labels {
			k, v, _ := strings.Cut(l, "=")
			o.Labels[k] = v
		}
	}
	if err := o.Validate(); err != nil {
		return o, usageError{err}
	}
	return o, nil
}

// host is what the container commands share: the state, lazily the
// image store and the connection to systemd.
type host struct {
	g   *globalOptions
	cmd *cobra.Command
	cs  *machine.Containers
	sd  *systemd.Manager
}

func (g *globalOptions) host(c *cobra.Command) (*host, error) {
	cs, err := machine.OpenContainers(g.root)
	if err != nil {
		return nil, err
	}
	return &host{g: g, cmd: c, cs: cs}, nil
}

// systemd connects to systemd once; the error says what berth needs.
func (h *host) systemd(ctx context.Context) (*systemd.Manager, error) {
	if h.sd != nil {
		return h.sd, nil
	}
	m, err := systemd.Connect(ctx)
	if err != nil {
		return nil, engineError{err}
	}
	h.sd = m
	return m, nil
}

func (h *host) close() {
	if h.sd != nil {
		h.sd.Close()
	}
}

// create makes the container of o: image lookup, spec, state. It fails
// before anything is written when the image, the name or a flag is bad.
func (h *host) create(ctx context.Context, o machine.RunOptions) (*machine.Container, error) {
	return h.createWithID(ctx, o, machine.NewID(), "")
}

// createWithID is create with a given ID and, when unit is not empty,
// a unit of the container's own (an app's service).
func (h *host) createWithID(ctx context.Context, o machine.RunOptions, id, unit string) (*machine.Container, error) {
	s, err := h.g.openStore(h.cmd)
	if err != nil {
		return nil, engineError{err}
	}
	img, err := getImage(ctx, s, o.Image)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, engineError{fmt.Errorf("Unable to find image '%s' locally: %w", o.Image, err)}
		}
		return nil, engineError{err}
	}
	if otherRef, shared := machine.SharedNetwork(o.Network); shared {
		other, err := h.cs.Lookup(otherRef)
		if err != nil {
			return nil, engineError{err}
		}
		o.Network = machine.NetworkContainerPrefix + other.ID
	}
	if machine.IsUserNetwork(o.Network) {
		n, err := networkStore(h.g.root).Get(o.Network)
		if err != nil {
			return nil, engineError{err}
		}
		o.Network = n.Name
		if o.IP != "" {
			if ip := netip.MustParseAddr(o.IP); !n.Subnet.Contains(ip) {
				return nil, engineError{fmt.Errorf("--ip %s is not in network %s's subnet %s: %w", ip, n.Name, n.Subnet, errdefs.ErrInvalid)}
			}
		}
	}
	if o.PublishAll {
		exposed, err := machine.ExposedPorts(img.Config.Config.ExposedPorts, o.Publish)
		if err != nil {
			return nil, engineError{err}
		}
		if len(exposed) > 0 && (o.Network == machine.NetworkNone || o.Network == machine.NetworkHost) {
			return nil, engineError{fmt.Errorf("conflicting options: port publishing and the container's network mode: %w", errdefs.ErrInvalid)}
		}
		for _, p := range exposed {
			if p.HostPort, err = freeHostPort(h.g.root, p.Proto); err != nil {
				return nil, engineError{err}
			}
			o.Publish = append(o.Publish, p)
		}
	}
	// -p [IP::]CONTAINER: a free host port, as for -P.
	for i := range o.Publish {
		if p := &o.Publish[i]; p.HostPort == 0 {
			if p.HostPort, err = freeHostPort(h.g.root, p.Proto); err != nil {
				return nil, engineError{err}
			}
		}
	}
	if o.Name != "" && h.cs.NameTaken(o.Name) {
		if other, err := h.cs.Lookup(o.Name); err == nil {
			return nil, engineError{&machine.ConflictError{Name: o.Name, ID: other.ID}}
		}
	}
	vols, err := machine.OpenVolumes(h.g.root)
	if err != nil {
		return nil, engineError{err}
	}
	if o.Mounts, err = h.prepareMounts(img, o); err != nil { // mounts.go
		return nil, err
	}
	dirs := machine.LayerDirs(img.ChainIDs(), s.LayerPath)
	rec, spec, err := machine.NewContainerWithID(id, machine.Image{ID: img.ID.String(), Config: img.Config.Config}, dirs, o, h.cs.NameTaken, resolvedVolumePath(vols))
	if err != nil {
		return nil, engineError{err}
	}
	if unit != "" {
		rec.Unit = unit
	}
	release, err := reserveUserns(h.g.root, h.cs, rec) // userns.go
	if err != nil {
		return nil, engineError{err}
	}
	defer release()
	if rec.IDMap != nil {
		machine.ApplyIDMap(spec, *rec.IDMap)
	}
	if err := h.cs.Create(rec, spec); err != nil {
		return nil, engineError{err}
	}
	emit("create", containerFields(rec)...)
	return rec, nil
}

// waitUnitGone waits, for at most unitGoneMax, while name is the
// transient unit of a container that has ended and whose cleanup is
// still running (the record says it ended before the cleanup has released
// its network), and reports whether it went. With unloaded, "gone" means
// unloaded by systemd (a new unit of that name can start); else
// inactive is enough (the cleanup is done).
func waitUnitGone(ctx context.Context, m *systemd.Manager, name string, unloaded bool) bool {
	deadline := time.Now().Add(unitGoneMax)
	for {
		st, err := m.Unit(ctx, name)
		if err != nil {
			return false
		}
		if st.LoadState != "loaded" {
			return true // unloaded: garbage-collected
		}
		ended := st.ActiveState == "inactive" || st.ActiveState == "failed"
		if !st.Transient || (st.ActiveState != "deactivating" && !ended) {
			return false
		}
		if ended && !unloaded {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// unitGoneMax bounds waitUnitGone: a cleanup's work after the record
// (the network's release) takes milliseconds.
const unitGoneMax = 10 * time.Second

// start starts rec's unit and waits for systemd's verdict. A container
// that could not start comes back as an exitCodeError with Docker's code
// (125, 126, 127) after its error is printed.
func (h *host) start(ctx context.Context, rec *machine.Container) error {
	cgroupfs.WarmAttach() // the unit's cgroup attach waits less (see there)
	m, err := h.systemd(ctx)
	if err != nil {
		return err
	}
	exe, err := exePath()
	if err != nil {
		return engineError{err}
	}
	root, err := filepath.Abs(h.g.root)
	if err != nil {
		return engineError{err}
	}
	rec, err = h.cs.Update(rec.ID, func(r *machine.Container) error {
		if r.IsRunning() || r.State.Status == machine.StatusRestarting {
			return errAlreadyRunning
		}
		r.State.UserStart, r.State.Stopping, r.State.Error, r.State.RestartCount = true, false, "", 0
		return nil
	})
	if errors.Is(err, errAlreadyRunning) {
		return nil
	}
	if err != nil {
		return engineError{err}
	}
	props := machine.UnitPropertiesFor(rec, unitproc.Programs(exe), root)
	err = m.StartTransient(ctx, rec.Unit, props)
	if errors.Is(err, errdefs.ErrAlreadyExists) && waitUnitGone(ctx, m, rec.Unit, true) {
		err = m.StartTransient(ctx, rec.Unit, props)
	}
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		// A unit file from `berth generate systemd` is the container's
		// unit now: start that one.
		if st, serr := m.Unit(ctx, rec.Unit); serr == nil && st.LoadState == "loaded" && !st.Transient &&
			st.ActiveState != "active" && st.ActiveState != "activating" {
			err = m.Start(ctx, rec.Unit)
		}
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		return engineError{fmt.Errorf("start %s: systemd already has a unit %s; remove it with `systemctl stop %s; systemctl reset-failed %s`",
			rec.Name, rec.Unit, rec.Unit, rec.Unit)}
	}
	// The unit ran and failed: __init recorded why.
	if after, lerr := h.cs.Load(rec.ID); lerr == nil && after.State.Error != "" {
		return startFailure{code: after.State.ExitCode, msg: after.State.Error}
	}
	return engineError{err}
}

var errAlreadyRunning = errors.New("already running")

// startFailure is a container whose command could not be started.
type startFailure struct {
	code int
	msg  string
}

func (e startFailure) Error() string { return e.msg }

func newRunCommand(g *globalOptions) *cobra.Command {
	f := &runFlags{}
	var detach bool
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Long: "Create and run a new container from an image. The container is the systemd unit berth-NAME.service\n" +
			"in machine.slice; its output goes to the journal, and `berth run` without -d follows it there.",
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.options(c, args)
			if err != nil {
				return err
			}
			o.Detach = detach
			if o.Tty && !detach {
				return runWithConsole(c, g, o, f.detachKeys) // tty.go
			}
			if o.Interactive && !detach {
				return runWithStdin(c, g, o) // tty.go
			}
			return runContainer(c, g, o, detach)
		},
	}
	addRunFlags(c, f)
	c.Flags().BoolVarP(&detach, "detach", "d", false, "Run container in background and print container ID")
	return c
}

func runContainer(c *cobra.Command, g *globalOptions, o machine.RunOptions, detach bool) error {
	ctx := c.Context()
	h, err := g.host(c)
	if err != nil {
		return engineError{err}
	}
	defer h.close()
	// Without systemd nothing is created. The connection is made while
	// the container is: should it fail on a host where systemd runs,
	// what was created is removed.
	if err := systemd.Booted(); err != nil {
		return engineError{err}
	}
	connected := make(chan error, 1)
	go func() {
		_, err := h.systemd(ctx)
		connected <- err
	}()
	rec, err := h.create(ctx, o)
	if cerr := <-connected; cerr != nil {
		if err == nil && h.destroy(rec) == nil {
			removeAnonymousVolumes(h.g.root, h.cs, rec)
		}
		return cerr
	}
	if err != nil {
		return err
	}
	if detach {
		if err := h.start(ctx, rec); err != nil {
			h.removeAfterFailedStart(rec)
			return err
		}
		fmt.Fprintln(c.OutOrStdout(), rec.ID)
		return nil
	}
	return h.startAttached(ctx, rec)
}

// removeAfterFailedStart removes an --rm container whose start failed:
// its cleanup leaves that to the client, which still needs the error.
func (h *host) removeAfterFailedStart(rec *machine.Container) {
	if rec.Options.AutoRemove && h.destroy(rec) == nil {
		removeAnonymousVolumes(h.g.root, h.cs, rec)
	}
}

// startAttached starts rec and streams its output from the journal to
// stdout (priority info) and stderr (err) until the container's die
// record (outputFollower), and returns its exit code. Signals sent to
// berth are passed on to the container's PID 1, as Docker's --sig-proxy
// does.
func (h *host) startAttached(ctx context.Context, rec *machine.Container) error {
	since := time.Now()
	f := h.follow(ctx, rec, since, h.cmd.OutOrStdout(), h.cmd.ErrOrStderr())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	if err := h.start(ctx, rec); err != nil {
		f.cancel()
		h.removeAfterFailedStart(rec)
		return err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		for {
			select {
			case sig := <-sigs:
				if m, err := h.systemd(wctx); err == nil {
					m.Kill(wctx, rec.Unit, "main", sig.(syscall.Signal))
				}
			case <-wctx.Done():
				return
			}
		}
	}()
	code, final, err := f.untilExit(ctx)
	stopWatch()
	if err != nil && final == nil {
		return engineError{err}
	}
	// Without a die record, the container's record tells, if it is one
	// written after this run ended (an --rm container's may be gone, and
	// the last one seen may say it still ran).
	if code < 0 && final != nil && (final.State.Status == machine.StatusExited || final.State.Status == machine.StatusRestarting) &&
		!final.State.FinishedAt.Before(since) {
		code = final.State.ExitCode
	}
	if code < 0 {
		return engineError{fmt.Errorf("container %s ended, but the journal has no exit code for it", rec.Name)}
	}
	return exitCodeError{code}
}

// readRest is the last read of startAttached: q (one match) read from
// journald's files directly, which takes a fraction of the time of
// starting journalctl, or through journalctl when that reader cannot
// (journalfile.ErrUnsupported, or any other error: nothing was passed to
// fn then).
func readRest(ctx context.Context, q journal.Query, fn func(journal.Entry) error) error {
	if len(q.Matches) != 1 {
		return journal.Read(ctx, q, fn)
	}
	var got []journal.Entry
	err := journalfile.Read(journalfile.Query{Match: q.Matches[0], Since: q.Since, AfterCursor: q.AfterCursor}, func(e journal.Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		return journal.Read(ctx, q, fn)
	}
	for _, e := range got {
		if err := fn(e); err != nil {
			if errors.Is(err, journal.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// How long `berth run` waits for journald to write a container's die
// record after the container's record says it ended: dieRecordTries
// reads, dieRecordPause apart (a datagram journald has not handled yet
// takes a millisecond or two).
const (
	dieRecordTries = 250
	dieRecordPause = 2 * time.Millisecond
)

// followDelay is how long `berth run` waits before it follows the
// journal of a container that is still running.
const followDelay = 100 * time.Millisecond

// writeEntry prints one line of container output as it was written:
// the newline journald split on is given back unless the line ended
// without one.
func writeEntry(e journal.Entry, stdout, stderr io.Writer) {
	if e.Fields["BERTH_EVENT"] != "" {
		return // berth's own records
	}
	w := stdout
	switch e.Priority {
	case 3:
		w = stderr
	case 6:
	default:
		return // berth's own messages (init, cleanup) stay in the journal
	}
	msg := e.Message
	// journald splits on newlines and records other splits: at EOF
	// without a newline, and at its line length limit (line-max).
	if lb := e.Fields["_LINE_BREAK"]; lb != "eof" && lb != "line-max" {
		msg = append(msg, '\n')
	}
	w.Write(msg)
}

func newCreateCommand(g *globalOptions) *cobra.Command {
	f := &runFlags{}
	c := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container without starting it",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.options(c, args)
			if err != nil {
				return err
			}
			h, err := g.host(c)
			if err != nil {
				return engineError{err}
			}
			rec, err := h.create(c.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), rec.ID)
			return nil
		},
	}
	addRunFlags(c, f)
	return c
}

func newStartCommand(g *globalOptions) *cobra.Command {
	var attach bool
	c := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			if attach && len(args) > 1 {
				return usageError{errors.New("you cannot start and attach multiple containers at once")}
			}
			var errs []error
			for _, ref := range args {
				rec, err := h.cs.Lookup(ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if attach && rec.Options.Tty {
					keys, _ := console.ParseKeys(console.DefaultDetachKeys)
					return h.runWithConsole(c.Context(), rec, keys) // tty.go
				}
				if attach {
					return h.startAttached(c.Context(), rec)
				}
				if err := h.start(c.Context(), rec); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", ref, err))
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), ref)
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().BoolVarP(&attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	return c
}

// getImage finds an image in the store by name or ID; a short name that
// is not there is looked for under each unqualified search registry of
// registries.toml, in order, as pull would have stored it (podman's
// rule), so that `berth run busybox` finds what `berth pull busybox`
// fetched from a search registry.
func getImage(ctx context.Context, s *imagestore.Store, ref string) (imagestore.Image, error) {
	img, err := s.Get(ctx, ref)
	if err == nil || !errdefs.IsNotFound(err) || !imagestore.IsShortName(ref) {
		return img, err
	}
	cfg, cerr := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
	if cerr != nil {
		return img, err
	}
	cands, defaulted := cfg.Candidates(ref)
	if defaulted {
		return img, err
	}
	for _, c := range cands {
		if found, cerr := s.Get(ctx, c); cerr == nil {
			return found, nil
		}
	}
	return img, err
}
