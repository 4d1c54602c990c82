// Package startwarm starts, as the berth CLI's process starts, the
// kernel's wait for the cgroup migration of the unit that a `berth run`,
// `start` or `restart` asks systemd for (cgroupfs.WarmAttach). A Go
// process runs main a few milliseconds after its start, most of them
// spent in the initialisers of the CLI's packages (BuildKit's parser,
// the registry client, protobuf); this package's own initialiser runs
// as soon as os is ready, since it imports next to nothing, so the
// grace period the migration waits for runs beside them. Importing it
// (for its side effect) is all there is to it: package main of the CLI
// does, and nothing else should.
package startwarm

import (
	"os"

	"github.com/berth/berth/internal/cgroupfs"
)

func init() {
	if StartsUnit(os.Args[1:]) {
		cgroupfs.WarmAttach()
	}
}

// StartsUnit reports whether the berth command line args (without the
// program's name) is one that starts a container's unit: run, start or
// restart, also under "container", after the global flags. It guesses
// before the flags are parsed; a wrong guess costs a migration that
// moves nothing.
func StartsUnit(args []string) bool {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--root":
			i++ // its value
		case "container":
		case "run", "start", "restart":
			return true
		default:
			if len(a) == 0 || a[0] != '-' {
				return false
			}
		}
	}
	return false
}
