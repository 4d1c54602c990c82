// Package unitgen will turn berth's TOML service files into systemd
// units: parse, validate (errors with file:line:column), and render, as
// pure functions tested with golden files. The systemd generator and
// `berth up` both call it.
//
// It runs at early boot inside a generator, so it must not import
// anything that talks to D-Bus, netlink or the image store: only the
// standard library, the TOML parser and spec types.
//
// Status: skeleton; the services issue fills it in.
package unitgen
