package seccomp

import (
	"encoding/binary"
	"fmt"

	bpfseccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
)

// Call is one synthetic system call.
type Call struct {
	Arch uint32 // audit architecture
	Nr   uint32
	Args []uint64
}

// Data is struct seccomp_data for c as x/net/bpf's VM reads it: the VM
// loads 32-bit words big-endian, the kernel natively, so each word is
// written big-endian and the two halves of a 64-bit argument in the
// native order (low half first on little-endian machines).
func Data(c Call) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], c.Nr)
	binary.BigEndian.PutUint32(b[4:], c.Arch)
	for i, a := range c.Args {
		off := 16 + 8*i
		lo, hi := uint32(a), uint32(a>>32)
		if littleEndian() {
			binary.BigEndian.PutUint32(b[off:], lo)
			binary.BigEndian.PutUint32(b[off+4:], hi)
		} else {
			binary.BigEndian.PutUint32(b[off:], hi)
			binary.BigEndian.PutUint32(b[off+4:], lo)
		}
	}
	return b
}

// Evaluate runs prog on the synthetic call c in x/net/bpf's VM and
// returns the seccomp return value (action | data). It is for tests and
// for reading a profile's verdicts without installing it.
func Evaluate(prog []bpf.Instruction, c Call) (uint32, error) {
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return 0, fmt.Errorf("seccomp: load program in the VM: %w", err)
	}
	out, err := vm.Run(Data(c))
	if err != nil {
		return 0, fmt.Errorf("seccomp: run: %w", err)
	}
	return uint32(out), nil
}

// AllowsNative reports whether prog allows each of the named system
// calls of the native architecture whatever their arguments: the path
// the program takes for the call's number must end in SECCOMP_RET_ALLOW
// without reading an argument (or the instruction pointer) on the way.
// An unknown name, or an instruction pathOf does not know, is a no.
func AllowsNative(prog []bpf.RawInstruction, names []string) bool {
	native, err := nativeArch()
	if err != nil {
		return false
	}
	info := archInfo[native]
	insns, ok := bpf.Disassemble(prog)
	if !ok || info == nil {
		return false
	}
	for _, name := range names {
		nr, ok := info.SyscallNames[name]
		if !ok {
			return false
		}
		ret, ok := argFree(insns, uint32(nr), uint32(info.ID))
		if !ok || ret != uint32(bpfseccomp.ActionAllow) {
			return false
		}
	}
	return true
}

// argFree runs prog for system call nr of architecture arch and returns
// its return value, with ok false when the path reads anything of
// seccomp_data but the number and the architecture (so the verdict may
// depend on the arguments), or runs an instruction this interpreter
// does not know, or does not end.
func argFree(prog []bpf.Instruction, nr, arch uint32) (ret uint32, ok bool) {
	var a, x uint32
	var scratch [16]uint32
	for pc, steps := 0, 0; pc >= 0 && pc < len(prog) && steps <= len(prog); pc, steps = pc+1, steps+1 {
		switch in := prog[pc].(type) {
		case bpf.LoadAbsolute:
			switch {
			case in.Size == 4 && in.Off == 0:
				a = nr
			case in.Size == 4 && in.Off == 4:
				a = arch
			default:
				return 0, false
			}
		case bpf.LoadConstant:
			if in.Dst == bpf.RegA {
				a = in.Val
			} else {
				x = in.Val
			}
		case bpf.LoadScratch:
			if in.N < 0 || in.N >= len(scratch) {
				return 0, false
			}
			if in.Dst == bpf.RegA {
				a = scratch[in.N]
			} else {
				x = scratch[in.N]
			}
		case bpf.StoreScratch:
			if in.N < 0 || in.N >= len(scratch) {
				return 0, false
			}
			if in.Src == bpf.RegA {
				scratch[in.N] = a
			} else {
				scratch[in.N] = x
			}
		case bpf.TAX:
			x = a
		case bpf.TXA:
			a = x
		case bpf.ALUOpConstant:
			if a, ok = alu(in.Op, a, in.Val); !ok {
				return 0, false
			}
		case bpf.ALUOpX:
			if a, ok = alu(in.Op, a, x); !ok {
				return 0, false
			}
		case bpf.NegateA:
			a = -a
		case bpf.Jump:
			pc += int(in.Skip)
		case bpf.JumpIf:
			if jump(in.Cond, a, in.Val) {
				pc += int(in.SkipTrue)
			} else {
				pc += int(in.SkipFalse)
			}
		case bpf.JumpIfX:
			if jump(in.Cond, a, x) {
				pc += int(in.SkipTrue)
			} else {
				pc += int(in.SkipFalse)
			}
		case bpf.RetConstant:
			return in.Val, true
		case bpf.RetA:
			return a, true
		default:
			return 0, false
		}
	}
	return 0, false
}

func jump(c bpf.JumpTest, a, v uint32) bool {
	switch c {
	case bpf.JumpEqual:
		return a == v
	case bpf.JumpNotEqual:
		return a != v
	case bpf.JumpGreaterThan:
		return a > v
	case bpf.JumpLessThan:
		return a < v
	case bpf.JumpGreaterOrEqual:
		return a >= v
	case bpf.JumpLessOrEqual:
		return a <= v
	case bpf.JumpBitsSet:
		return a&v != 0
	case bpf.JumpBitsNotSet:
		return a&v == 0
	}
	return false
}

func alu(op bpf.ALUOp, a, v uint32) (uint32, bool) {
	switch op {
	case bpf.ALUOpAdd:
		return a + v, true
	case bpf.ALUOpSub:
		return a - v, true
	case bpf.ALUOpMul:
		return a * v, true
	case bpf.ALUOpDiv:
		if v == 0 {
			return 0, false
		}
		return a / v, true
	case bpf.ALUOpMod:
		if v == 0 {
			return 0, false
		}
		return a % v, true
	case bpf.ALUOpOr:
		return a | v, true
	case bpf.ALUOpAnd:
		return a & v, true
	case bpf.ALUOpShiftLeft:
		return a << v, true
	case bpf.ALUOpShiftRight:
		return a >> v, true
	case bpf.ALUOpXor:
		return a ^ v, true
	}
	return 0, false
}
