package machine

// Property is one property of a transient systemd unit, named as on
// systemd's D-Bus API (org.freedesktop.systemd1(5)), with a Go value of
// the D-Bus type systemd expects: string (s), bool (b), uint64 (t),
// int32 (i), []string (as), [][]byte (aay), ExecCommand (a(sasb)),
// []DeviceRule (a(ss)),
// []ExecCommand, or ExitStatusSet ((aiai)).
// Keeping properties as plain data lets the unit a container becomes be
// built and tested without D-Bus; machine/systemd sends them.
type Property struct {
	Name  string
	Value any
}

// ExecCommand is one command line of ExecStart=, ExecStopPost= and the
// like. Arguments are passed to systemd as they are: over D-Bus there is
// no quoting, and berth never puts user data in them (the container's own
// command is in its config.json), so environment-variable expansion at
// exec time cannot change them either.
type ExecCommand struct {
	Path          string
	Argv          []string // including argv[0]
	IgnoreFailure bool     // systemd's "-" prefix
}

// UnitPrefix starts the name of every container's unit.
const UnitPrefix = "berth-"

// UnitName is the systemd unit of the container called name.
func UnitName(name string) string { return UnitPrefix + name + ".service" }

// ExitStatusSet is the value of RestartForceExitStatus= and the like
// (D-Bus (aiai)): exit statuses and signal numbers.
type ExitStatusSet struct {
	Statuses []int32
	Signals  []int32
}
