// Package unitgen owns berth's app files: the TOML format that describes
// an app's services, networks and volumes (docs/services.md), its parsing
// and validation into a model (Parse → *App), and the rendering of that
// model into systemd units (Render → []Unit). The systemd generator (berth
// run as berth-generator), `berth up` and `berth generate systemd` all
// call it; they only find files, read them and write the units.
//
// What it owns:
//   - the format: every supported key is a named constant (keys.go), and
//     any other key is an error naming the key, its table and the file;
//   - the model (model.go): typed, validated values with defaults filled
//     in, in file order, that a renderer can use without checking again;
//   - the errors: *Error with file, line, column, message and hint; Parse
//     collects every problem of a file, not just the first;
//   - positions: BurntSushi/toml does not export the positions of keys,
//     so position.go indexes them itself (its comment says how, and its
//     limits);
//   - the units (render.go; oneshots.go and service.go, one function per
//     unit kind; names.go names them; container.go has the container's
//     own directives, a copy of machine.UnitProperties that a test in
//     cmd/berth holds to it; unitfile.go writes and escapes). Golden
//     files in testdata/NAME.units show every unit of every test app,
//     and each passes `systemd-analyze verify`.
//
// Like Podman's Quadlet, which is its model, conversion is a pure
// function: Parse takes bytes and returns a model or errors, and Render
// takes the model and an Options struct and returns units; neither does
// I/O (env files, build contexts and bind-mount sources are only named,
// never read). Finding files, reading them, logging and writing units
// belong to the callers.
//
// It runs at early boot inside a systemd generator, so it must import
// only the standard library, github.com/BurntSushi/toml and
// github.com/docker/go-units: nothing that talks to D-Bus or netlink, and
// not machine, imagestore or netsetup. Where it needs rules that machine
// also has (restart policies, memory sizes, signal names, host names), it
// keeps its own small copy; internal/archtest checks the imports.
package unitgen
