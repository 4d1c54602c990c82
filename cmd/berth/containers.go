package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// refresh corrects the record of a container that claims to run but
// whose PID 1 is gone and whose unit systemd no longer has (the host
// rebooted, or the testbed was killed): it exited, with Docker's 255.
func (h *host) refresh(ctx context.Context, rec *machine.Container) *machine.Container {
	s := rec.State.Status
	if (s != machine.StatusRunning && s != machine.StatusRestarting) || rec.IsRunning() {
		return rec
	}
	m, err := h.systemd(ctx)
	if err != nil {
		return rec
	}
	st, err := m.Unit(ctx, rec.Unit)
	if err != nil || (st.LoadState != "not-found" && st.ActiveState != "inactive" && st.ActiveState != "failed") {
		return rec
	}
	fixed, err := h.cs.Update(rec.ID, func(r *machine.Container) error {
		if r.State.Status == s && !r.IsRunning() {
			// Between restarts the last exit code is the true one; a
			// container recorded as running ended unseen: 255, as Docker.
			if s == machine.StatusRunning {
				r.State.ExitCode = 255
			}
			r.State.Status, r.State.Pid = machine.StatusExited, 0
			if r.State.FinishedAt.Before(r.State.StartedAt) {
				r.State.FinishedAt = time.Now().UTC()
			}
		}
		return nil
	})
	if err != nil {
		return rec
	}
	return fixed
}

// destroy removes container rec's state and records the destroy event;
// a container already gone is no error.
func (h *host) destroy(rec *machine.Container) error {
	err := h.cs.Remove(rec.ID)
	if err == nil {
		emit("destroy", containerFields(rec)...)
	}
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// active reports whether the container runs or is between restarts.
func active(rec *machine.Container) bool {
	return rec.IsRunning() || rec.State.Status == machine.StatusRestarting
}

// psRow is one line of `berth ps`, with Docker's field names.
type psRow struct {
	ID           string
	Image        string
	Command      string
	CreatedAt    string
	RunningFor   string
	Ports        string
	State        string
	Status       string
	Size         string
	Names        string
	Labels       string
	Mounts       string
	Networks     string
	LocalVolumes string
}

func commandOf(rec *machine.Container, spec []string, trunc bool) string {
	cmd := strings.Join(spec, " ")
	if trunc && len(cmd) > 20 {
		cmd = cmd[:19] + "…"
	}
	return strconv.Quote(cmd)
}

func newPsCommand(g *globalOptions) *cobra.Command {
	var all, quiet, noTrunc bool
	var format, app string
	var filters []string
	c := &cobra.Command{
		Use:     "ps [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List containers",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			recs, err := h.cs.List()
			if err != nil {
				return err
			}
			if app != "" {
				filters = append(filters, "label=io.berth.app="+app)
			}
			match, err := psFilter(filters)
			if err != nil {
				return usageError{err}
			}
			table := "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
			if quiet {
				format = "{{.ID}}"
			}
			f, err := newFormatter(c.OutOrStdout(), format, table,
				map[string]string{"ID": "CONTAINER ID", "RunningFor": "CREATED"})
			if err != nil {
				return err
			}
			now := time.Now()
			for _, rec := range recs {
				rec = h.refresh(c.Context(), rec)
				// As Docker: stopped containers need -a, or a status filter.
				if !all && !active(rec) && !hasStatusFilter(filters) {
					continue
				}
				if !match(rec) {
					continue
				}
				id := rec.ID
				if !noTrunc {
					id = machine.ShortID(id)
				}
				args := rec.Options.Cmd
				if spec, err := h.cs.Spec(rec.ID); err == nil && spec.Process != nil {
					args = spec.Process.Args
				}
				var labels []string
				for k, v := range rec.Options.Labels {
					labels = append(labels, k+"="+v)
				}
				state := rec.State.Status
				if state == machine.StatusRunning && !rec.IsRunning() {
					state = machine.StatusExited
				}
				err := f.row(psRow{
					ID:         id,
					Image:      rec.Image,
					Command:    commandOf(rec, args, !noTrunc),
					CreatedAt:  rec.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
					RunningFor: units.HumanDuration(now.Sub(rec.Created)) + " ago",
					State:      state,
					Status:     machine.DisplayStatus(rec.State, now, units.HumanDuration),
					Names:      rec.Name,
					Ports:      portsOf(rec),
					Labels:     strings.Join(labels, ","),
					Size:       "0B",
				})
				if err != nil {
					return err
				}
			}
			return f.flush()
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	c.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Filter output: status=, name=, id=, label=KEY[=VALUE], ancestor=IMAGE")
	c.Flags().StringVar(&app, "app", "", "Only the containers of a TOML app (berth up, /etc/berth)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display container IDs")
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	c.Flags().StringVar(&format, "format", "", "Format output: table, json, 'table TEMPLATE' or a Go template")
	return c
}

// eachContainer runs fn for every argument, printing the argument on
// success as Docker does, and joins the errors.
func eachContainer(c *cobra.Command, g *globalOptions, args []string, fn func(h *host, rec *machine.Container) error) error {
	h, err := g.host(c)
	if err != nil {
		return err
	}
	defer h.close()
	var errs []error
	for _, ref := range args {
		rec, err := h.cs.Lookup(ref)
		if err == nil {
			err = fn(h, rec)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.OutOrStdout(), ref)
	}
	return errors.Join(errs...)
}

// stop stops rec's unit: systemd sends the stop signal, waits the
// container's stop timeout and kills what is left (itself, or through
// the unit's ExecStop script for a short timeout or -t, see
// machine.NativeStop). timeout, when set, replaces that wait for this stop (Docker's
// stop -t, -1 for ever): berth sends the signal and waits itself, then
// stops the unit. A stopped container is success; one between restarts
// is stopped for good and recorded as exited.
func (h *host) stop(ctx context.Context, rec *machine.Container, timeout *int) error {
	// A record that still says running whose process is gone is between
	// an exit and its cleanup, which may restart it: stop the unit too.
	if !active(rec) && rec.State.Status != machine.StatusRunning {
		h.waitCleanup(ctx, rec)
		return nil
	}
	m, err := h.systemd(ctx)
	if err != nil {
		return err
	}
	if _, err := h.cs.Update(rec.ID, func(r *machine.Container) error { r.State.Stopping = true; return nil }); err != nil {
		return err
	}
	h.thawForStop(ctx, rec) // pause.go
	if timeout != nil && rec.IsRunning() {
		sig, err := machine.ParseSignal(rec.StopSignal)
		if err != nil {
			sig = syscall.SIGTERM
		}
		if err := m.Kill(ctx, rec.Unit, "main", sig); err == nil {
			var deadline <-chan time.Time
			if *timeout >= 0 {
				deadline = time.After(time.Duration(*timeout) * time.Second)
			}
			h.cs.Watch(ctx, rec.ID, func(r *machine.Container, err error) bool {
				select {
				case <-deadline:
					m.Kill(ctx, rec.Unit, "main", syscall.SIGKILL)
					deadline = nil
				default:
				}
				return err != nil || !r.IsRunning()
			})
		}
	}
	if err := m.Stop(ctx, rec.Unit); err != nil {
		return fmt.Errorf("stop %s: %w", rec.Name, err)
	}
	h.waitCleanup(ctx, rec)
	emit("stop", containerFields(rec)...)
	// Stopped between two restarts, a unit goes down without its
	// ExecStopPost: what it last exited with stays.
	h.cs.Update(rec.ID, func(r *machine.Container) error {
		if r.State.Status == machine.StatusRestarting {
			r.State.Status = machine.StatusExited
		}
		return nil
	})
	return nil
}

func newStopCommand(g *globalOptions) *cobra.Command {
	var timeout int
	c := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var t *int
			if c.Flags().Changed("time") {
				t = &timeout
			}
			return eachContainer(c, g, args, func(h *host, rec *machine.Container) error {
				return h.stop(c.Context(), rec, t)
			})
		},
	}
	c.Flags().IntVarP(&timeout, "time", "t", 0, "Seconds to wait before killing the container (default: its stop timeout)")
	return c
}

func newRestartCommand(g *globalOptions) *cobra.Command {
	var timeout int
	c := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var t *int
			if c.Flags().Changed("time") {
				t = &timeout
			}
			return eachContainer(c, g, args, func(h *host, rec *machine.Container) error {
				if err := h.stop(c.Context(), rec, t); err != nil {
					return err
				}
				return h.start(c.Context(), rec)
			})
		},
	}
	c.Flags().IntVarP(&timeout, "time", "t", 0, "Seconds to wait before killing the container")
	return c
}

func newKillCommand(g *globalOptions) *cobra.Command {
	var sigName string
	c := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			sig, err := machine.ParseSignal(sigName)
			if err != nil {
				return usageError{err}
			}
			return eachContainer(c, g, args, func(h *host, rec *machine.Container) error {
				return h.kill(c.Context(), rec, sig)
			})
		},
	}
	c.Flags().StringVarP(&sigName, "signal", "s", "KILL", "Signal to send to the container")
	return c
}

// kill sends sig to rec's PID 1; a container that is not running is a
// conflict, in Docker's words.
func (h *host) kill(ctx context.Context, rec *machine.Container, sig syscall.Signal) error {
	if !rec.IsRunning() {
		return classed{fmt.Errorf("Cannot kill container: %s: container %s is not running", rec.Name, rec.ID), errdefs.ErrConflict}
	}
	m, err := h.systemd(ctx)
	if err != nil {
		return err
	}
	if err := m.Kill(ctx, rec.Unit, "main", sig); err != nil {
		return err
	}
	emit("kill", append(containerFields(rec), journal.Field{Name: "BERTH_SIGNAL", Value: strconv.Itoa(int(sig))})...)
	return nil
}

func newRmCommand(g *globalOptions) *cobra.Command {
	var force, volumes bool
	c := &cobra.Command{
		Use:     "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more containers",
		Long: "Remove one or more containers: their state, writable layer and name; with -v also their\n" +
			"anonymous volumes (-v /path, the image's VOLUME) that no other container uses.",
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return eachContainer(c, g, args, func(h *host, rec *machine.Container) error {
				if err := h.remove(c.Context(), rec, force); err != nil || !volumes {
					return err
				}
				_, err := removeAnonymousVolumes(g.root, h.cs, rec)
				return err
			})
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	c.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return c
}

// remove removes rec; a running container only with force, after
// SIGKILL and its unit's stop.
func (h *host) remove(ctx context.Context, rec *machine.Container, force bool) error {
	rec = h.refresh(ctx, rec)
	if active(rec) {
		if !force {
			return fmt.Errorf("You cannot remove a running container %s. Stop the container before attempting removal or force remove: %w", rec.ID, errdefs.ErrConflict)
		}
		m, err := h.systemd(ctx)
		if err != nil {
			return err
		}
		h.cs.Update(rec.ID, func(r *machine.Container) error { r.State.Stopping = true; return nil })
		if err := m.Kill(ctx, rec.Unit, "all", syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		if err := m.Stop(ctx, rec.Unit); err != nil {
			return err
		}
	} else if rec.State.Status == machine.StatusRunning {
		// Its command has ended but its unit's cleanup (which releases
		// its address, ports and rules, and records the exit) has not
		// finished: wait for it, or the cleanup finds no record and
		// releases nothing. Stopping a unit that is stopping waits.
		m, err := h.systemd(ctx)
		if err != nil {
			return err
		}
		if err := m.Stop(ctx, rec.Unit); err != nil {
			return err
		}
	}
	h.waitCleanup(ctx, rec)
	return h.destroy(rec)
}

// waitCleanup waits while rec's unit is still on its way out (its
// cleanup may still be running after the record says the container
// ended: an --rm removal, anonymous volumes), so that a container
// removed or stopped leaves nothing behind when the command returns.
func (h *host) waitCleanup(ctx context.Context, rec *machine.Container) {
	if m, err := h.systemd(ctx); err == nil {
		waitUnitGone(ctx, m, rec.Unit, false)
	}
}

func newWaitCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			var errs []error
			for _, ref := range args {
				code, err := h.wait(c.Context(), ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), code)
			}
			return errors.Join(errs...)
		},
	}
}

// wait blocks until the container is neither running nor restarting and
// returns its exit code; for a container removed on exit (--rm) the code
// comes from its die record in the journal.
func (h *host) wait(ctx context.Context, ref string) (int, error) {
	rec, err := h.cs.Lookup(ref)
	if err != nil {
		return 0, err
	}
	for {
		rec = h.refresh(ctx, rec)
		if !active(rec) && rec.State.Status != machine.StatusRunning {
			return rec.State.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		next, err := h.cs.Load(rec.ID)
		if errdefs.IsNotFound(err) {
			return lastExitCode(ctx, rec.ID)
		}
		if err != nil {
			return 0, err
		}
		rec = next
	}
}

// lastExitCode reads the exit code of a removed container from its last
// die record.
func lastExitCode(ctx context.Context, id string) (int, error) {
	code := -1
	err := journal.Read(ctx, journal.Query{
		Matches: []string{"CONTAINER_ID_FULL=" + id, "BERTH_EVENT=die"},
		Tail:    1,
	}, func(e journal.Entry) error {
		code, _ = strconv.Atoi(e.Fields["EXIT_CODE"])
		return nil
	})
	if err != nil {
		return 0, err
	}
	if code < 0 {
		return 0, fmt.Errorf("container %s is gone and the journal has no exit for it", machine.ShortID(id))
	}
	return code, nil
}

func newLogsCommand(g *globalOptions) *cobra.Command {
	var follow, timestamps bool
	var tail, since, app string
	c := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER | logs --app APP [OPTIONS]",
		Short: "Fetch the logs of a container, or of every container of an app (from the journal)",
		Args:  rangeArgs(0, 1),
		RunE: func(c *cobra.Command, args []string) error {
			if (app == "") == (len(args) == 0) {
				return usageError{errors.New("logs needs a CONTAINER, or --app APP")}
			}
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			if app != "" {
				return appLogs(c, h, app, follow, timestamps, tail, since)
			}
			rec, err := h.cs.Lookup(args[0])
			if err != nil {
				return err
			}
			lo := logOptions{follow: follow, timestamps: timestamps}
			if tail != "all" && tail != "" {
				n, err := strconv.Atoi(tail)
				if err != nil || n < 0 {
					return usageError{fmt.Errorf("invalid --tail %q: want a number or \"all\"", tail)}
				}
				lo.tail = &n
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return usageError{err}
				}
				lo.since = t
			}
			return h.logs(c.Context(), rec, lo, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "Follow log output")
	c.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	c.Flags().StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	c.Flags().StringVar(&since, "since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	c.Flags().StringVar(&app, "app", "", "The logs of every container of a TOML app, interleaved, each line prefixed with its service")
	return c
}

// logOptions are docker logs' options: tail nil is all.
type logOptions struct {
	follow, timestamps bool
	tail               *int
	since              time.Time
}

// logs writes rec's output from the journal to out (stdout) and errw
// (stderr); with follow until the container stops.
func (h *host) logs(ctx context.Context, rec *machine.Container, lo logOptions, out, errw io.Writer) error {
	q := journal.Query{Matches: []string{"CONTAINER_ID_FULL=" + rec.ID, "PRIORITY=6", "PRIORITY=3"}}
	if lo.tail != nil {
		if *lo.tail == 0 {
			// journalctl -n 0 prints nothing; so does Docker.
			if !lo.follow {
				return nil
			}
			q.Since = time.Now()
		}
		q.Tail = *lo.tail
	}
	if !lo.since.IsZero() {
		q.Since = lo.since
	}
	var cursor string
	emit := func(e journal.Entry) error {
		cursor = e.Cursor
		if lo.timestamps {
			w := out
			if e.Priority == 3 {
				w = errw
			}
			fmt.Fprint(w, e.Time.UTC().Format(time.RFC3339Nano)+" ")
		}
		writeEntry(e, out, errw)
		return nil
	}
	if !lo.follow || !active(rec) {
		return journal.Read(ctx, q, emit)
	}
	// Docker's logs -f ends when the container stops. journald
	// wakes followers only now and then, so the end is read once
	// more, after the last entry seen, when the container has
	// stopped (its cleanup waited until journald had read its
	// output to the end).
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q.Follow = true
	followed := make(chan error, 1)
	go func() { followed <- journal.Read(fctx, q, emit) }()
	if _, err := h.wait(ctx, rec.ID); err != nil {
		return err
	}
	cancel()
	if err := <-followed; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	q.Follow, q.Tail, q.AfterCursor = false, 0, cursor
	err := journal.Read(ctx, q, emit)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// appLogs prints the output of every container of app, in the order it
// was written, each line prefixed "SERVICE | " as Compose does; with
// follow, until interrupted.
func appLogs(c *cobra.Command, h *host, app string, follow, timestamps bool, tail, since string) error {
	recs, err := h.cs.List()
	if err != nil {
		return err
	}
	q := journal.Query{Matches: []string{"PRIORITY=6", "PRIORITY=3"}, Follow: follow}
	width := 0
	for _, r := range recs {
		if r.Options.Labels["io.berth.app"] == app {
			q.Matches = append(q.Matches, "CONTAINER_ID_FULL="+r.ID)
			width = max(width, len(r.Options.Labels["io.berth.service"]))
		}
	}
	if len(q.Matches) == 2 {
		return fmt.Errorf("app %s has no containers (berth ps -a --app %s): %w", app, app, errdefs.ErrNotFound)
	}
	if tail != "all" && tail != "" {
		n, err := strconv.Atoi(tail)
		if err != nil || n < 0 {
			return usageError{fmt.Errorf("invalid --tail %q: want a number or \"all\"", tail)}
		}
		q.Tail = n
	}
	if since != "" {
		t, err := parseSince(since, time.Now())
		if err != nil {
			return usageError{err}
		}
		q.Since = t
	}
	names := map[string]string{}
	for _, r := range recs {
		names[r.ID] = r.Options.Labels["io.berth.service"]
	}
	out, errw := c.OutOrStdout(), c.ErrOrStderr()
	return journal.Read(c.Context(), q, func(e journal.Entry) error {
		if e.Fields["BERTH_EVENT"] != "" || (e.Priority != 6 && e.Priority != 3) {
			return nil
		}
		w := out
		if e.Priority == 3 {
			w = errw
		}
		prefix := fmt.Sprintf("%-*s | ", width, names[e.Fields["CONTAINER_ID_FULL"]])
		if timestamps {
			prefix += e.Time.UTC().Format(time.RFC3339Nano) + " "
		}
		fmt.Fprint(w, prefix)
		writeEntry(e, w, w)
		return nil
	})
}

// parseSince reads Docker's --since: a Go duration before now, a Unix
// time (with fraction), or an RFC 3339 time or date.
func parseSince(s string, now time.Time) (time.Time, error) {
	// "0" is the Unix epoch (everything), as in Docker, not "0s ago".
	if d, err := time.ParseDuration(s); err == nil && s != "0" {
		return now.Add(-d), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid --since %q: want a duration (10m), a Unix time or an RFC 3339 time", s)
}

func newInspectCommand(g *globalOptions) *cobra.Command {
	var format, typ string
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on containers or images",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			var objs []any
			var errs []error
			for _, ref := range args {
				if typ == "" || typ == "container" {
					rec, err := h.cs.Lookup(ref)
					if err == nil {
						objs = append(objs, h.inspectContainer(c.Context(), rec))
						continue
					}
					if typ == "container" || !errdefs.IsNotFound(err) {
						errs = append(errs, err)
						continue
					}
				}
				s, err := g.openStore(c)
				if err != nil {
					return err
				}
				img, err := s.Get(c.Context(), ref)
				if err != nil {
					errs = append(errs, fmt.Errorf("No such object: %s: %w", ref, errdefs.ErrNotFound))
					continue
				}
				objs = append(objs, inspectImage(s, img))
			}
			if err := printInspect(c, objs, format); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().StringVarP(&format, "format", "f", "", "Format output using a Go template, or json")
	c.Flags().StringVar(&typ, "type", "", "Only inspect objects of the given type (container, image)")
	return c
}

// printInspect prints objs as Docker's inspect does: a JSON array, or
// the template once per object.
func printInspect(c *cobra.Command, objs []any, format string) error {
	if format == "" || format == "json" {
		if objs == nil {
			objs = []any{}
		}
		b, err := json.MarshalIndent(objs, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.OutOrStdout(), "%s\n", b)
		return nil
	}
	f, err := newFormatter(c.OutOrStdout(), format, "", nil)
	if err != nil {
		return err
	}
	for _, o := range objs {
		// Templates see the same field names as the JSON.
		b, _ := json.Marshal(o)
		var m map[string]any
		json.Unmarshal(b, &m)
		if err := f.row(m); err != nil {
			return err
		}
	}
	return nil
}

// psFilter is Docker's ps --filter: the same key given twice matches
// either value, different keys must all match.
func psFilter(filters []string) (func(*machine.Container) bool, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		switch k {
		case "status", "name", "id", "label", "ancestor":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		if k == "status" {
			switch v {
			case "created", "running", "restarting", "exited", "paused":
			default:
				return nil, fmt.Errorf("invalid filter 'status=%s'", v)
			}
		}
		byKey[k] = append(byKey[k], v)
	}
	one := func(rec *machine.Container, k, v string) bool {
		switch k {
		case "status":
			st := rec.State.Status
			if st == machine.StatusRunning && !rec.IsRunning() {
				st = machine.StatusExited
			}
			if st == machine.StatusRunning && rec.State.Paused {
				st = "paused"
			}
			return st == v
		case "name":
			return strings.Contains(rec.Name, strings.TrimPrefix(v, "/"))
		case "id":
			return strings.HasPrefix(rec.ID, v)
		case "label":
			lk, lv, hasValue := strings.Cut(v, "=")
			got, ok := rec.Options.Labels[lk]
			return ok && (!hasValue || got == lv)
		case "ancestor":
			return rec.Image == v || strings.HasPrefix(strings.TrimPrefix(rec.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:"))
		}
		return false
	}
	return func(rec *machine.Container) bool {
		for k, vs := range byKey {
			hit := false
			for _, v := range vs {
				hit = hit || one(rec, k, v)
			}
			if !hit {
				return false
			}
		}
		return true
	}, nil
}

// prune removes every container that neither runs nor is between
// restarts, calling deleted with each one's ID.
func (h *host) prune(ctx context.Context, deleted func(id string)) error {
	recs, err := h.cs.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, rec := range recs {
		rec = h.refresh(ctx, rec)
		if active(rec) {
			continue
		}
		if err := h.destroy(rec); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted(rec.ID)
	}
	return errors.Join(errs...)
}

func newContainerPruneCommand(g *globalOptions) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if !force && !confirm(c, "WARNING! This will remove all stopped containers.") {
				return nil
			}
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			fmt.Fprintln(c.OutOrStdout(), "Deleted Containers:")
			return h.prune(c.Context(), func(id string) { fmt.Fprintln(c.OutOrStdout(), id) })
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return c
}

// confirm asks Docker's question on stderr and reads the answer.
func confirm(c *cobra.Command, warning string) bool {
	fmt.Fprintf(c.ErrOrStderr(), "%s\nAre you sure you want to continue? [y/N] ", warning)
	var answer string
	fmt.Fscanln(c.InOrStdin(), &answer)
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}

// newContainerCommand is Docker's `container` group: the same commands
// under their management names.
func newContainerCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	ls := newPsCommand(g)
	ls.Use, ls.Aliases = "ls [OPTIONS]", []string{"list", "ps"}
	inspect := newInspectCommand(g)
	inspect.Flags().Set("type", "container")
	c.AddCommand(ls, newRunCommand(g), newCreateCommand(g), newStartCommand(g), newStopCommand(g),
		newRestartCommand(g), newKillCommand(g), newRmCommand(g), newLogsCommand(g), inspect,
		newWaitCommand(g), newContainerPruneCommand(g))
	return c
}

func hasStatusFilter(filters []string) bool {
	for _, f := range filters {
		if strings.HasPrefix(f, "status=") {
			return true
		}
	}
	return false
}

// portsOf is the PORTS column: the published ports of a running
// container, as Docker prints them.
func portsOf(rec *machine.Container) string {
	if !rec.IsRunning() {
		return ""
	}
	var ps []string
	for _, p := range rec.Options.Publish {
		ps = append(ps, p.String())
	}
	return strings.Join(ps, ", ")
}

func newPortCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings of a container, or the mapping of one of its ports",
		Args:  rangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			rec, err := h.cs.Lookup(args[0])
			if err != nil {
				return err
			}
			want := ""
			if len(args) == 2 {
				want = args[1]
				if !strings.Contains(want, "/") {
					want += "/tcp"
				}
			}
			found := false
			for _, p := range rec.Options.Publish {
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				for i := uint16(0); i < max(p.Count, 1); i++ {
					key := fmt.Sprintf("%d/%s", p.ContainerPort+i, p.Proto)
					switch {
					case want == "":
						fmt.Fprintf(c.OutOrStdout(), "%s -> %s:%d\n", key, ip, p.HostPort+i)
					case want == key:
						fmt.Fprintf(c.OutOrStdout(), "%s:%d\n", ip, p.HostPort+i)
						found = true
					}
				}
			}
			if want != "" && !found {
				return fmt.Errorf("no public port '%s' published for %s: %w", want, rec.Name, errdefs.ErrNotFound)
			}
			return nil
		},
	}
}
