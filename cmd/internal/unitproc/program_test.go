package unitproc

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrograms: berth-unit next to the CLI, or in ../libexec/berth/, or
// the CLI itself; a file that is not executable does not count.
func TestPrograms(t *testing.T) {
	root := t.TempDir()
	write := func(path string, mode os.FileMode) {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	dev := filepath.Join(root, "dev", "berth")
	write(dev, 0o755)
	write(filepath.Join(root, "dev", ProgramName), 0o755)
	installed := filepath.Join(root, "usr", "bin", "berth")
	write(installed, 0o755)
	write(filepath.Join(root, "usr", "libexec", "berth", ProgramName), 0o755)
	alone := filepath.Join(root, "alone", "berth")
	write(alone, 0o755)
	write(filepath.Join(root, "alone", ProgramName), 0o644)
	for _, tc := range []struct{ cli, want string }{
		{dev, filepath.Join(root, "dev", ProgramName)},
		{installed, filepath.Join(root, "usr", "libexec", "berth", ProgramName)},
		{alone, alone},
	} {
		if got := Programs(tc.cli); got.CLI != tc.cli || got.Unit != tc.want {
			t.Errorf("Programs(%s) = %+v, want the unit program %s", tc.cli, got, tc.want)
		}
	}
}
