// Package link creates and deletes the links of berth's bridge networks
// with netlink: the bridge with its gateway address, and for each
// container a veth pair whose host side (vb<8 hex of the container ID>)
// is a port of the bridge and whose peer is made in the container's
// network namespace as eth0, with its address, a MAC address made from it
// (MACFor, as Docker's, so a reused address keeps its MAC in everyone's
// neighbour cache), a default route and lo up.
// It also sets the two sysctls berth needs (ip_forward, route_localnet).
//
// Namespace work follows CNI's pkg/ns: it runs on a fresh goroutine that
// locks its OS thread, enters the namespace and never unlocks, so the
// runtime ends that thread with the goroutine instead of handing a thread
// in a foreign namespace to other code. Multi-step setup undoes what it
// did when a later step fails (a success flag and deferred undo).
//
// It imports netlink, netns, golang.org/x/sys and internal/errdefs only.
// It must not import godbus, imagestore, machine or cmd, nor nftables
// (that is netsetup/nat).
package link
