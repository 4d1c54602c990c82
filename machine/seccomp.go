package machine

import (
	"strings"

	"github.com/berth/berth/machine/seccomp"
	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
)

// Seccomp profile choices for RunOptions.Seccomp other than a profile's
// JSON text.
const (
	// SeccompDefault (the empty string) is Docker's default profile.
	SeccompDefault = ""
	// SeccompUnconfined is --security-opt seccomp=unconfined: no filter.
	SeccompUnconfined = "unconfined"
)

// SeccompProfile is the container's seccomp profile in the runtime spec's
// form: Docker's default profile (from github.com/moby/profiles/seccomp,
// so it stays Docker's, rule for rule) for SeccompDefault, nil for
// SeccompUnconfined, else choice is a profile in Docker's JSON format.
// Either way Docker's rule filters apply: rules that need a capability
// are kept only when caps (the bounding set) has it, and rules for other
// architectures or newer kernels are dropped. It reads the running
// kernel's version and nothing else.
func SeccompProfile(choice string, caps []string) (*specs.LinuxSeccomp, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	switch strings.TrimSpace(choice) {
	case SeccompUnconfined:
		return nil, nil
	case SeccompDefault:
		p, err := mobyseccomp.GetDefaultProfile(rs)
		if err != nil {
			return nil, invalidf("seccomp: default profile: %v", err)
		}
		return p, nil
	}
	p, err := mobyseccomp.LoadProfile(choice, rs)
	if err != nil {
		return nil, invalidf("seccomp profile: %v", err)
	}
	if p == nil {
		return nil, invalidf("seccomp profile: no defaultAction and no syscalls (use seccomp=unconfined for none)")
	}
	return p, nil
}

// SeccompFilter compiles a container's profile (its spec's
// Linux.Seccomp) to the BPF program its init installs; nil for none.
func SeccompFilter(p *specs.LinuxSeccomp) ([]bpf.RawInstruction, error) {
	if p == nil {
		return nil, nil
	}
	prog, err := seccomp.Compile(p)
	if err != nil {
		return nil, err
	}
	return seccomp.Raw(prog)
}

// ExecSeccompFilter is SeccompFilter for a process `berth exec` starts
// in a running container: chroot is allowed in front of the profile's
// rules, for the setup that runs under the filter before the command
// (see nsinit.ExecOptions); nil for none.
func ExecSeccompFilter(p *specs.LinuxSeccomp) ([]bpf.RawInstruction, error) {
	if p == nil {
		return nil, nil
	}
	withChroot := *p
	withChroot.Syscalls = append([]specs.LinuxSyscall{{Names: []string{"chroot"}, Action: specs.ActAllow}}, p.Syscalls...)
	return SeccompFilter(&withChroot)
}

// initSyscalls are the system calls the container's init thread may
// make between installing the seccomp filter early (SeccompEarly) and
// its execve: the wait for the go-ahead (read, close), Go's runtime on
// that thread (futex, signals, the scheduler, memory), and a failure's
// message and exit.
var initSyscalls = []string{"read", "close", "execve", "exit", "exit_group", "write",
	"futex", "rt_sigreturn", "rt_sigprocmask", "sigaltstack", "tgkill", "getpid", "gettid",
	"sched_yield", "nanosleep", "clock_gettime", "mmap", "munmap", "madvise"}

// SeccompEarly reports whether a container's init may install prog, its
// compiled filter (SeccompFilter), before it waits for the go-ahead to
// exec rather than after it: whether prog allows every call that wait
// may make (initSyscalls), whatever their arguments (seccomp.AllowsNative:
// a rule on an argument of one of them keeps the late install). The kernel takes about 0.8 ms to install
// Docker's default filter (it translates and JIT-compiles some 1,800
// instructions); installed early, that runs while __init hands the
// container to systemd and machined, not after. Docker's default
// profile allows them all; a profile that denies one is installed as
// late as before, right before execve (runc's order).
func SeccompEarly(prog []bpf.RawInstruction) bool {
	return len(prog) > 0 && seccomp.AllowsNative(prog, initSyscalls)
}
