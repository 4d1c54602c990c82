package unitproc

import (
	"os"
	"path/filepath"

	"github.com/berth/berth/machine"
)

// ProgramName is the small program that runs __init and __cleanup:
// cmd/berth-unit, built and installed with berth.
const ProgramName = "berth-unit"

// Programs are what a container's unit runs for the berth CLI at cli:
// berth-unit when it is next to cli or in ../libexec/berth/ (where
// packages install it, as berth-nsinit), else the CLI itself.
func Programs(cli string) machine.Programs {
	dir := filepath.Dir(cli)
	for _, p := range []string{
		filepath.Join(dir, ProgramName),
		filepath.Join(dir, "..", "libexec", "berth", ProgramName),
	} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return machine.Programs{CLI: cli, Unit: filepath.Clean(p)}
		}
	}
	return machine.Programs{CLI: cli, Unit: cli}
}
