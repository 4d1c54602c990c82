// Package butane holds the test of contrib/butane/berth.bu, the Butane
// config that provisions a Fedora CoreOS host with berth's sysext and an
// app (see README.md there). It has no code of its own: the test checks
// the config's structure with a YAML decoder that refuses unknown keys,
// parses the app with unitgen and the units with go-systemd's unit
// parser, and transpiles the config with `butane --strict` when that
// tool is on PATH.
package butane
