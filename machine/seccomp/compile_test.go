package seccomp

import (
	"runtime"
	"strings"
	"testing"

	bpfseccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
)

// run runs prog on c and returns the seccomp return value.
func run(t *testing.T, prog []bpf.Instruction, c Call) uint32 {
	t.Helper()
	out, err := Evaluate(prog, c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func nr(t *testing.T, info *arch.Info, name string) uint32 {
	t.Helper()
	n, ok := info.SyscallNames[name]
	if !ok {
		t.Fatalf("%s has no syscall %s", info.Name, name)
	}
	return uint32(n | info.SeccompMask)
}

func errnoRet(n uint) *uint { return &n }

const (
	allow = uint32(bpfseccomp.ActionAllow)
	eperm = uint32(bpfseccomp.ActionErrno) | 1
	kill  = uint32(bpfseccomp.ActionKillProcess)
)

func TestCompileSemantics(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the cases use x86_64, x32 and i386 numbers")
	}
	x64, x32, i386 := arch.X86_64, arch.X32, arch.I386
	id := func(i *arch.Info) uint32 { return uint32(i.ID) }
	profile := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: errnoRet(1),
		Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "no_such_call"}, Action: specs.ActAllow},
			// Two comparisons of one argument: alternatives.
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0, Op: specs.OpEqualTo}, {Index: 0, Value: 8, Op: specs.OpEqualTo}}},
			// Comparisons of two arguments: both must hold.
			{Names: []string{"kill"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpGreaterThan}, {Index: 1, Value: 9, Op: specs.OpNotEqual}}},
			// Docker's clone rule: no namespace flags.
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0x7E020000, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: errnoRet(38)},
			{Names: []string{"getpid"}, Action: specs.ActKillProcess},
			// A 64-bit comparison: the high half counts.
			{Names: []string{"lseek"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 1, Value: 1 << 40, Op: specs.OpLessThan}}},
		},
	}
	prog, err := Compile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Raw(prog); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call Call
		want uint32
	}{
		{"read", Call{id(x64), nr(t, x64, "read"), nil}, allow},
		{"write", Call{id(x64), nr(t, x64, "write"), nil}, allow},
		{"open is not listed", Call{id(x64), nr(t, x64, "open"), nil}, eperm},
		{"personality 0", Call{id(x64), nr(t, x64, "personality"), []uint64{0}}, allow},
		{"personality 8", Call{id(x64), nr(t, x64, "personality"), []uint64{8}}, allow},
		{"personality 4", Call{id(x64), nr(t, x64, "personality"), []uint64{4}}, eperm},
		{"kill 2, 15", Call{id(x64), nr(t, x64, "kill"), []uint64{2, 15}}, allow},
		{"kill 2, 9", Call{id(x64), nr(t, x64, "kill"), []uint64{2, 9}}, eperm},
		{"kill 1, 15", Call{id(x64), nr(t, x64, "kill"), []uint64{1, 15}}, eperm},
		{"clone of a thread", Call{id(x64), nr(t, x64, "clone"), []uint64{0x3d0f00}}, allow},
		{"clone NEWUSER", Call{id(x64), nr(t, x64, "clone"), []uint64{0x10000000}}, eperm},
		{"clone NEWNS", Call{id(x64), nr(t, x64, "clone"), []uint64{0x00020000}}, eperm},
		{"clone3 ENOSYS", Call{id(x64), nr(t, x64, "clone3"), nil}, uint32(bpfseccomp.ActionErrno) | 38},
		{"getpid killed", Call{id(x64), nr(t, x64, "getpid"), nil}, kill},
		{"lseek small", Call{id(x64), nr(t, x64, "lseek"), []uint64{3, 1 << 39}}, allow},
		{"lseek high half", Call{id(x64), nr(t, x64, "lseek"), []uint64{3, 1<<40 + 1}}, eperm},
		{"i386 read", Call{id(i386), nr(t, i386, "read"), nil}, allow},
		{"i386 open", Call{id(i386), nr(t, i386, "open"), nil}, eperm},
		{"x32 read", Call{id(x32), nr(t, x32, "read"), nil}, allow},
		{"x32 open", Call{id(x32), nr(t, x32, "open"), nil}, eperm},
		{"unknown architecture", Call{uint32(arch.AARCH64.ID), 63, nil}, kill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(t, prog, tt.call); got != tt.want {
				t.Errorf("got %#x, want %#x", got, tt.want)
			}
		})
	}

	// Without x32 in the profile, an x32 call is a bad architecture.
	noX32 := *profile
	noX32.Architectures = []specs.Arch{specs.ArchX86_64}
	prog, err = Compile(&noX32)
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, prog, Call{id(x32), nr(t, x32, "read"), nil}); got != kill {
		t.Errorf("x32 read without x32 in the profile: got %#x, want kill", got)
	}
	if got := run(t, prog, Call{id(i386), nr(t, i386, "read"), nil}); got != kill {
		t.Errorf("i386 read without x86 in the profile: got %#x, want kill", got)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		profile *specs.LinuxSeccomp
		want    string
	}{
		{"nil", nil, "no profile"},
		{"bad default", &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}, "unknown action"},
		{"notify", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActNotify}}}, "seccomp agent"},
		{"masked equal", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xff, ValueTwo: 3, Op: specs.OpMaskedEqual}}}}}, "only (arg & mask) == 0"},
		{"index", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "out of range"},
		{"foreign only", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchS390X}}, "do not include"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.profile)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile: got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestLoadNr(t *testing.T) {
	p := bpfseccomp.NewProgram()
	loadNr(&p)
	p.Ret(bpfseccomp.ActionAllow)
	prog, err := p.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if want := (bpf.LoadAbsolute{Off: 0, Size: 4}); prog[0] != want {
		t.Errorf("loadNr = %#v, want %#v", prog[0], want)
	}
}

// TestCompileRulesAfterConditions: a rule after one that compared
// arguments, and a name after a conditional one in the same rule, still
// compare the syscall number (argument loads overwrite it), also after
// a rule long enough to need the assembler's long jumps.
func TestCompileRulesAfterConditions(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the cases use x86_64 numbers")
	}
	x64 := arch.X86_64
	for _, bulk := range []int{0, 300} {
		var names []string
		for name := range x64.SyscallNames {
			if len(names) < bulk && name != "socket" && name != "kill" && name != "tkill" && name != "getpid" {
				names = append(names, name)
			}
		}
		p := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64}}
		if bulk > 0 {
			p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: names, Action: specs.ActAllow})
		}
		p.Syscalls = append(p.Syscalls,
			specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 3, Op: specs.OpLessThan}}},
			specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 10, Op: specs.OpEqualTo}}},
			specs.LinuxSyscall{Names: []string{"kill", "tkill"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 15, Op: specs.OpEqualTo}}},
			specs.LinuxSyscall{Names: []string{"getpid"}, Action: specs.ActAllow},
		)
		prog, err := Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		id := uint32(x64.ID)
		for _, tc := range []struct {
			name string
			call Call
			want uint32
		}{
			{"socket 2", Call{id, nr(t, x64, "socket"), []uint64{2}}, allow},
			{"socket 10", Call{id, nr(t, x64, "socket"), []uint64{10}}, allow},
			{"socket 11", Call{id, nr(t, x64, "socket"), []uint64{11}}, eperm},
			// arg0 41 equals socket's number: a stale A would match.
			{"socket 41", Call{id, nr(t, x64, "socket"), []uint64{41}}, eperm},
			{"kill 15", Call{id, nr(t, x64, "kill"), []uint64{1, 15}}, allow},
			{"tkill 15", Call{id, nr(t, x64, "tkill"), []uint64{1, 15}}, allow},
			{"tkill 9", Call{id, nr(t, x64, "tkill"), []uint64{1, 9}}, eperm},
			{"getpid", Call{id, nr(t, x64, "getpid"), nil}, allow},
		} {
			if got := run(t, prog, tc.call); got != tc.want {
				t.Errorf("bulk %d, %s: got %#x, want %#x", bulk, tc.name, got, tc.want)
			}
		}
	}
}
