package unitproc

import (
	"fmt"
	"os"
	"path/filepath"
)

// ExitError is a unit process's exit status, its message already
// printed (to the unit's journal).
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// exitWith prints err (to the unit's journal) and exits with code.
func exitWith(code int, err error) error {
	fmt.Fprintf(os.Stderr, "berth: %v\n", err)
	return ExitError{Code: code}
}

// cli is the berth CLI's path when this program is not it (SetCLI).
var cli string

// SetCLI tells a program other than the berth CLI (berth-unit) where
// the CLI is: the units and relays this package starts run it.
func SetCLI(path string) { cli = path }

// CLIPath is the berth CLI's absolute path: SetCLI's, else this
// program's own, unless this program is berth-unit (which was not told).
func CLIPath() (string, error) {
	if cli != "" {
		return cli, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the berth binary: %w", err)
	}
	if filepath.Base(exe) == ProgramName {
		return "", fmt.Errorf("find the berth binary: %s was not given --cli", ProgramName)
	}
	return filepath.EvalSymlinks(exe)
}
