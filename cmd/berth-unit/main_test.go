package main

import "testing"

// TestUsage: anything but `--root ROOT [--cli BERTH] __init|__cleanup ID`
// is refused with status 2, before any work.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"__init", "x"},
		{"--root", "/r", "__init"},
		{"--root", "/r", "__run", "x"},
		{"--root", "/r", "--bogus", "v", "__init", "x"},
		{"--root", "/r", "__init", "x", "y"},
	} {
		if code := run(args); code != 2 {
			t.Errorf("berth-unit %q: exit %d, want 2", args, code)
		}
	}
}
