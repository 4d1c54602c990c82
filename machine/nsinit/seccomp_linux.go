package nsinit

import (
	"fmt"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// installSeccomp loads prog, compiled by the parent (see
// machine.SeccompFilter), as a seccomp filter of the calling thread only
// (no TSYNC): the thread that then calls execve, which leaves the new
// program with this thread's filter and no other thread. The kernel
// demands no_new_privs or CAP_SYS_ADMIN in the thread's effective set.
// The caller must have locked its goroutine to the thread.
func installSeccomp(prog []bpf.RawInstruction) error {
	if len(prog) == 0 {
		return fmt.Errorf("seccomp: empty program")
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, r := range prog {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("seccomp: install filter: %w", errno)
	}
	return nil
}
