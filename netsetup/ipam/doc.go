// Package ipam hands out IPv4 addresses of a network's subnet to
// containers and remembers who holds which.
//
// The Allocator is pure logic over a small Store interface (the model is
// CNI's host-local plugin and its disk backend): it picks the lowest free
// host address, never the network address, the broadcast or the gateway
// (the first host address, which the bridge holds), honours a requested
// address, and refuses one that is taken or outside the subnet. Two
// stores implement Store: DiskStore, one file per lease under
// DIR/<network>/<addr> holding the owner (the container ID), written
// atomically, with every allocation under an flock of DIR/<network>/.lock
// so that concurrent berth processes never hand out one address twice;
// and MemStore, an in-memory fake for tests and callers that need no
// persistence.
//
// Contracts:
//   - An owner holds at most one address per network: allocating again for
//     the same owner returns the address it already has (so a retry after
//     a crash is harmless).
//   - Release and Reclaim are idempotent.
//   - Lowest-free allocation reuses a released address at once. Docker and
//     host-local rotate instead (to let stale ARP entries expire); berth
//     may switch to that by storing the last address handed out.
//
// It imports only the standard library, internal/errdefs and
// internal/fsutil. It must not import godbus, imagestore, machine or cmd.
package ipam
