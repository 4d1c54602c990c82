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
