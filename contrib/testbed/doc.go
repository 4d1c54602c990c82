// Command testbed boots this host's own systemd inside systemd-nspawn, so
// that berth's integration tests run against real systemd, D-Bus,
// machined and journald on machines where systemd is not PID 1.
//
//	testbed up NAME               boot a testbed (cleans a stale one of that name first)
//	testbed exec NAME [--] CMD…   run CMD inside, in the caller's working directory
//	testbed down NAME             remove every process, cgroup and mount it made (idempotent)
//	testbed run [NAME] -- CMD…    up, exec CMD, down; exits with CMD's status
//	testbed status NAME           print the leader PID and systemd's state
//	testbed leftovers [NAME]      fail if any testbed (or NAME) left a process, mount or cgroup
//
// How it is built, and why:
//   - The root is an overlay of the host's "/" with a tmpfs upper, so
//     nothing the testbed writes reaches the host. The tmpfs and the
//     overlay are mounted in a private mount namespace of the nspawn
//     supervisor: they never appear in the host's mount table and vanish
//     with the last process of the testbed, even after kill -9.
//   - The repository is bind-mounted at its own path, and a tmpfs
//     directory at /var/lib/berth, because an overlayfs upper directory
//     cannot live on an overlay root.
//   - Every process it starts lives in a cgroup of its own,
//     berth-testbed-NAME, a child of the caller's cgroup in every mounted
//     hierarchy (boot/ holds nspawn and the container, exec/ the commands
//     run inside). down kills that subtree and removes its directories,
//     so teardown is complete whatever state a test run died in.
//   - --private-network: the testbed has its own network namespace, so
//     veths and nftables rules made inside never touch the host.
//   - nspawn mounts the cgroup v1 controllers read-only; up remounts them
//     read-write inside and re-executes systemd, so MemoryMax, CPUQuota
//     and TasksMax are enforced.
//   - systemd boots into berth-testbed.target (basic.target, D-Bus,
//     machined, journald), not multi-user.target, so whatever services
//     the host has enabled (databases, gettys, timers) do not start.
//
// It never touches the host's /tmp, its cgroup mounts or its services.
// Several testbeds with different names can run at once.
//
// It is a standalone tool: it imports nothing of berth's (its tests use
// internal/testutil), so it builds and runs before anything else works.
package main
