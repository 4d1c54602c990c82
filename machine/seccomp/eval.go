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
// calls of the native architecture, called with all arguments zero. An
// unknown name, or a program the VM cannot run, is a no.
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
	vm, err := bpf.NewVM(insns)
	if err != nil {
		return false
	}
	for _, name := range names {
		nr, ok := info.SyscallNames[name]
		if !ok {
			return false
		}
		out, err := vm.Run(Data(Call{Arch: uint32(info.ID), Nr: uint32(nr)}))
		if err != nil || uint32(out) != uint32(bpfseccomp.ActionAllow) {
			return false
		}
	}
	return true
}
