// Package nsinit is berth's container init: the code that turns a
// prepared container (its OCI runtime spec and unpacked image layers)
// into a running process in its own namespaces.
//
// # Design: no berth process stays resident
//
// systemd starts `berth __init ID` as the ExecStart of the container's
// unit (Type=forking, PIDFile=). That process, the parent, calls Start:
// it re-executes berth as `berth __nsinit` with
// CLONE_NEWPID|NEWNS|NEWUTS|NEWIPC|NEWNET|NEWCGROUP, so the child is
// PID 1 of a new PID namespace and sits in the unit's cgroup (the new
// cgroup namespace is rooted there). The child runs Child: it mounts the
// overlay root inside its own mount namespace (so a crash can never leak
// the mount onto the host), /proc, a minimal /dev, /sys read-only, masks
// runc's default paths, sets the host name, brings up loopback,
// pivot_roots, connects its stdout and stderr to journald, drops
// capabilities, switches user, and reports to the parent over a socket
// pair before it execs the command. The parent writes the child's PID to
// the unit's PID file and exits; the child is re-parented to systemd,
// which reads the PID file and supervises the container's PID 1 as the
// service's main process, records its exit status and honours stop
// timeouts. Only then, when the unit's ExecStartPost (`berth __resume
// $MAINPID`) sends ResumeSignal, does the child exec the command: a
// command that exited before systemd read the PID file would leave a
// dead PID there and fail the unit. No berth process stays resident.
//
// Type=notify with MAINPID= from the parent was tried first and works
// for exit statuses, but systemd then marks the main PID "alien" (not
// its child at the time of the message: "Supervising process which is
// not our child"), cannot wait for it, and on stop escalates from the
// stop signal to SIGKILL at once instead of waiting TimeoutStopSec.
// With Type=forking systemd reads the PID only after the parent exited,
// when the child is already its own. Exec-in-place (the unit's process
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
