package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/console"
	"github.com/spf13/cobra"
)

// attachConsole proxies this process's terminal to rec's: stdin (with
// -i) in raw mode, with the detach keys watched for; the container's
// output to stdout; window size changes. It returns when the
// container's end hangs the terminal up (false) or on the detach keys
// (true). held, when set, is called once the terminal is held.
func attachConsole(rec *machine.Container, relay string, comingBack func() bool, stdin bool, keys []byte, held func()) (detached bool, err error) {
	m, err := console.Fetch(1, rec.State.PtyIndex, rec.State.PtyDev)
	if err != nil {
		return false, fmt.Errorf("attach to %s: %w", rec.Name, err)
	}
	defer m.Close()
	// The output comes from the relay that logs it (ttylog.go), the
	// master's only reader; from the master itself without one.
	var out io.Reader = m
	if c := dialRelay(relay, console.RelayNew); c != nil {
		defer c.Close()
		out = c
	}
	if held != nil {
		held()
	}
	if stdin && console.IsTerminal(os.Stdin) {
		restore, err := console.MakeRaw(os.Stdin)
		if err != nil {
			return false, fmt.Errorf("attach to %s: raw mode: %w", rec.Name, err)
		}
		defer restore()
	}
	resize := func() {
		for _, f := range []*os.File{os.Stdin, os.Stdout} {
			if rows, cols, ok := console.Size(f); ok {
				console.SetSize(m, rows, cols)
				return
			}
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-winch:
				resize()
			case <-done:
				return
			}
		}
	}()
	outDone := make(chan struct{})
	go func() {
		for {
			io.Copy(os.Stdout, out) // ends when the relay ends, or with EIO when the terminal is hung up
			if out == io.Reader(m) {
				break
			}
			// The relay ends with the container's PID 1. A restart
			// (restart policy) keeps the terminal and starts a new relay:
			// follow it until the terminal is hung up.
			if out = redialRelay(relay, comingBack); out == nil {
				break
			}
		}
		close(outDone)
	}()
	inDone := make(chan error, 1)
	// Killed or hung up, the client leaves as on the detach keys, with
	// its terminal restored; the container goes on.
	leave := make(chan os.Signal, 1)
	if stdin {
		go func() { inDone <- console.CopyInput(m, os.Stdin, keys) }()
		signal.Notify(leave, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(leave)
	}
	select {
	case <-leave:
		return true, nil
	case <-outDone:
		return false, nil
	case err := <-inDone:
		if errors.Is(err, console.ErrDetached) {
			return true, nil
		}
		<-outDone // stdin ended: the output goes on to the end
		return false, nil
	}
}

// redialRelay connects to the relay of a restarted container, or
// returns nil once comingBack says the container has ended for good, or
// no relay came within relayRedial. (The terminal itself cannot tell: a
// restart hangs up its session for a moment.)
func redialRelay(relay string, comingBack func() bool) io.Reader {
	for deadline := time.Now().Add(relayRedial); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c := dialRelay(relay, console.RelayFollow); c != nil {
			return c
		}
		if !comingBack() {
			return nil
		}
	}
	return nil
}

// dialRelay connects to the relay at path as a client of the given
// mode (console.RelayNew, RelayFollow) and waits for its greeting; nil
// when there is no relay.
func dialRelay(path string, mode byte) net.Conn {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil
	}
	var b [1]byte
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{mode}); err != nil {
		c.Close()
		return nil
	}
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != console.RelayGreeting {
		c.Close()
		return nil
	}
	c.SetDeadline(time.Time{})
	return c
}

// relayRedial bounds redialRelay's wait.
const relayRedial = 10 * time.Second

// runWithConsole starts a -t container and attaches this terminal to
// it; the command runs once the terminal is held, so nothing it writes
// is lost. It returns the container's exit code, or nothing on detach
// (the container goes on).
func (h *host) runWithConsole(ctx context.Context, rec *machine.Container, keys []byte) error {
	if _, err := h.cs.Update(rec.ID, func(r *machine.Container) error { r.State.ConsoleWait = true; return nil }); err != nil {
		return engineError{err}
	}
	if err := h.start(ctx, rec); err != nil {
		h.removeAfterFailedStart(rec)
		return err
	}
	return h.proxyConsole(ctx, rec, keys, func() {
		os.WriteFile(filepath.Join(h.cs.Dir(rec.ID), consoleMarker), nil, 0o600)
	})
}

// proxyConsole attaches to a running -t container, then waits for its
// exit code unless the user detached.
func (h *host) proxyConsole(ctx context.Context, rec *machine.Container, keys []byte, held func()) error {
	cur, err := h.cs.Load(rec.ID)
	if err != nil {
		return err
	}
	if !rec.Options.Interactive {
		// Without -i the terminal here stays cooked: its Ctrl-C is
		// berth's signal, passed on as with --sig-proxy.
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
		defer signal.Stop(sigs)
		go func() {
			for sig := range sigs {
				if m, err := h.systemd(ctx); err == nil {
					m.Kill(ctx, rec.Unit, "main", sig.(syscall.Signal))
				}
			}
		}()
	}
	// Running (its cleanup has not run yet) or restarting: a relay of
	// a next run may come.
	comingBack := func() bool {
		r, err := h.cs.Load(rec.ID)
		return err == nil && (r.State.Status == machine.StatusRunning || r.State.Status == machine.StatusRestarting)
	}
	detached, err := attachConsole(cur, filepath.Join(h.cs.Dir(rec.ID), ttySocket), comingBack, rec.Options.Interactive, keys, held)
	if err != nil {
		return engineError{err}
	}
	if detached {
		return nil
	}
	code, err := h.wait(ctx, rec.ID)
	if errdefs.IsNotFound(err) {
		code, err = lastExitCode(ctx, rec.ID) // --rm: already removed
	}
	if err != nil {
		return engineError{err}
	}
	return exitCodeError{code}
}

func newAttachCommand(g *globalOptions) *cobra.Command {
	var detachKeys string
	var noStdin bool
	c := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Long: "Attach this terminal to a running container's terminal (a container run with -t). The\n" +
			"detach keys (Ctrl-P Ctrl-Q) leave it running; when it ends, attach returns its exit code.",
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			keys, err := console.ParseKeys(detachKeys)
			if err != nil {
				return usageError{err}
			}
			h, err := g.host(c)
			if err != nil {
				return engineError{err}
			}
			defer h.close()
			rec, err := h.cs.Lookup(args[0])
			if err != nil {
				return err
			}
			if !rec.IsRunning() {
				return fmt.Errorf("You cannot attach to a stopped container, start it first")
			}
			if !rec.Options.Tty {
				return fmt.Errorf("container %s has no terminal (it was not run with -t): `berth logs -f %s` follows its output", rec.Name, rec.Name)
			}
			o := *rec
			o.Options.Interactive = rec.Options.Interactive && !noStdin
			return h.proxyConsole(c.Context(), &o, keys, nil)
		},
	}
	c.Flags().StringVar(&detachKeys, "detach-keys", console.DefaultDetachKeys, "Override the key sequence for detaching a container")
	c.Flags().BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	c.Flags().Bool("sig-proxy", true, "Proxy all received signals to the process")
	return c
}

// runWithConsole is `berth run -t` in the foreground.
func runWithConsole(c *cobra.Command, g *globalOptions, o machine.RunOptions, detachKeys string) error {
	keys, err := console.ParseKeys(detachKeys)
	if err != nil {
		return usageError{err}
	}
	if o.Interactive && !console.IsTerminal(os.Stdin) {
		// As Docker: raw mode and detach keys need a terminal here.
		return errors.New("the input device is not a TTY")
	}
	ctx := c.Context()
	h, err := g.host(c)
	if err != nil {
		return engineError{err}
	}
	defer h.close()
	if _, err := h.systemd(ctx); err != nil {
		return err
	}
	rec, err := h.create(ctx, o)
	if err != nil {
		return err
	}
	return h.runWithConsole(ctx, rec, keys)
}

// runWithStdin is `berth run -i` without -t: the output comes through
// the journal as for any foreground run, and this process's stdin feeds
// the container's through a pipe whose write end it takes from the
// waiting __init (pidfd_getfd), so that the container sees EOF when
// stdin ends, and berth stays no longer than the client.
func runWithStdin(c *cobra.Command, g *globalOptions, o machine.RunOptions) error {
	ctx := c.Context()
	h, err := g.host(c)
	if err != nil {
		return engineError{err}
	}
	defer h.close()
	if _, err := h.systemd(ctx); err != nil {
		return err
	}
	rec, err := h.create(ctx, o)
	if err != nil {
		return err
	}
	if _, err := h.cs.Update(rec.ID, func(r *machine.Container) error { r.State.ConsoleWait = true; return nil }); err != nil {
		return engineError{err}
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go h.feedStdin(fctx, rec.ID, c.InOrStdin())
	return h.startAttached(ctx, rec)
}

// feedStdin waits for the container's __init to publish its end of the
// stdin pipe, takes it, lets the command run, and copies in to it.
func (h *host) feedStdin(ctx context.Context, id string, in io.Reader) {
	var rec *machine.Container
	for {
		r, err := h.cs.Load(id)
		if err == nil && r.State.InitPid != 0 {
			rec = r
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	w, err := console.FetchFD(rec.State.InitPid, rec.State.StdinFd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth: warning: the container's stdin: %v\n", err)
		return
	}
	defer w.Close()
	os.WriteFile(filepath.Join(h.cs.Dir(id), consoleMarker), nil, 0o600)
	io.Copy(w, in)
}
