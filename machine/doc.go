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
// The container's config is pure code over values, tested without root:
// RunOptions (Docker's run flags, with their parsers and Validate),
// ResolveUser (-u against the image's /etc/passwd and /etc/group) and
// BuildSpec (image config + options -> OCI runtime spec, with Docker's
// rules for entrypoint, command, environment, user and defaults).
//
// Status: the pure config and the unit model are here; state, the init
// and the CLI wiring come with the rest of "Foundation 2/2"
// (docs/design-run.md).
package machine
