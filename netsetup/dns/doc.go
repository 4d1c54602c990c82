// Package dns is the name service of berth's user networks: a small DNS
// responder that answers A queries for the containers a client shares a
// network with (by name, alias and short ID, also as NAME.NETWORK; the
// caller's Lookup decides, given the client's address) and forwards every
// other query to the host's resolvers.
//
// Design: one responder per user network, listening on the network's
// gateway address, port 53, UDP and TCP. It is not a daemon berth keeps:
// systemd owns the sockets (a transient berth-dns-<bridge>.socket, made
// when the first container joins the network) and starts `berth __dns`
// when a query arrives; it exits after a while without queries and
// systemd starts it again on the next one. The answers are computed per
// query from the network's leases (netsetup/ipam) and the containers'
// records, so names follow containers as they start and stop with no
// state of the responder's own, and answers carry TTL 0 so no resolver
// keeps a stale address.
//
// Answer is pure (a query's bytes in, the response's bytes out, over a
// lookup function and a forwarder) and unit-tested; Serve adds the
// sockets. It imports the standard library and golang.org/x/net's
// dnsmessage only.
package dns
