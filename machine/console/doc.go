// Package console gives containers a terminal (`berth run -t`, `berth
// attach`) without a berth process staying beside the container.
//
// The design: the unit's `berth __init` opens a pseudo-terminal, makes
// its slave the container's stdin, stdout, stderr and controlling
// terminal, and hands both ends to systemd's file descriptor store
// (FDSTORE=1, FileDescriptorStoreMax=2 on the unit) before it exits.
// systemd, which owns the unit anyway, keeps the terminal open while
// the container runs: closing a client does not hang it up, so the
// container goes on after a detach (Docker's Ctrl-P Ctrl-Q) or a lost
// client, and on a restart under the restart policy systemd passes both
// ends back to the new __init (LISTEN_FDS), so the container keeps its
// terminal. A client (`run -it`, `attach`) takes a copy of the master
// from systemd with pidfd_getfd(2), found by its tty-index in
// /proc/1/fdinfo and checked against the slave's device, proxies its own
// terminal to it in raw mode, forwards window size changes (TIOCSWINSZ,
// the kernel then sends SIGWINCH in the container), and leaves on the
// detach keys or when the container's end hangs the terminal up.
// Ctrl-C is a byte like any other: the terminal's line discipline in
// the container turns it into SIGINT for the foreground process group.
//
// The pty is the host's (/dev/ptmx), not one of the container's own
// devpts: ttyname(3) inside names a /dev/pts path that the container's
// /dev does not have. Its descriptors are all the container has of it.
//
// The slave is stored as well as the master so that systemd does not
// drop the master (it drops stored descriptors on POLLHUP, which a
// master sees when the last slave closes) before a client has read the
// container's last output. Keys holds the pure logic (detach keys);
// pty_linux.go the terminal calls; fetch_linux.go pidfd_getfd.
package console
