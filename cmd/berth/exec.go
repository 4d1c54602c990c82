package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/nsinit"
	"github.com/spf13/cobra"
)

func newExecCommand(g *globalOptions) *cobra.Command {
	var interactive, tty, detach bool
	var env []string
	var workdir, user string
	c := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Long: "Execute a command in a running container: in its namespaces and file system, as its user\n" +
			"(or -u), with its capabilities, in its unit's cgroup. -i passes this terminal's stdin; with -t\n" +
			"the command gets this terminal itself (berth does not make a new pseudo-terminal).",
		Args: minArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := nsinit.ReexecReadOnly(); err != nil { // the CVE-2019-5736 class: see nsinit
				return engineError{err}
			}
			h, err := g.host(c)
			if err != nil {
				return engineError{err}
			}
			defer h.close()
			rec, err := h.cs.Lookup(args[0])
			if err != nil {
				return engineError{err}
			}
			if !rec.IsRunning() {
				return engineError{fmt.Errorf("container %s is not running", rec.Name)}
			}
			var envs []string
			for _, e := range env {
				if !strings.Contains(e, "=") {
					if v, ok := os.LookupEnv(e); ok {
						e += "=" + v
					}
				}
				envs = append(envs, e)
			}
			x := execSpec{args: args[1:], env: envs, workdir: workdir, user: user, stdout: os.Stdout, stderr: os.Stderr}
			if interactive || tty {
				x.stdin = os.Stdin
			}
			if detach {
				// Nothing of this terminal: the command outlives berth.
				x.stdin, x.stdout, x.stderr = nil, nil, nil
			}
			p, err := h.exec(c.Context(), rec, x)
			var se *nsinit.StartError
			if errors.As(err, &se) {
				fmt.Fprintf(c.ErrOrStderr(), "berth: %v\n", se)
				return exitCodeError{se.Code}
			}
			if err != nil {
				return err
			}
			// Its cgroup is the container's from its fork on (nsinit.Exec),
			// so that the device policy and limits apply to it and a stop
			// ends it with the rest.
			if detach {
				p.Release()
				return nil
			}
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
			defer signal.Stop(sigs)
			go func() {
				for s := range sigs {
					if !tty {
						p.Signal(s)
					}
				}
			}()
			st, err := p.Wait()
			if err != nil {
				return engineError{err}
			}
			ws := st.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				return exitCodeError{128 + int(ws.Signal())}
			}
			return exitCodeError{ws.ExitStatus()}
		},
	}
	fl := c.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(&interactive, "interactive", "i", false, "Keep STDIN open")
	fl.BoolVarP(&tty, "tty", "t", false, "Use this terminal")
	fl.BoolVarP(&detach, "detach", "d", false, "Detached mode: run command in the background")
	fl.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	fl.StringVarP(&workdir, "workdir", "w", "", "Working directory inside the container")
	fl.StringVarP(&user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	return c
}

// execSpec is what berth exec (and the API's exec) asks for: env
// entries are K=V or a bare K (unset), user and workdir "" keep the
// container's, nil files are /dev/null.
type execSpec struct {
	args, env             []string
	workdir, user         string
	stdin, stdout, stderr *os.File
	// terminal: stdin is a terminal the process takes as its controlling
	// one (the API's exec -t).
	terminal bool
}

// exec starts x in running container rec, as its PID 1's user, with its
// capabilities, seccomp filter and environment, in its unit's cgroup.
// A command that cannot be started is an *nsinit.StartError with
// Docker's code; other failures are engine errors.
func (h *host) exec(ctx context.Context, rec *machine.Container, x execSpec) (*os.Process, error) {
	if rec.State.Paused {
		// As Docker: a process started in its frozen cgroup would be
		// frozen from its first instruction.
		return nil, engineError{classed{fmt.Errorf("Container %s is paused, unpause the container before exec", rec.Name), errdefs.ErrConflict}}
	}
	spec, err := h.cs.Spec(rec.ID)
	if err != nil {
		return nil, engineError{err}
	}
	o := nsinit.ExecOptions{
		Pid: rec.State.Pid, Args: x.args, Env: append(spec.Process.Env, x.env...), Cwd: spec.Process.Cwd,
		User: spec.Process.User, NoNewPrivileges: spec.Process.NoNewPrivileges,
		Stdin: x.stdin, Stdout: x.stdout, Stderr: x.stderr, Terminal: x.terminal,
	}
	if spec.Process.Capabilities != nil {
		o.Bounding = spec.Process.Capabilities.Bounding
	}
	if spec.Linux != nil {
		if o.SeccompFilter, err = machine.ExecSeccompFilter(spec.Linux.Seccomp); err != nil {
			return nil, engineError{err}
		}
	}
	if x.workdir != "" {
		o.Cwd = x.workdir
	}
	if x.user != "" {
		root, err := os.OpenRoot(fmt.Sprintf("/proc/%d/root", rec.State.Pid))
		if err != nil {
			return nil, engineError{err}
		}
		u, err := machine.ResolveUser(root.FS(), x.user)
		root.Close()
		if err != nil {
			return nil, usageError{err}
		}
		o.User.UID, o.User.GID, o.User.AdditionalGids = u.UID, u.GID, u.AdditionalGids
	}
	p, err := nsinit.Exec(o)
	var se *nsinit.StartError
	if errors.As(err, &se) {
		return nil, err
	}
	if err != nil {
		return nil, engineError{err}
	}
	// Its cgroup is the container's from its fork on (nsinit.Exec),
	// so that the device policy and limits apply to it and a stop
	// ends it with the rest.
	return p, nil
}
