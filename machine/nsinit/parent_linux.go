package nsinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/berth/berth/machine/journal"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// StartError is a container that could not start, with Docker's exit
// code for it (ExitSetup, ExitCannotExec, ExitNotFound).
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// Process is a set-up container's PID 1, waiting for Resume before it
// execs the command.
type Process struct {
	// Pid is its PID in the caller's PID namespace.
	Pid int
	// LogStreams are journald's ends of its stdout and stderr (see
	// journal.StreamPeer); empty without journald.
	LogStreams []uint64
	resume     *os.File
}

// Resume lets the process exec the command. The caller hands the PID to
// systemd first (see the package doc).
func (p *Process) Resume() error {
	_, err := p.resume.Write([]byte{1})
	p.resume.Close()
	if err != nil {
		return fmt.Errorf("resume container process %d: %w", p.Pid, err)
	}
	return nil
}

// Cloneflags are the namespaces every container gets.
const Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// parentFlags make the child the caller's parent's child (CLONE_PARENT),
// not the caller's: systemd's, when __init (the unit's ExecStart) starts
// it. systemd then supervises its own child once MAINPID= names it,
// rather than an "alien" process it learns of by PID, and hears of its
// exit from SIGCHLD at once (about 2 ms sooner than through the
// cgroup). Start never waits for the child: a failed one is killed and
// left to systemd to reap.
const parentFlags = unix.CLONE_PARENT

// Start runs the program exe with argv (berth-nsinit or berth itself,
// as Helper chooses, either of which calls Child) in new namespaces, sends it cfg and waits for its report.
// It returns the child once it is set up and waiting for
// Process.Resume; the child is not waited for: it is the container's
// PID 1, and the caller hands it to systemd. It is the caller's
// parent's child (parentFlags): a child that fails is killed, left to
// that parent to reap, and its failure returned as a *StartError.
func Start(cfg *Config, exe string, argv []string) (*Process, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &StartError{ExitSetup, fmt.Sprintf("init: socketpair: %v", err)}
	}
	parent := os.NewFile(uintptr(fds[0]), "init-parent")
	child := os.NewFile(uintptr(fds[1]), "init-child")
	defer parent.Close()
	// The child execs when it reads from this pipe (Process.Resume).
	wait, resume, err := os.Pipe()
	if err != nil {
		return nil, &StartError{ExitSetup, fmt.Sprintf("init: pipe: %v", err)}
	}
	defer wait.Close()
	ok := false
	defer func() {
		if !ok {
			resume.Close()
		}
	}()
	files := []*os.File{child, wait} // fds 3 and 4
	var streams []*os.File
	if cfg.Console == nil {
		streams = openStreams(cfg)
	}
	if streams != nil {
		files = append(files, streams...) // fds 5 and 6
		defer streams[0].Close()
		defer streams[1].Close()
	}
	cfg.Streams = streams != nil

	flags := uintptr(Cloneflags | parentFlags)
	if cfg.HostNetwork || cfg.NetNS != "" {
		flags &^= unix.CLONE_NEWNET
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        argv,
		Env:         []string{},
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  files,
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: flags},
	}
	userns := userNamespace(cfg, cmd.SysProcAttr) // userns_linux.go
	// Written here, not by the child: the root of a user namespace
	// cannot create files in the state directory.
	if err := writeEtcFiles(cfg); err != nil {
		return nil, &StartError{ExitSetup, err.Error()}
	}
	if cfg.Stdin != nil {
		cmd.Stdin = cfg.Stdin
	}
	if cfg.Console != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = cfg.Console, cfg.Console, cfg.Console
		// A session of its own, with the terminal (its fd 0) as the
		// controlling one: Ctrl-C, SIGWINCH and hangups reach it.
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	}
	start := cmd.Start
	if userns {
		// The child execs its binary as the namespace's root, a host id
		// that may not reach the binary's directory (a 0700 /root, say):
		// it execs it through a descriptor opened here instead, which
		// needs no path (the child marks it close-on-exec at once).
		start = func() error {
			f, err := os.Open(exe)
			if err != nil {
				return err
			}
			defer f.Close()
			cmd.ExtraFiles = append(cmd.ExtraFiles, f)
			cmd.Path = "/proc/self/fd/" + strconv.Itoa(2+len(cmd.ExtraFiles))
			return cmd.Start()
		}
	}
	// The child runs from a read-only mount of its binary (see
	// selfprotect_linux.go), unless the binary is read-only already.
	if readOnly(exe) {
		err = start()
	} else {
		err = onReadOnlyExe(exe, start)
	}
	child.Close()
	if err != nil {
		return nil, &StartError{ExitSetup, fmt.Sprintf("init: start container process: %v", err)}
	}
	mfd := -1
	if userns {
		if mfd, err = idmappedRootfs(cfg, cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			return nil, &StartError{ExitSetup, err.Error()}
		}
		defer unix.Close(mfd)
	}
	if err := sendRootfs(parent, mfd); err != nil {
		cmd.Process.Kill()
		return nil, &StartError{ExitSetup, fmt.Sprintf("init: send rootfs: %v", err)}
	}
	cfg.Protocol = Protocol
	if err := json.NewEncoder(parent).Encode(forChild(cfg)); err != nil {
		cmd.Process.Kill()
		return nil, &StartError{ExitSetup, fmt.Sprintf("init: send config: %v", err)}
	}
	var res Result
	if err := json.NewDecoder(parent).Decode(&res); err != nil {
		cmd.Process.Kill()
		if errors.Is(err, io.EOF) {
			return nil, &StartError{ExitSetup, "init: container process died during setup (see the unit's journal)"}
		}
		return nil, &StartError{ExitSetup, fmt.Sprintf("init: read report: %v", err)}
	}
	if !res.OK {
		return nil, &StartError{res.Code, res.Error}
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	ok = true
	return &Process{Pid: pid, LogStreams: streamPeers(streams), resume: resume}, nil
}

// openStreams connects the container's stdout and stderr to journald,
// with Docker's priorities (info for stdout, err for stderr) so that
// readers can tell them apart, and returns them at once (streamPeers
// finds journald's ends later). The parent connects them, not the child:
// journald's end of a connection lives in the network namespace of the
// process that connected, and the cleanup that waits for it to close
// runs in the host's. Without journald the container keeps the unit's
// own output (nil).
func openStreams(cfg *Config) []*os.File {
	var files []*os.File
	for _, prio := range []int{6, 3} {
		f, err := journal.OpenStream(cfg.LogIdentifier, cfg.Unit, prio)
		if err != nil {
			fmt.Fprintf(os.Stderr, "berth: warning: container output not separated by stream: %v\n", err)
			for _, f := range files {
				f.Close()
			}
			return nil
		}
		files = append(files, f)
	}
	return files
}

// streamPeers are journald's ends of streams, once it has accepted them:
// asked for after the child's setup, by when journald has long done so
// (it reads the connecting process's credentials and /proc entries
// first, a millisecond or two that need not wait). Without them the
// cleanup does not wait for the streams to drain (a warning says so).
func streamPeers(streams []*os.File) []uint64 {
	var peers []uint64
	for _, f := range streams {
		ino, err := journal.StreamPeer(f, 2*time.Second)
		if err != nil {
			fmt.Fprintf(os.Stderr, "berth: warning: %v\n", err)
			return nil
		}
		peers = append(peers, ino)
	}
	return peers
}

// forChild is cfg as the child needs it: the spec's seccomp profile
// (Docker's default has some 400 rules) is left out, since the child
// installs the filter the parent compiled; a stub with the profile's
// default action stays, so that the child still refuses a profile
// without its filter.
func forChild(cfg *Config) *Config {
	if cfg.Spec == nil || cfg.Spec.Linux == nil || cfg.Spec.Linux.Seccomp == nil {
		return cfg
	}
	spec, linux := *cfg.Spec, *cfg.Spec.Linux
	linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: linux.Seccomp.DefaultAction}
	spec.Linux = &linux
	c := *cfg
	c.Spec = &spec
	return &c
}
