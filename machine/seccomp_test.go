package machine

import (
	"runtime"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine/seccomp"
	bpfseccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Verdicts of the compiled default profile, as the kernel would return
// them for this machine's architecture.
const (
	verdictAllow  = uint32(bpfseccomp.ActionAllow)
	verdictEPERM  = uint32(bpfseccomp.ActionErrno) | uint32(unix.EPERM)
	verdictENOSYS = uint32(bpfseccomp.ActionErrno) | uint32(unix.ENOSYS)
)

func TestDefaultSeccompProfile(t *testing.T) {
	info, err := arch.GetInfo("")
	if err != nil {
		t.Skip(err)
	}
	call := func(name string, args ...uint64) seccomp.Call {
		n, ok := info.SyscallNames[name]
		if !ok {
			t.Fatalf("no syscall %s on %s", name, runtime.GOARCH)
		}
		return seccomp.Call{Arch: uint32(info.ID), Nr: uint32(n), Args: args}
	}
	defaultCaps := DefaultCapabilities
	withAdmin := capabilities([]string{"SYS_ADMIN"}, nil)
	tests := []struct {
		name string
		caps []string
		call seccomp.Call
		want uint32
	}{
		{"read", defaultCaps, call("read", 0), verdictAllow},
		{"write", defaultCaps, call("write", 1), verdictAllow},
		{"execve", defaultCaps, call("execve"), verdictAllow},
		{"clone of a thread", defaultCaps, call("clone", unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|unix.CLONE_THREAD), verdictAllow},
		{"socket AF_INET", defaultCaps, call("socket", unix.AF_INET), verdictAllow},
		{"socket AF_INET6", defaultCaps, call("socket", unix.AF_INET6), verdictAllow},
		{"socket AF_NETLINK", defaultCaps, call("socket", unix.AF_NETLINK), verdictAllow},
		{"socket AF_PACKET", defaultCaps, call("socket", unix.AF_PACKET), verdictAllow},
		{"socket AF_UNIX", defaultCaps, call("socket", unix.AF_UNIX), verdictAllow},
		{"socket AF_ALG", defaultCaps, call("socket", unix.AF_ALG), verdictEPERM},
		{"personality PER_LINUX", defaultCaps, call("personality", 0), verdictAllow},
		{"keyctl", defaultCaps, call("keyctl"), verdictEPERM},
		{"add_key", defaultCaps, call("add_key"), verdictEPERM},
		{"request_key", defaultCaps, call("request_key"), verdictEPERM},
		{"mount", defaultCaps, call("mount"), verdictEPERM},
		{"umount2", defaultCaps, call("umount2"), verdictEPERM},
		{"unshare CLONE_NEWUSER", defaultCaps, call("unshare", unix.CLONE_NEWUSER), verdictEPERM},
		{"clone CLONE_NEWUSER", defaultCaps, call("clone", unix.CLONE_NEWUSER), verdictEPERM},
		{"clone CLONE_NEWNS", defaultCaps, call("clone", unix.CLONE_NEWNS), verdictEPERM},
		{"clone3", defaultCaps, call("clone3"), verdictENOSYS},
		{"reboot", defaultCaps, call("reboot"), verdictEPERM},
		{"init_module", defaultCaps, call("init_module"), verdictEPERM},
		{"finit_module", defaultCaps, call("finit_module"), verdictEPERM},
		{"kexec_load", defaultCaps, call("kexec_load"), verdictEPERM},
		{"bpf", defaultCaps, call("bpf"), verdictEPERM},
		{"perf_event_open", defaultCaps, call("perf_event_open"), verdictEPERM},
		{"open_by_handle_at", defaultCaps, call("open_by_handle_at"), verdictEPERM},
		{"setns", defaultCaps, call("setns"), verdictEPERM},
		{"pivot_root", defaultCaps, call("pivot_root"), verdictEPERM},
		{"swapon", defaultCaps, call("swapon"), verdictEPERM},
		{"socket AF_VSOCK", defaultCaps, call("socket", unix.AF_VSOCK), verdictEPERM},
		{"personality 0x1234", defaultCaps, call("personality", 0x1234), verdictEPERM},
		// CAP_SYS_ADMIN brings Docker's rules for it.
		{"mount with SYS_ADMIN", withAdmin, call("mount"), verdictAllow},
		{"unshare with SYS_ADMIN", withAdmin, call("unshare", unix.CLONE_NEWUSER), verdictAllow},
		{"keyctl with SYS_ADMIN", withAdmin, call("keyctl"), verdictEPERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := SeccompProfile(SeccompDefault, tt.caps)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := seccomp.Compile(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := seccomp.Evaluate(prog, tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %#x, want %#x", got, tt.want)
			}
		})
	}
}

func TestSeccompOptions(t *testing.T) {
	custom := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`
	tests := []struct {
		name     string
		o        RunOptions
		rules    int // -1: no profile
		nnp      bool
		errMatch string
	}{
		{"default", RunOptions{}, 1, true, ""},
		{"unconfined", RunOptions{Seccomp: SeccompUnconfined}, -1, true, ""},
		{"custom", RunOptions{Seccomp: custom}, 1, true, ""},
		{"no-new-privileges=false", RunOptions{NewPrivileges: true}, 1, false, ""},
		{"not JSON", RunOptions{Seccomp: "{nope"}, 0, false, "seccomp profile"},
		{"uncompilable", RunOptions{Seccomp: `{"defaultAction":"SCMP_ACT_NOTIFY"}`}, 0, false, "seccomp agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Image, o.Cmd = "busybox", []string{"true"}
			s, err := BuildSpec(ocispec.ImageConfig{}, o, testID, nil)
			if tt.errMatch != "" {
				if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("got %v, want ErrInvalid with %q", err, tt.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Process.NoNewPrivileges != tt.nnp {
				t.Errorf("no_new_privs %v, want %v", s.Process.NoNewPrivileges, tt.nnp)
			}
			if tt.rules < 0 {
				if s.Linux.Seccomp != nil {
					t.Errorf("seccomp %+v, want none", s.Linux.Seccomp)
				}
				return
			}
			if s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) < tt.rules {
				t.Fatalf("seccomp %+v, want a profile", s.Linux.Seccomp)
			}
		})
	}
}

// TestDefaultSeccompProfileCompiles: the default profile compiles with
// any bounding set (BuildSpec does not compile it to check, the start
// does): none, the default, each capability added alone, all.
func TestDefaultSeccompProfileCompiles(t *testing.T) {
	sets := map[string][]string{"none": {}, "default": DefaultCapabilities, "all": AllCapabilities}
	for _, c := range AllCapabilities {
		sets["+"+c] = capabilities([]string{strings.TrimPrefix(c, "CAP_")}, nil)
	}
	for name, caps := range sets {
		p, err := SeccompProfile(SeccompDefault, caps)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := SeccompFilter(p); err != nil {
			t.Errorf("default profile with %s capabilities: %v", name, err)
		}
	}
}

// The container's init installs the filter before its wait for the
// go-ahead only when the filter allows what that wait does.
func TestSeccompEarly(t *testing.T) {
	for _, tc := range []struct {
		name, profile string
		want          bool
	}{
		{"Docker's default", SeccompDefault, true},
		{"allow all but futex", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["futex"],"action":"SCMP_ACT_ERRNO"}]}`, false},
		{"allow all but tgkill", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["tgkill","mkdir"],"action":"SCMP_ACT_ERRNO"}]}`, false},
		{"allow all but read", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_KILL"}]}`, false},
		{"execve only", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execve"],"action":"SCMP_ACT_ALLOW"}]}`, false},
		{"allow all but mount", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"}]}`, true},
		// Rules on arguments: the verdict with zero arguments says
		// nothing of the child's read(4, …) or of the runtime's futex ops.
		{"read of fd 3 and up denied", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":3,"op":"SCMP_CMP_GE"}]}]}`, false},
		{"one futex op killed", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["futex"],"action":"SCMP_ACT_KILL","args":[{"index":1,"value":128,"op":"SCMP_CMP_EQ"}]}]}`, false},
		{"read allowed on fd 0 only", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["close","execve","exit","exit_group","write","futex","rt_sigreturn","rt_sigprocmask","sigaltstack","tgkill","getpid","gettid","sched_yield","nanosleep","clock_gettime","mmap","munmap","madvise"],"action":"SCMP_ACT_ALLOW"},{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]}`, false},
		// Rules on the arguments of other calls do not matter.
		{"socket by family", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":38,"op":"SCMP_CMP_EQ"}]}]}`, true},
	} {
		p, err := SeccompProfile(tc.profile, DefaultCapabilities)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		prog, err := SeccompFilter(p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := SeccompEarly(prog); got != tc.want {
			t.Errorf("%s: SeccompEarly = %v, want %v", tc.name, got, tc.want)
		}
	}
	if SeccompEarly(nil) {
		t.Error("SeccompEarly(no filter) = true")
	}
}
