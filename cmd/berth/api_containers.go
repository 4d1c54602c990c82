package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/imagebuild"
	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/console"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-units"
)

// withContainer looks up the {id} of the request and runs fn with it.
func (s *apiServer) withContainer(w http.ResponseWriter, r *http.Request, fn func(h *host, rec *machine.Container) error) {
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	rec, err := h.cs.Lookup(r.PathValue("id"))
	if err == nil {
		err = fn(h, rec)
	}
	if err != nil {
		apiError(w, err)
	}
}

// containerList is GET /containers/json (docker ps): running ones, or
// all with all=1.
func (s *apiServer) containerList(w http.ResponseWriter, r *http.Request) {
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	recs, err := h.cs.List()
	if err != nil {
		apiError(w, err)
		return
	}
	// docker ps --filter: berth ps's own filter.
	filters, err := filterArgs(r)
	if err != nil {
		apiError(w, err)
		return
	}
	match, err := psFilter(filters)
	if err != nil {
		apiError(w, classed{err, errdefs.ErrInvalid})
		return
	}
	all := boolParam(r, "all") || hasStatusFilter(filters)
	out := []container.Summary{}
	now := time.Now()
	for _, rec := range recs {
		rec = h.refresh(r.Context(), rec)
		if !all && !active(rec) || !match(rec) {
			continue
		}
		sum := containerSummary(h, rec, now)
		if boolParam(r, "size") { // docker ps -s: the writable layer, as berth system df measures it
			sum.SizeRw = imagestore.DirSize(h.cs.Dir(rec.ID) + "/upper")
		}
		out = append(out, sum)
	}
	writeJSON(w, http.StatusOK, out)
}

// containerSummary is rec as docker ps receives it.
func containerSummary(h *host, rec *machine.Container, now time.Time) container.Summary {
	args := rec.Options.Cmd
	if spec, err := h.cs.Spec(rec.ID); err == nil && spec.Process != nil {
		args = spec.Process.Args
	}
	state := rec.State.Status
	if state == machine.StatusRunning && !rec.IsRunning() {
		state = machine.StatusExited
	}
	if state == machine.StatusRunning && rec.State.Paused {
		state = "paused"
	}
	labels := rec.Options.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	sum := container.Summary{
		ID:      rec.ID,
		Names:   []string{"/" + rec.Name},
		Image:   rec.Image,
		ImageID: rec.ImageID,
		Command: strings.Join(args, " "),
		Created: rec.Created.Unix(),
		Ports:   []container.Port{},
		Labels:  labels,
		State:   state,
		Status:  machine.DisplayStatus(rec.State, now, units.HumanDuration),
		Mounts:  []container.MountPoint{},
	}
	sum.HostConfig.NetworkMode = networkMode(rec)
	for _, p := range rec.Options.Publish {
		for i := uint16(0); i < max(p.Count, 1); i++ {
			sum.Ports = append(sum.Ports, container.Port{IP: cmpOr(p.HostIP, "0.0.0.0"), PrivatePort: p.ContainerPort + i,
				PublicPort: p.HostPort + i, Type: p.Proto})
		}
	}
	for _, m := range rec.Options.Mounts {
		sum.Mounts = append(sum.Mounts, container.MountPoint{Type: mount.Type(m.Type), Source: m.Source,
			Destination: m.Target, RW: !m.ReadOnly})
	}
	return sum
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// createOptions turns Docker's create request into the RunOptions that
// `berth create` builds from its flags; what berth cannot do is a 400.
func createOptions(name string, req container.CreateRequest) (machine.RunOptions, error) {
	o := machine.RunOptions{Name: name, Network: "bridge"}
	cfg, hc := req.Config, req.HostConfig
	if cfg == nil {
		return o, fmt.Errorf("config cannot be empty in order to create a container: %w", errdefs.ErrInvalid)
	}
	if hc == nil {
		hc = &container.HostConfig{}
	}
	o.Tty, o.Interactive = cfg.Tty, cfg.OpenStdin
	if cs := hc.ConsoleSize; cfg.Tty && cs[0] > 0 && cs[1] > 0 {
		o.ConsoleSize = [2]uint16{uint16(cs[0]), uint16(cs[1])}
	}
	o.Image = cfg.Image
	if o.Image == "" {
		return o, fmt.Errorf("no image given: %w", errdefs.ErrInvalid)
	}
	o.Cmd = cfg.Cmd
	if cfg.Entrypoint != nil {
		// Docker's entrypoint is a list; berth's one argument, the rest
		// goes before the command.
		ep := ""
		if len(cfg.Entrypoint) > 0 {
			ep = cfg.Entrypoint[0]
			o.Cmd = append(append([]string{}, cfg.Entrypoint[1:]...), cfg.Cmd...)
		}
		o.Entrypoint = &ep
	}
	o.Env, o.WorkingDir, o.User, o.Hostname = cfg.Env, cfg.WorkingDir, cfg.User, cfg.Hostname
	o.StopSignal = cfg.StopSignal
	o.StopTimeout = cfg.StopTimeout
	if len(cfg.Labels) > 0 {
		o.Labels = cfg.Labels
	}
	o.Memory = hc.Memory
	o.CPUs = float64(hc.NanoCPUs) / 1e9
	if hc.PidsLimit != nil {
		o.PidsLimit = *hc.PidsLimit
	}
	restart := string(hc.RestartPolicy.Name)
	if hc.RestartPolicy.MaximumRetryCount > 0 {
		restart += ":" + strconv.Itoa(hc.RestartPolicy.MaximumRetryCount)
	}
	var err error
	if o.Restart, err = machine.ParseRestartPolicy(restart); err != nil {
		return o, err
	}
	o.AutoRemove = hc.AutoRemove
	if nm := string(hc.NetworkMode); nm != "" && nm != "default" {
		o.Network = nm
	}
	o.CapAdd, o.CapDrop = hc.CapAdd, hc.CapDrop
	o.ReadOnly, o.Privileged = hc.ReadonlyRootfs, hc.Privileged
	o.DNS, o.ExtraHosts, o.GroupAdd = hc.DNS, hc.ExtraHosts, hc.GroupAdd
	for port, bindings := range hc.PortBindings {
		for _, b := range bindings {
			// An empty HostPort is -p CONTAINER: a free host port.
			spec := b.HostPort + ":" + port.Port() + "/" + port.Proto()
			if b.HostIP != "" {
				spec = b.HostIP + ":" + spec
			}
			pm, err := machine.ParsePublish(spec)
			if err != nil {
				return o, err
			}
			o.Publish = append(o.Publish, pm)
		}
	}
	for _, b := range hc.Binds {
		m, err := machine.ParseVolume(b)
		if err != nil {
			return o, err
		}
		o.Mounts = append(o.Mounts, m)
	}
	for target, opts := range hc.Tmpfs {
		spec := target
		if opts != "" {
			spec += ":" + opts
		}
		m, err := machine.ParseTmpfs(spec)
		if err != nil {
			return o, err
		}
		o.Mounts = append(o.Mounts, m)
	}
	// -v /path (no source): the CLI puts it in Config.Volumes.
	for _, target := range slices.Sorted(maps.Keys(cfg.Volumes)) {
		m, err := machine.ParseVolume(target)
		if err != nil {
			return o, err
		}
		o.Mounts = append(o.Mounts, m)
	}
	for _, am := range hc.Mounts {
		m, err := apiMount(am)
		if err != nil {
			return o, err
		}
		o.Mounts = append(o.Mounts, m)
	}
	o.VolumesFrom = hc.VolumesFrom
	o.PublishAll = hc.PublishAllPorts
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// apiMount turns one of HostConfig.Mounts (docker run --mount) into
// berth's mount through berth run --mount's parser: bind, volume and
// tmpfs, as berth run takes them.
func apiMount(am mount.Mount) (machine.Mount, error) {
	bad := func(format string, a ...any) (machine.Mount, error) {
		return machine.Mount{}, fmt.Errorf("invalid mount %s: %s: %w", am.Target, fmt.Sprintf(format, a...), errdefs.ErrInvalid)
	}
	switch am.Type {
	case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
	default:
		return bad("type %q is not supported: berth mounts bind, volume and tmpfs", am.Type)
	}
	if strings.Contains(am.Source, ",") || strings.Contains(am.Target, ",") {
		return bad("berth takes no comma in a mount's source or target")
	}
	spec := []string{"type=" + string(am.Type), "target=" + am.Target}
	if am.Source != "" {
		spec = append(spec, "source="+am.Source)
	}
	if am.ReadOnly {
		spec = append(spec, "readonly")
	}
	if b := am.BindOptions; b != nil {
		if b.NonRecursive || b.ReadOnlyNonRecursive || b.ReadOnlyForceRecursive {
			return bad("bind-recursive is not supported")
		}
		if b.Propagation != "" {
			spec = append(spec, "bind-propagation="+string(b.Propagation))
		}
	}
	if v := am.VolumeOptions; v != nil {
		if v.Subpath != "" || (v.DriverConfig != nil && v.DriverConfig.Name != "" && v.DriverConfig.Name != "local") {
			return bad("volume-subpath and volume drivers are not supported")
		}
		if v.NoCopy {
			spec = append(spec, "volume-nocopy")
		}
	}
	if t := am.TmpfsOptions; t != nil {
		if len(t.Options) > 0 {
			return bad("tmpfs-option is not supported")
		}
		if t.SizeBytes > 0 {
			spec = append(spec, "tmpfs-size="+strconv.FormatInt(t.SizeBytes, 10))
		}
		if t.Mode != 0 {
			spec = append(spec, "tmpfs-mode="+strconv.FormatUint(uint64(t.Mode)&0o7777, 8))
		}
	}
	m, err := machine.ParseMount(strings.Join(spec, ","))
	if err != nil {
		return m, err
	}
	if b := am.BindOptions; b != nil && b.CreateMountpoint {
		m.MustExist = false
	}
	return m, nil
}

// containerCreate is POST /containers/create (docker create, the first
// half of docker run).
func (s *apiServer) containerCreate(w http.ResponseWriter, r *http.Request) {
	var req container.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		apiError(w, err)
		return
	}
	o, err := createOptions(r.URL.Query().Get("name"), req)
	if err != nil {
		apiError(w, err)
		return
	}
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	rec, err := h.create(r.Context(), o)
	if err != nil {
		if errdefs.IsNotFound(err) && strings.Contains(err.Error(), "Unable to find image") {
			err = classed{fmt.Errorf("No such image: %s", o.Image), errdefs.ErrNotFound}
		}
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, container.CreateResponse{ID: rec.ID, Warnings: []string{}})
}

func (s *apiServer) containerInspect(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		writeJSON(w, http.StatusOK, h.inspectContainer(r.Context(), rec))
		return nil
	})
}

// startError is a failed start in Docker's terms: a command that could
// not be run is a 400 whose message the docker CLI turns into 126/127.
func startError(err error) error {
	var sf startFailure
	if errors.As(err, &sf) {
		return classed{err, errdefs.ErrInvalid}
	}
	return err
}

func (s *apiServer) containerStart(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		if err := h.start(r.Context(), rec); err != nil {
			h.removeAfterFailedStart(rec)
			return startError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// timeoutParam reads ?t= (seconds; -1 waits for ever); nil when absent.
func timeoutParam(r *http.Request) (*int, error) {
	v := r.URL.Query().Get("t")
	if v == "" {
		return nil, nil
	}
	t, err := strconv.Atoi(v)
	if err != nil {
		return nil, fmt.Errorf("invalid value for t: %q: %w", v, errdefs.ErrInvalid)
	}
	return &t, nil
}

func (s *apiServer) containerStop(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		t, err := timeoutParam(r)
		if err != nil {
			return err
		}
		if err := h.stop(r.Context(), rec, t); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (s *apiServer) containerRestart(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		t, err := timeoutParam(r)
		if err != nil {
			return err
		}
		if err := h.stop(r.Context(), rec, t); err != nil {
			return err
		}
		if err := h.start(r.Context(), rec); err != nil {
			return startError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (s *apiServer) containerKill(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		sig := syscall.SIGKILL
		if v := r.URL.Query().Get("signal"); v != "" {
			var err error
			if sig, err = machine.ParseSignal(v); err != nil {
				return err
			}
		}
		if err := h.kill(r.Context(), rec, sig); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (s *apiServer) containerDelete(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		if err := h.remove(r.Context(), rec, boolParam(r, "force")); err != nil {
			return err
		}
		if boolParam(r, "v") { // docker rm -v: its anonymous volumes too
			if _, err := removeAnonymousVolumes(s.g.root, h.cs, rec); err != nil {
				return err
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// containerWait is POST /containers/{id}/wait. The status line goes out
// at once (the docker CLI waits for it before it starts the container);
// the exit code follows when the condition holds: not-running (the
// default), next-exit (an exit after this request) or removed.
func (s *apiServer) containerWait(w http.ResponseWriter, r *http.Request) {
	cond := container.WaitCondition(r.URL.Query().Get("condition"))
	switch cond {
	case "", container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		apiError(w, fmt.Errorf("invalid condition: %q: %w", cond, errdefs.ErrInvalid))
		return
	}
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		flush(w)
		code, err := h.waitFor(r.Context(), rec, cond, time.Now())
		resp := container.WaitResponse{StatusCode: int64(code)}
		if err != nil {
			resp.Error = &container.WaitExitError{Message: err.Error()}
		}
		return jsonLine(w, resp)
	})
}

// waitFor is wait with Docker's conditions; since is when the request
// came (next-exit wants an exit after it).
func (h *host) waitFor(ctx context.Context, rec *machine.Container, cond container.WaitCondition, since time.Time) (int, error) {
	switch cond {
	case container.WaitConditionNextExit, container.WaitConditionRemoved:
		code := -1
		for {
			cur, err := h.cs.Load(rec.ID)
			if errdefs.IsNotFound(err) {
				if code >= 0 {
					return code, nil
				}
				c, err := lastExitCode(ctx, rec.ID)
				if err != nil && cond == container.WaitConditionRemoved {
					return 0, nil // removed before it ever ran
				}
				return c, err
			}
			if err != nil {
				return 0, err
			}
			cur = h.refresh(ctx, cur)
			if !active(cur) && cur.State.Status != machine.StatusRunning && cur.State.FinishedAt.After(since) {
				if cond == container.WaitConditionNextExit {
					return cur.State.ExitCode, nil
				}
				code = cur.State.ExitCode
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return h.wait(ctx, rec.ID)
}

// jsonLine writes v as one line of JSON and flushes it.
func jsonLine(w http.ResponseWriter, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return err
	}
	flush(w)
	return nil
}

// containerLogs is GET /containers/{id}/logs: the journal's output of
// the container in Docker's multiplexed stream.
func (s *apiServer) containerLogs(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		q := r.URL.Query()
		lo := logOptions{follow: boolParam(r, "follow"), timestamps: boolParam(r, "timestamps")}
		if t := q.Get("tail"); t != "" && t != "all" {
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 {
				return fmt.Errorf("invalid tail %q: %w", t, errdefs.ErrInvalid)
			}
			lo.tail = &n
		}
		if v := q.Get("since"); v != "" && v != "0" {
			t, err := parseSince(v, time.Now())
			if err != nil {
				return classed{err, errdefs.ErrInvalid}
			}
			lo.since = t
		}
		if !boolParam(r, "stdout") && !boolParam(r, "stderr") {
			return fmt.Errorf("you must choose at least one stream: %w", errdefs.ErrInvalid)
		}
		// A -t container's output is its terminal's, one raw stream, as
		// Docker's (the CLI reads it so after its inspect says Tty).
		raw := rec.Options.Tty
		if raw {
			w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
		} else {
			w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		}
		w.WriteHeader(http.StatusOK)
		flush(w)
		m := &muxWriter{w: w}
		out, errw := streamWriter(m, streamStdout, raw), streamWriter(m, streamStderr, raw)
		if !boolParam(r, "stdout") {
			out = discard
		}
		if !boolParam(r, "stderr") {
			errw = discard
		}
		if err := h.logs(r.Context(), rec, lo, out, errw); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(errw, "berth: %v\n", err)
		}
		return nil
	})
}

var discard = writerFunc(func(p []byte) (int, error) { return len(p), nil })

// containerAttach is POST /containers/{id}/attach, which docker run
// calls before it starts the container: the connection is taken over
// and the container's output, followed in the journal from now, goes
// down it in Docker's multiplexed stream until the container ends.
// Stdin is not passed (create refuses -i).
func (s *apiServer) containerAttach(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		if !boolParam(r, "stream") {
			w.WriteHeader(http.StatusOK)
			return nil
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			return errors.New("attach: the connection cannot be taken over")
		}
		conn, bw, err := hj.Hijack()
		if err != nil {
			return fmt.Errorf("attach: %w", err)
		}
		defer conn.Close()
		since := time.Now()
		ctype := "application/vnd.docker.multiplexed-stream"
		if rec.Options.Tty {
			ctype = "application/vnd.docker.raw-stream"
		}
		if r.Header.Get("Upgrade") != "" {
			fmt.Fprintf(bw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", ctype)
		} else {
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", ctype)
		}
		bw.Flush()
		stdin := boolParam(r, "stdin") && rec.Options.Interactive
		if (rec.Options.Tty || stdin) && !active(rec) {
			// As berth run -it/-i: the command waits for this client.
			h.cs.Update(rec.ID, func(r *machine.Container) error { r.State.ConsoleWait = true; return nil })
		}
		if rec.Options.Tty {
			h.attachTerminal(rec, conn, bw, stdin, since)
			return nil
		}
		m := &muxWriter{w: conn}
		out, errw := streamWriter(m, streamStdout, false), streamWriter(m, streamStderr, false)
		if !boolParam(r, "stdout") {
			out = discard
		}
		if !boolParam(r, "stderr") {
			errw = discard
		}
		// The hijacked connection has no request context: a client that
		// hangs up ends the follow through a failed read.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if stdin {
			go h.feedStdin(ctx, rec.ID, bw)
		} else {
			go func() {
				buf := make([]byte, 512)
				for {
					if _, err := conn.Read(buf); err != nil {
						if !errors.Is(err, io.EOF) {
							cancel()
						}
						return
					}
				}
			}()
		}
		h.follow(ctx, rec, since, out, errw).untilExit(ctx)
		return nil
	})
}

// containerPause is POST /containers/{id}/pause and /unpause.
func (s *apiServer) containerPause(w http.ResponseWriter, r *http.Request) {
	pause := strings.HasSuffix(r.URL.Path, "/pause")
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		if err := h.pause(r.Context(), rec.ID, pause); err != nil {
			if !errdefs.IsNotFound(err) {
				err = classed{err, errdefs.ErrConflict}
			}
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// containerTop is GET /containers/{id}/top (docker top): berth top's
// rows; ps_args is one string, split on blanks as Docker does.
func (s *apiServer) containerTop(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		titles, rows, err := h.top(r.Context(), rec, strings.Fields(r.URL.Query().Get("ps_args")))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, container.TopResponse{Titles: titles, Processes: rows})
		return nil
	})
}

// attachTerminal joins conn (read through rd) to the terminal of -t container rec, in
// Docker's raw stream: it waits for the container's terminal (docker run
// attaches before it starts the container), holds it, which lets the
// command run, and copies both ways (with stdin, watching for the detach
// keys) until the container hangs it up or the client leaves.
func (h *host) attachTerminal(rec *machine.Container, conn net.Conn, rd io.Reader, stdin bool, since time.Time) {
	deadline := time.Now().Add(time.Minute)
	wasRunning := rec.IsRunning()
	for {
		cur, err := h.cs.Load(rec.ID)
		if err != nil {
			return
		}
		if cur.IsRunning() && cur.State.PtyDev != 0 && (wasRunning || cur.State.StartedAt.After(since)) {
			rec = cur
			break
		}
		if !active(cur) && cur.State.FinishedAt.After(rec.State.FinishedAt) || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	m, err := console.Fetch(1, rec.State.PtyIndex, rec.State.PtyDev)
	if err != nil {
		fmt.Fprintf(conn, "berth: attach to %s: %v\r\n", rec.Name, err)
		return
	}
	defer m.Close()
	// The output comes from the relay that logs it (ttylog.go), the
	// master's only reader, as for berth attach; from the master itself
	// without one.
	relay := filepath.Join(h.cs.Dir(rec.ID), ttySocket)
	var output io.Reader = m
	if c := dialRelay(relay, console.RelayNew); c != nil {
		defer c.Close()
		output = c
	}
	os.WriteFile(filepath.Join(h.cs.Dir(rec.ID), consoleMarker), nil, 0o600)
	comingBack := func() bool {
		r, err := h.cs.Load(rec.ID)
		return err == nil && (r.State.Status == machine.StatusRunning || r.State.Status == machine.StatusRestarting)
	}
	out := make(chan struct{})
	go func() {
		for {
			io.Copy(conn, output) // ends when the relay ends, or with EIO when the terminal is hung up
			if output == io.Reader(m) {
				break
			}
			// A restart keeps the terminal and starts a new relay.
			if output = redialRelay(relay, comingBack); output == nil {
				break
			}
		}
		close(out)
	}()
	in := make(chan struct{})
	if stdin {
		keys, _ := console.ParseKeys(console.DefaultDetachKeys)
		go func() {
			console.CopyInput(m, rd, keys)
			close(in)
		}()
	}
	select {
	case <-out:
	case <-in:
	}
}

// containerResize is POST /containers/{id}/resize?h=&w=: the size of a
// -t container's terminal.
func (s *apiServer) containerResize(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		rows, _ := strconv.Atoi(r.URL.Query().Get("h"))
		cols, _ := strconv.Atoi(r.URL.Query().Get("w"))
		if rec.Options.Tty && rec.IsRunning() {
			m, err := console.Fetch(1, rec.State.PtyIndex, rec.State.PtyDev)
			if err != nil {
				return err
			}
			defer m.Close()
			if err := console.SetSize(m, uint16(rows), uint16(cols)); err != nil {
				return err
			}
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// containerPrune is POST /containers/prune (docker container prune):
// berth container prune's function; filters are refused.
func (s *apiServer) containerPrune(w http.ResponseWriter, r *http.Request) {
	if f, _ := parseFilters(r.URL.Query().Get("filters")); len(f) > 0 {
		apiError(w, fmt.Errorf("berth prunes containers without filters: %w", errdefs.ErrInvalid))
		return
	}
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	rep := container.PruneReport{ContainersDeleted: []string{}}
	if err := h.prune(r.Context(), func(id string) { rep.ContainersDeleted = append(rep.ContainersDeleted, id) }); err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// containerCommit is POST /commit (docker commit): berth commit's
// function. The changes (-c) come as repeated changes= values; a Config
// in the body, which only the SDK sends, is refused: use changes.
func (s *apiServer) containerCommit(w http.ResponseWriter, r *http.Request) {
	var cfg *container.Config
	if err := decodeBody(r, &cfg); err != nil {
		apiError(w, err)
		return
	}
	if cfg != nil && !reflect.DeepEqual(*cfg, container.Config{}) {
		apiError(w, fmt.Errorf("a Config in the commit's body is not supported: give Dockerfile changes (docker commit -c): %w", errdefs.ErrInvalid))
		return
	}
	q := r.URL.Query()
	r.SetPathValue("id", q.Get("container"))
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		st, err := s.g.openStore(h.cmd)
		if err != nil {
			return err
		}
		o := imagebuild.CommitOptions{Message: q.Get("comment"), Author: q.Get("author"), Changes: q["changes"]}
		if repo := q.Get("repo"); repo != "" {
			o.Ref = repo
			if tag := q.Get("tag"); tag != "" {
				o.Ref += ":" + tag
			}
			o.Ref = familiarName(o.Ref)
		}
		pause := q.Get("pause") == "" || boolParam(r, "pause")
		img, err := h.commit(r.Context(), st, rec, o, pause)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, container.CommitResponse{ID: img.ID.String()})
		return nil
	})
}
