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

// TestProtocol: a berth-unit from another build (another protocol, or
// none given) refuses with 125 before it touches the container.
func TestProtocol(t *testing.T) {
	root := t.TempDir()
	for _, proto := range []string{"", "0", "99"} {
		args := []string{"--root", root}
		if proto != "" {
			args = append(args, "--protocol", proto)
		}
		if code := run(append(args, "__cleanup", "0123")); code != 125 {
			t.Errorf("protocol %q: exit %d, want 125", proto, code)
		}
	}
}
