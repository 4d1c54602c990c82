package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/console"
	"github.com/berth/berth/machine/nsinit"
	"github.com/docker/docker/api/types/container"
)

// apiExec is one exec instance (POST /containers/{id}/exec) until the
// service exits: docker exec creates it, starts it, then reads its exit
// code. It is the only thing the service remembers between requests,
// and only for the seconds an exec lasts.
type apiExec struct {
	ID, ContainerID string
	opts            container.ExecOptions

	mu       sync.Mutex
	started  bool
	running  bool
	exitCode int
	pid      int
	// terminal is the master of a -t exec's terminal while it runs
	// (for /exec/{id}/resize).
	terminal *os.File
}

type execTable struct {
	mu sync.Mutex
	m  map[string]*apiExec
}

func (t *execTable) get(id string) (*apiExec, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[id]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("No such exec instance: %s: %w", id, errdefs.ErrNotFound)
}

func (t *execTable) add(e *apiExec) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*apiExec{}
	}
	t.m[e.ID] = e
}

// execCreate is POST /containers/{id}/exec.
func (s *apiServer) execCreate(w http.ResponseWriter, r *http.Request) {
	var o container.ExecOptions
	if err := decodeBody(r, &o); err != nil {
		apiError(w, err)
		return
	}
	if len(o.Cmd) == 0 {
		apiError(w, fmt.Errorf("no exec command specified: %w", errdefs.ErrInvalid))
		return
	}
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		if !rec.IsRunning() {
			return classed{fmt.Errorf("container %s is not running", rec.ID), errdefs.ErrConflict}
		}
		e := &apiExec{ID: machine.NewID(), ContainerID: rec.ID, opts: o}
		s.execs.add(e)
		writeJSON(w, http.StatusCreated, container.ExecCreateResponse{ID: e.ID})
		return nil
	})
}

// execStart is POST /exec/{id}/start: the command's output goes down
// the taken-over connection in the multiplexed stream; its exit code is
// recorded before the connection closes, for docker exec's inspect.
func (s *apiServer) execStart(w http.ResponseWriter, r *http.Request) {
	e, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		apiError(w, err)
		return
	}
	var start container.ExecStartOptions
	if err := decodeBody(r, &start); err != nil {
		apiError(w, err)
		return
	}
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		apiError(w, fmt.Errorf("exec %s has already been started: %w", e.ID, errdefs.ErrConflict))
		return
	}
	e.started = true
	e.mu.Unlock()
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	rec, err := h.cs.Lookup(e.ContainerID)
	if err != nil {
		apiError(w, err)
		return
	}
	if !rec.IsRunning() {
		apiError(w, classed{fmt.Errorf("container %s is not running", rec.ID), errdefs.ErrConflict})
		return
	}
	x := execSpec{args: e.opts.Cmd, env: e.opts.Env, workdir: e.opts.WorkingDir, user: e.opts.User}
	detach := start.Detach || e.opts.Detach
	if !detach && e.opts.Tty {
		s.execTerminal(w, r, h, rec, e, x, start.ConsoleSize)
		return
	}
	pipes := make([]*os.File, 2) // read ends: stdout, stderr
	var stdin *os.File           // write end
	if !detach && e.opts.AttachStdin {
		pr, pw, err := os.Pipe()
		if err != nil {
			apiError(w, err)
			return
		}
		defer pw.Close()
		x.stdin, stdin = pr, pw
	}
	if !detach {
		for i, want := range []bool{e.opts.AttachStdout, e.opts.AttachStderr} {
			if !want {
				continue
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				apiError(w, err)
				return
			}
			defer pr.Close()
			pipes[i] = pr
			if i == 0 {
				x.stdout = pw
			} else {
				x.stderr = pw
			}
		}
	}
	p, err := h.exec(context.WithoutCancel(r.Context()), rec, x)
	for _, f := range []*os.File{x.stdin, x.stdout, x.stderr} {
		if f != nil {
			f.Close() // the child has them
		}
	}
	if e.startFailed(w, err) {
		return
	}
	if err != nil {
		apiError(w, err)
		return
	}
	e.mu.Lock()
	e.running, e.pid = true, p.Pid
	e.mu.Unlock()
	wait := func() { e.wait(p) }
	if detach {
		go wait()
		w.WriteHeader(http.StatusOK)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		p.Kill()
		apiError(w, errors.New("exec: the connection cannot be taken over"))
		return
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		p.Kill()
		return
	}
	defer conn.Close()
	if r.Header.Get("Upgrade") != "" {
		fmt.Fprint(bw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	} else {
		fmt.Fprint(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n")
	}
	bw.Flush()
	if stdin != nil {
		// The client's stdin, until it closes its side (EOF for the
		// command).
		go func() {
			io.Copy(stdin, bw)
			stdin.Close()
		}()
	}
	m := &muxWriter{w: conn}
	var copies sync.WaitGroup
	for i, pr := range pipes {
		if pr == nil {
			continue
		}
		stream := byte(streamStdout + i)
		copies.Add(1)
		go func() {
			defer copies.Done()
			io.Copy(streamWriter(m, stream, false), pr)
		}()
	}
	copies.Wait()
	wait()
}

// execInspect is GET /exec/{id}/json: docker exec takes its exit code
// from here.
func (s *apiServer) execInspect(w http.ResponseWriter, r *http.Request) {
	e, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		apiError(w, err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, container.ExecInspect{ExecID: e.ID, ContainerID: e.ContainerID, Running: e.running,
		ExitCode: e.exitCode, Pid: e.pid})
}

// startFailed answers a command that could not be started: Docker
// answers 400 or 500 here with runc's words; the CLI maps "executable
// file not found" to 127 and others to 126.
func (e *apiExec) startFailed(w http.ResponseWriter, err error) bool {
	var se *nsinit.StartError
	if !errors.As(err, &se) {
		return false
	}
	apiError(w, classed{se, errdefs.ErrInvalid})
	e.mu.Lock()
	e.exitCode = se.Code
	e.mu.Unlock()
	return true
}

// wait records the exit code of p, the exec's process.
func (e *apiExec) wait(p *os.Process) {
	st, err := p.Wait()
	code := 126
	if err == nil {
		ws := st.Sys().(syscall.WaitStatus)
		code = ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	e.mu.Lock()
	e.running, e.exitCode, e.terminal = false, code, nil
	e.mu.Unlock()
}

// execTerminal runs a -t exec on a terminal of the service's: its
// command's session has it as controlling terminal, and the connection
// carries it raw both ways (Docker's raw stream: no frame headers, one
// stream) until the command has exited.
func (s *apiServer) execTerminal(w http.ResponseWriter, r *http.Request, h *host, rec *machine.Container, e *apiExec, x execSpec, size *[2]uint) {
	pty, err := console.Open()
	if err != nil {
		apiError(w, err)
		return
	}
	defer pty.Master.Close()
	if size != nil && size[0] > 0 && size[1] > 0 {
		console.SetSize(pty.Master, uint16(size[0]), uint16(size[1]))
	}
	if !slices.ContainsFunc(x.env, func(kv string) bool { return strings.HasPrefix(kv, "TERM=") }) {
		x.env = append(x.env, "TERM=xterm") // as Docker's exec -t
	}
	x.stdin, x.stdout, x.stderr, x.terminal = pty.Slave, pty.Slave, pty.Slave, true
	p, err := h.exec(context.WithoutCancel(r.Context()), rec, x)
	pty.Slave.Close() // the command's now
	if e.startFailed(w, err) {
		return
	}
	if err != nil {
		apiError(w, err)
		return
	}
	e.mu.Lock()
	e.running, e.pid, e.terminal = true, p.Pid, pty.Master
	e.mu.Unlock()
	hj, ok := w.(http.Hijacker)
	if !ok {
		p.Kill()
		e.wait(p)
		return
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		p.Kill()
		e.wait(p)
		return
	}
	defer conn.Close()
	if r.Header.Get("Upgrade") != "" {
		fmt.Fprint(bw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	} else {
		fmt.Fprint(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
	}
	bw.Flush()
	if e.opts.AttachStdin {
		go io.Copy(pty.Master, bw)
	}
	// The master reads EIO once the last holder of the slave (the
	// command and what it started) has closed it.
	io.Copy(conn, pty.Master)
	e.wait(p)
}

// execResize is POST /exec/{id}/resize: a -t exec's terminal takes the
// client's window size (the command gets SIGWINCH); for others there is
// nothing to size.
func (s *apiServer) execResize(w http.ResponseWriter, r *http.Request) {
	e, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		apiError(w, err)
		return
	}
	rows, err1 := strconv.ParseUint(r.URL.Query().Get("h"), 10, 16)
	cols, err2 := strconv.ParseUint(r.URL.Query().Get("w"), 10, 16)
	if err1 != nil || err2 != nil {
		apiError(w, fmt.Errorf("invalid size h=%q w=%q: %w", r.URL.Query().Get("h"), r.URL.Query().Get("w"), errdefs.ErrInvalid))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.terminal != nil {
		if err := console.SetSize(e.terminal, uint16(rows), uint16(cols)); err != nil {
			apiError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}
