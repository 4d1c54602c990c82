// Package netsetup owns container networking. cmd/berth/network.go wires
// its pieces into `berth __init`, `__cleanup` and `berth network`:
//
//   - netsetup/network: the networks' definitions (the default bridge
//     network on berth0, 10.89.0.0/24; user networks berthN on the next
//     free 10.89.N.0/24 or a given subnet), in
//     /var/lib/berth/networks/defs, planned by pure functions.
//   - netsetup/ipam: IPv4 addresses per network, a pure allocator over a
//     Store (DiskStore: one file per lease under
//     /var/lib/berth/networks/<bridge>/<addr>, flock'ed; MemStore for
//     tests).
//   - netsetup/link: the bridge, veth pairs into a container's network
//     namespace, ip_forward and route_localnet (netlink).
//   - netsetup/nat: the nftables table "ip berth": masquerade, a forward
//     filter chain per bridge (isolation; --internal networks have no way
//     out), published ports (DNAT), hairpin, 127.0.0.1.
//   - netsetup/ports: claims on host ports (one file per port, flock'ed),
//     so that two containers never publish the same port.
//   - netsetup/dns: the DNS responder of a user network, socket-activated
//     by systemd on the network's gateway (berth-dns-NAME.socket), which
//     answers with the running containers' names and aliases.
//
// How a container joins a network (the unit runs `berth __init` in the
// host's network namespace):
//
//  1. `__init` leases the address (ipam.Allocate; --ip asks for one)
//     before it forks the container's PID 1.
//  2. On every start: link.EnsureBridge, link.EnableForwarding,
//     link.EnableRouteLocalnet, nat.EnsureBase, under the bridge's lock.
//     All idempotent; a reboot loses the links and rules and the next
//     start recreates them.
//  3. After the fork and before the exec: link.AttachContainer(bridge, id,
//     /proc/PID/ns/net, "eth0", addr, gateway), nat.AddPorts and, on a
//     user network, the DNS socket unit. On failure the container does not
//     start and the lease is released.
//  4. `__cleanup` (ExecStopPost, also after kill -9 or systemctl stop):
//     nat.RemovePorts, ipam.Release (the veth dies with the namespace).
//     Each is idempotent.
//  5. `berth network connect` adds a network to a container: a lease and
//     link.AttachExtra (ethN, no default route) now if it runs, and at
//     every start after its own network; `disconnect` undoes it.
//  6. `berth network rm` refuses a network a container uses, then stops
//     its DNS socket, removes its rules (nat.RemoveBridge) and its bridge.
//
// Choices still open:
//   - A container reaching its own published port through a host address
//     times out (the root test covers container→other container, which
//     works); Docker needs hairpin mode on the bridge port for this.
//   - Garbage collection of leases whose container is gone (ipam.Reclaim)
//     in a `berth system prune`; IPv6; more than one network per service
//     in a TOML app (the CLI has `network connect`).
//
// Namespace rules: namespace work happens on a goroutine that locks its
// thread and lets it die (link.Do). The root test runs its whole body in
// a re-executed test binary under `unshare --net`, so it cannot change the
// host's links or nftables; it checks the host before and after.
//
// It must not import cmd, machine, unitgen or imagestore, nor godbus;
// rule sets and address allocation stay pure so that they are tested
// without root.
package netsetup
