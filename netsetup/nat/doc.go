// Package nat builds berth's nftables rule set — masquerade, forwarding,
// published ports — as data with github.com/google/nftables, and applies
// it through a small Conn interface (satisfied by *nftables.Conn) in one
// transaction per call (Flush). Unit tests compare the rules with a
// recording fake, without root.
//
// Everything lives in the table "ip berth" (IPv4 only, like netsetup/ipam;
// an ip table needs no nfproto guard; IPv6 will get "ip6 berth"). berth
// never touches another table. Chains:
//
//	prerouting   nat, dstnat   fib daddr type local → jump ports
//	output       nat, dstnat   the same for the host's own traffic (127.0.0.1 too)
//	ports        regular       one DNAT rule per published port, tagged with the container ID
//	postrouting  nat, srcnat   per bridge: masquerade its subnet leaving by another interface;
//	                           hairpin (bridge→bridge after DNAT); 127.0.0.0/8 → bridge
//	forward-BR   filter, forward, policy accept, one base chain per bridge:
//	                           established/related and DNATed traffic into BR accepted,
//	                           BR→BR accepted, anything else into BR dropped, BR→out accepted
//
// Rules carry a comment (UserData, shown by nft): "berth container ID",
// "berth bridge NAME" or "berth base"; RemovePorts deletes exactly the
// rules of one container, and EnsureBase replaces exactly one bridge's.
// Verbs: Ensure* is idempotent create-or-replace (EnsureBase, which every
// container start calls, makes no transaction when the bridge's rules
// read back equal to those it would write); Add* replaces the
// owner's rules; Remove* deletes one owner's rules and is idempotent;
// Teardown deletes the whole table.
//
// Published ports on 127.0.0.1 work by DNAT in the output chain plus
// route_localnet=1 on the bridge (link.EnableRouteLocalnet) and a
// masquerade of 127.0.0.0/8 sources towards the bridge, as Docker does
// without its userland proxy; no proxy process is needed.
//
// A port range whose host and container ports are equal is one rule that
// rewrites the address only; a shifted range is one rule per port.
//
// The forward chains' accepts do not override a drop in another table
// (for example iptables' FORWARD policy DROP left by Docker or ufw): such
// hosts need their own rule; berth does not edit others' tables.
//
// It imports google/nftables, golang.org/x/sys and internal/errdefs only.
// It must not import godbus, imagestore, machine or cmd, nor netlink
// (that is netsetup/link).
package nat
