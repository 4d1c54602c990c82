// Package netsetup will own container networking: bridges, veth pairs
// and addresses through netlink, IP address management (a pure allocator
// over a small lease store), and NAT and published ports as nftables rule
// sets in berth's own tables.
//
// It must not import cmd, machine or unitgen; rule sets and address
// allocation stay pure so that they are tested without root.
//
// Status: skeleton; the networking issue fills it in.
package netsetup
