// Package systemd is berth's one door to systemd: it starts, stops and
// inspects transient units over the system bus (go-systemd's dbus
// package on godbus). machine builds units as plain data
// (machine.Property); this package turns them into D-Bus calls.
//
// It is the only berth package that imports godbus or go-systemd, so that
// everything else is testable without a bus. It must not import cmd.
//
// Every method takes a context and waits for systemd's job to finish, so
// a nil error means the state change happened, not only that it was
// queued.
package systemd
