// Package network owns berth's network definitions: the default bridge
// network ("bridge", on berth0) and the user networks that `berth network
// create` makes, each a bridge berthN with a subnet of its own.
//
// A definition is a JSON file DIR/<name>.json (for berth,
// /var/lib/berth/networks/defs), written atomically under an flock of
// DIR/.lock, so that two concurrent creates never pick the same bridge or
// subnet. The package plans (names, subnets, bridges, validation) with
// pure functions; it does not touch links, nftables or leases: netsetup's
// link, nat and ipam do, wired by cmd/berth.
//
// It imports only the standard library and internal packages.
package network
