// Package machine will own the container lifecycle: building a
// container's OCI runtime spec from an image config and the user's flags,
// its state under /var/lib/berth/containers/<id>, and turning it into a
// transient systemd unit registered with systemd-machined.
//
// It talks to systemd, the image store and the network only through
// small interfaces it declares itself; the concrete implementations are
// wired by cmd. It must not import cmd, and only its systemd
// sub-package may import godbus or go-systemd.
//
// Status: skeleton; "Foundation 2/2" fills it in.
package machine
