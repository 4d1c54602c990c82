package seccomp

import (
	"fmt"
	"runtime"
	"slices"

	bpfseccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
)

// Offsets in struct seccomp_data (linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
	// x32Bit marks x32 system call numbers on x86_64 (__X32_SYSCALL_BIT).
	x32Bit = 0x40000000
	// MaxInstructions is the kernel's limit on a filter (BPF_MAXINSNS).
	MaxInstructions = 4096
)

// errno values used as defaults, as runc's.
const (
	errnoEPERM = 1
)

// archInfo maps the spec's architecture names to the library's tables.
var archInfo = map[specs.Arch]*arch.Info{
	specs.ArchX86_64:  arch.X86_64,
	specs.ArchX86:     arch.I386,
	specs.ArchX32:     arch.X32,
	specs.ArchAARCH64: arch.AARCH64,
	specs.ArchARM:     arch.ARM,
}

// nativeArch is the spec's name of the architecture berth runs on.
func nativeArch() (specs.Arch, error) {
	switch runtime.GOARCH {
	case "amd64":
		return specs.ArchX86_64, nil
	case "386":
		return specs.ArchX86, nil
	case "arm64":
		return specs.ArchAARCH64, nil
	case "arm":
		return specs.ArchARM, nil
	}
	return "", fmt.Errorf("seccomp: no syscall table for %s", runtime.GOARCH)
}

// Compile builds the BPF program of profile s. It is pure. The program
// dispatches on seccomp_data.arch to one section per architecture of the
// profile (only the native one when the profile lists none), and each
// section tries the rules in order (see the package comment for the
// semantics). Errors name the rule or the architecture that cannot be
// compiled.
func Compile(s *specs.LinuxSeccomp) ([]bpf.Instruction, error) {
	if s == nil {
		return nil, fmt.Errorf("seccomp: no profile")
	}
	native, err := nativeArch()
	if err != nil {
		return nil, err
	}
	arches := s.Architectures
	if len(arches) == 0 {
		arches = []specs.Arch{native}
	}
	defAct, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp: default action: %w", err)
	}
	// Sections by audit architecture; x86_64 and x32 share one, told
	// apart by the x32 bit of the syscall number.
	type section struct {
		id          uint32
		main, other []bpf.Instruction // other: x32 under x86_64
		hasSplit    bool
	}
	var sections []*section
	find := func(id uint32) *section {
		for _, sec := range sections {
			if sec.id == id {
				return sec
			}
		}
		sec := &section{id: id}
		sections = append(sections, sec)
		return sec
	}
	nativeSeen := false
	for _, a := range arches {
		info, ok := archInfo[a]
		if !ok {
			if a == native {
				return nil, fmt.Errorf("seccomp: no syscall table for %s", a)
			}
			continue // a foreign architecture without a table: bad arch, killed
		}
		nativeSeen = nativeSeen || a == native
		prog, err := archProgram(s.Syscalls, info, defAct)
		if err != nil {
			return nil, fmt.Errorf("seccomp: %s: %w", a, err)
		}
		sec := find(uint32(info.ID))
		switch a {
		case specs.ArchX32:
			sec.other = prog
			sec.hasSplit = true
		case specs.ArchX86_64:
			sec.main = prog
			sec.hasSplit = true
		default:
			sec.main = prog
		}
	}
	if !nativeSeen {
		return nil, fmt.Errorf("seccomp: the profile's architectures %v do not include %s", arches, native)
	}
	kill := bpf.RetConstant{Val: uint32(bpfseccomp.ActionKillProcess)}
	// Bodies first, so that the dispatch knows how far to jump.
	var bodies [][]bpf.Instruction
	for _, sec := range sections {
		body := []bpf.Instruction{bpf.LoadAbsolute{Off: offNr, Size: 4}}
		if sec.hasSplit {
			main := sec.main
			if main == nil {
				main = []bpf.Instruction{kill}
			}
			other := sec.other
			if other == nil {
				other = []bpf.Instruction{kill}
			}
			body = append(body,
				bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32Bit, SkipTrue: 0, SkipFalse: 1},
				bpf.Jump{Skip: uint32(len(main))})
			body = append(body, main...)
			body = append(body, other...)
		} else {
			body = append(body, sec.main...)
		}
		bodies = append(bodies, body)
	}
	// Dispatch: load arch; per section "jeq id ? next : skip 1; ja body".
	out := []bpf.Instruction{bpf.LoadAbsolute{Off: offArch, Size: 4}}
	dispatchLen := 1 + 2*len(sections) + 1
	start := dispatchLen // where the first body begins
	for i, sec := range sections {
		at := len(out) + 1 // index of the ja
		out = append(out,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: sec.id, SkipTrue: 0, SkipFalse: 1},
			bpf.Jump{Skip: uint32(start - at - 1)})
		start += len(bodies[i])
	}
	out = append(out, kill)
	for _, b := range bodies {
		out = append(out, b...)
	}
	if len(out) > MaxInstructions {
		return nil, fmt.Errorf("seccomp: the program has %d instructions, more than the kernel's %d", len(out), MaxInstructions)
	}
	return out, nil
}

// archProgram is one architecture's rules, ending in the default action.
// It expects the syscall number already loaded.
func archProgram(rules []specs.LinuxSyscall, info *arch.Info, defAct bpfseccomp.Action) ([]bpf.Instruction, error) {
	p := bpfseccomp.NewProgram()
	loaded := false
	for i, r := range rules {
		act, err := action(r.Action, r.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("rule %d (%v): %w", i, r.Names, err)
		}
		conds, err := conditions(r.Args)
		if err != nil {
			return nil, fmt.Errorf("rule %d (%v): %w", i, r.Names, err)
		}
		var calls []bpfseccomp.SyscallWithConditions
		var seen []uint32
		for _, name := range r.Names {
			num, ok := info.SyscallNames[name]
			if !ok {
				continue // unknown here, as libseccomp skips it
			}
			nr := uint32(num | info.SeccompMask)
			if slices.Contains(seen, nr) {
				continue
			}
			seen = append(seen, nr)
			calls = append(calls, bpfseccomp.SyscallWithConditions{Num: nr, Conditions: conds})
		}
		if len(calls) == 0 {
			continue
		}
		// The syscall number is in A at the start of the first rule;
		// argument checks overwrite it, so every later rule, and every
		// syscall after one with conditions, loads it again. (The
		// library's own SyscallGroup does not, and compares the next
		// syscall number with an argument.)
		if loaded {
			loadNr(&p)
		}
		loaded = true
		matched, next := p.NewLabel(), p.NewLabel()
		for j, c := range calls {
			if j == len(calls)-1 {
				c.Assemble(&p, false, matched, next)
				break
			}
			after := p.NewLabel()
			c.Assemble(&p, false, matched, after)
			p.SetLabel(after)
			if len(c.Conditions) > 0 {
				loadNr(&p)
			}
		}
		p.SetLabel(matched)
		p.Ret(act)
		p.SetLabel(next)
	}
	p.Ret(defAct)
	return p.Assemble()
}

// loadNr appends "ld [0]" (seccomp_data.nr) to p. The library's
// Program has no method for it, only loads of argument halves at
// 16 + 8·arg (+4 for the high half on little-endian machines); its
// offsets are uint32, so the argument index 2^32-2 wraps to offset 0.
// TestLoadNr checks the instruction.
func loadNr(p *bpfseccomp.Program) {
	const wrap = ^uint32(0) - 1 // 16 + 8·wrap ≡ 0 (mod 2^32)
	if littleEndian() {
		p.LdLo(wrap)
	} else {
		p.LdHi(wrap)
	}
}

// action is the seccomp return value of a spec action; errno is used by
// SCMP_ACT_ERRNO and SCMP_ACT_TRACE (EPERM when nil, as runc).
func action(a specs.LinuxSeccompAction, errno *uint) (bpfseccomp.Action, error) {
	data := bpfseccomp.Action(errnoEPERM)
	if errno != nil {
		if *errno > 0xffff {
			return 0, fmt.Errorf("errno %d out of range", *errno)
		}
		data = bpfseccomp.Action(*errno)
	}
	switch a {
	case specs.ActAllow:
		return bpfseccomp.ActionAllow, nil
	case specs.ActErrno:
		return bpfseccomp.ActionErrno | data, nil
	case specs.ActTrace:
		return bpfseccomp.ActionTrace | data, nil
	case specs.ActKill, specs.ActKillThread:
		return bpfseccomp.ActionKillThread, nil
	case specs.ActKillProcess:
		return bpfseccomp.ActionKillProcess, nil
	case specs.ActTrap:
		return bpfseccomp.ActionTrap, nil
	case specs.ActLog:
		return bpfseccomp.ActionLog, nil
	case specs.ActNotify:
		return 0, fmt.Errorf("%s needs a seccomp agent, which berth does not have", a)
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

// conditions turns a rule's argument comparisons into the library's
// alternatives: one set (all must hold) when each argument is compared
// once, else one set per comparison (any may hold), as runc does.
func conditions(args []specs.LinuxSeccompArg) ([]bpfseccomp.ArgumentConditions, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var all bpfseccomp.ArgumentConditions
	sameArg := false
	seen := map[uint]bool{}
	for _, a := range args {
		if a.Index > 5 {
			return nil, fmt.Errorf("argument index %d out of range", a.Index)
		}
		if seen[a.Index] {
			sameArg = true
		}
		seen[a.Index] = true
		c, err := condition(a)
		if err != nil {
			return nil, err
		}
		all = append(all, c)
	}
	if !sameArg {
		return []bpfseccomp.ArgumentConditions{all}, nil
	}
	out := make([]bpfseccomp.ArgumentConditions, len(all))
	for i, c := range all {
		out[i] = bpfseccomp.ArgumentConditions{c}
	}
	return out, nil
}

func condition(a specs.LinuxSeccompArg) (bpfseccomp.Condition, error) {
	c := bpfseccomp.Condition{Argument: uint32(a.Index), Value: a.Value}
	switch a.Op {
	case specs.OpEqualTo:
		c.Operation = bpfseccomp.Equal
	case specs.OpNotEqual:
		c.Operation = bpfseccomp.NotEqual
	case specs.OpLessThan:
		c.Operation = bpfseccomp.LessThan
	case specs.OpLessEqual:
		c.Operation = bpfseccomp.LessOrEqual
	case specs.OpGreaterThan:
		c.Operation = bpfseccomp.GreaterThan
	case specs.OpGreaterEqual:
		c.Operation = bpfseccomp.GreaterOrEqual
	case specs.OpMaskedEqual:
		switch {
		case a.ValueTwo == 0:
			c.Operation = bpfseccomp.BitsNotSet
		case a.ValueTwo == a.Value && a.Value&(a.Value-1) == 0:
			c.Operation = bpfseccomp.BitsSet
		default:
			return c, fmt.Errorf("%s with mask %#x and value %#x: only (arg & mask) == 0 or a single bit can be compiled", a.Op, a.Value, a.ValueTwo)
		}
	default:
		return c, fmt.Errorf("unknown operator %q", a.Op)
	}
	return c, nil
}

// Raw assembles the program into the instructions the kernel takes.
func Raw(prog []bpf.Instruction) ([]bpf.RawInstruction, error) {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("seccomp: assemble: %w", err)
	}
	return raw, nil
}

// littleEndian reports the byte order of seccomp_data's 64-bit
// arguments on this machine.
func littleEndian() bool {
	switch runtime.GOARCH {
	case "amd64", "386", "arm64", "arm", "riscv64", "loong64", "ppc64le", "mipsle", "mips64le":
		return true
	}
	return false
}
