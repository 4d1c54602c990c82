// Package nsinit is berth's container init: the code that turns a
// prepared container (its OCI runtime spec and unpacked image layers)
// into a running process in its own namespaces.
//
// # Design: no berth process stays resident
//
// systemd starts `berth __init ID` as the main process of the
// container's unit (Type=notify, NotifyAccess=all). That process, the
// parent, calls Start: it runs the child program (Helper: the small
// berth-nsinit of cmd/berth-nsinit, which starts in a third of the
// time berth's CLI does, or `berth __nsinit` where it is missing) with
// CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET|NEWCGROUP, so the child is
// PID 1 of a new PID namespace and sits in the unit's cgroup (the new
// cgroup namespace is rooted there). The child runs Child: it mounts the
// overlay root inside its own mount namespace (so a crash can never leak
// the mount onto the host), /proc, a minimal /dev, /sys read-only, masks
// runc's default paths, sets the host name, brings up loopback,
// pivot_roots, takes the journal streams the parent opened as stdout and
// stderr, drops capabilities, switches user, sets no_new_privs, and
// reports to the parent over a socket pair. The seccomp filter
// (compiled by the parent with machine/seccomp, so the child carries no
// compiler) goes on last, just before execve, so that none of
// the setup runs under it (without no_new_privs it goes on before the
// switch of user, while CAP_SYS_ADMIN lets it). The child is started
// from a read-only bind mount of its binary in a mount namespace of
// its own, so that a container can never write the binary through
// /proc/PID/exe (selfprotect_linux.go; `berth exec` re-executes itself
// the same way). The parent then tells systemd MAINPID=<child> and
// READY=1 and waits, with sd_notify's BARRIER=1, until systemd has acted
// on it; only then does it let the child exec the command
// (Process.Resume), and it exits. The child is re-parented to systemd,
// which supervises it as the unit's main process and records its exit
// status. No berth process stays resident (but for the relay that logs
// a -t container's terminal, which the caller starts: cmd/berth's
// ttylog.go).
//
// With a user namespace (--userns=auto) the child is cloned with
// CLONE_NEWUSER too and the parent makes its root file system: a
// detached overlay of idmapped layers, passed to the child over the
// socket pair (userns_linux.go). `berth exec` runs Exec: the container's
// cgroups from the fork on and a re-exec'd stage that joins the user
// namespace through nsenter (cgroupjoin_linux.go, execstage_linux.go).
//
// The order matters, and the testbed showed why. A command that exits
// before systemd has taken its PID leaves systemd a dead main PID ("does
// not exist or is a zombie") and fails the unit. Type=forking with a
// PID file was tried too: systemd reads the PID file again after
// ExecStartPost, and a command that was quick enough had exited by then.
// The child is created as systemd's own child (CLONE_PARENT, see
// Start), so that systemd supervises it as a main process it forked: a
// main PID that is not its child when it learns of it is "alien" to
// systemd, which then did not wait for it after the stop signal and
// heard of its exit later, through the cgroup. systemd stops it with
// the stop signal and, after the stop timeout, SIGKILL, as Docker does
// (for a timeout under 5 s, or -t, a short ExecStop script does: see
// machine.NativeStop). Exec-in-place (the unit's process
// becoming the container) was the other alternative, but a process
// cannot enter a new PID namespace itself: only a fork gives the
// container a PID 1 of its own.
//
// Errors the child meets before exec travel back to the parent with
// Docker's exit codes: 127 when the command is not found, 126 when it
// cannot be executed, 125 for any other setup failure.
//
// Privileged code is in the *_linux.go files; config.go is pure (mount
// options, overlay data, /etc/hosts) and unit-tested without root. The
// package must not import D-Bus: the parent's caller does the talking to
// systemd and machined.
package nsinit
