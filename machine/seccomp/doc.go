// Package seccomp turns a container's seccomp profile (the OCI runtime
// spec's LinuxSeccomp, which is what runc and Docker hand to libseccomp)
// into the classic BPF program the kernel runs on every system call, and
// installs it.
//
// # Choices
//
// libseccomp-golang needs cgo, and berth is built with CGO_ENABLED=0, so
// the compiler is pure Go. Two pure-Go pieces are used, each for what it
// does well:
//
//   - github.com/moby/profiles/seccomp (used by package machine, not
//     here) is Docker's default profile as data and Docker's JSON profile
//     format, with Docker's filtering of rules by capability,
//     architecture and kernel version. Using it rather than a copy keeps
//     berth's default the same as Docker's, rule for rule.
//   - github.com/elastic/go-seccomp-bpf (used here) has per-architecture
//     syscall tables (x86_64, x32, i386, aarch64, arm) and an assembler
//     with labels, long-jump handling and 64-bit argument comparisons done
//     in 32-bit halves. Its own Policy type handles only the native
//     architecture and sends every other one to the default action, and it
//     has no notion of a per-rule errno; so Compile builds one program per
//     architecture from the library's pieces (Program,
//     SyscallWithConditions) and joins them behind an architecture
//     dispatch of its own. The library's groups also compare the next
//     syscall number with whatever argument a failed condition left in
//     the accumulator (two "socket" rules with different domains: the
//     second never matched); Compile reloads the number after every
//     conditional check (loadNr), and TestCompileRulesAfterConditions
//     holds that.
//
// Compile is pure (a function from a LinuxSeccomp to instructions) and
// is unit-tested by running the program on synthetic seccomp_data in
// golang.org/x/net/bpf's VM. Install (install_linux.go) is the one call
// that touches the kernel.
//
// # Semantics, as libseccomp and runc
//
//   - Rules are tried in the profile's order and the first rule whose
//     syscall and arguments match decides; nothing matched is the
//     profile's default action. Docker's default profile has no two rules
//     with different actions for the same call after its capability
//     filtering, so order never changes its meaning.
//   - Conditions on different arguments of one rule must all hold (AND).
//     Several conditions on the same argument are alternatives (OR), as
//     runc turns them into separate libseccomp rules.
//   - SCMP_CMP_MASKED_EQ is supported where BPF without ALU instructions
//     can express it through the library: "(arg & mask) == 0" (what
//     Docker's profile uses for clone's namespace flags) and "(arg & bit)
//     == bit" for a single bit. Others are refused with an error.
//   - Syscall names unknown to an architecture's table are skipped, as
//     runc skips names libseccomp does not know.
//   - A system call from an architecture the profile does not list (or
//     the library has no table for) kills the process, libseccomp's
//     default for a "bad architecture". On x86_64 the x32 ABI (syscall
//     numbers with bit 30 set) is its own architecture.
//   - The program is a linear scan, as libseccomp builds without its
//     binary-tree optimisation: Docker's default profile puts the common
//     calls first, in one rule.
//
// The package must not import D-Bus or anything of berth's but the spec
// types; nsinit imports it into the container's init.
package seccomp
