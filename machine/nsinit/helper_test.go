package nsinit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHelper(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]os.FileMode // relative to the temp dir
		exe      string
		wantPath string
		wantArg0 string
	}{
		{"next to berth", map[string]os.FileMode{"bin/berth": 0o755, "bin/berth-nsinit": 0o755}, "bin/berth", "bin/berth-nsinit", HelperName},
		{"in libexec", map[string]os.FileMode{"usr/bin/berth": 0o755, "usr/libexec/berth/berth-nsinit": 0o755}, "usr/bin/berth", "usr/libexec/berth/berth-nsinit", HelperName},
		{"next to berth first", map[string]os.FileMode{"usr/bin/berth": 0o755, "usr/bin/berth-nsinit": 0o755, "usr/libexec/berth/berth-nsinit": 0o755}, "usr/bin/berth", "usr/bin/berth-nsinit", HelperName},
		{"missing: berth itself", map[string]os.FileMode{"bin/berth": 0o755}, "bin/berth", "bin/berth", "berth"},
		{"not executable: berth itself", map[string]os.FileMode{"bin/berth": 0o755, "bin/berth-nsinit": 0o644}, "bin/berth", "bin/berth", "berth"},
		{"a directory: berth itself", map[string]os.FileMode{"bin/berth": 0o755, "bin/berth-nsinit/x": 0o755}, "bin/berth", "bin/berth", "berth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, mode := range tt.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
					t.Fatal(err)
				}
			}
			path, argv := Helper(filepath.Join(dir, tt.exe))
			if want := filepath.Join(dir, tt.wantPath); path != want {
				t.Errorf("path = %s, want %s", path, want)
			}
			if len(argv) != 2 || argv[0] != tt.wantArg0 || argv[1] != "__nsinit" {
				t.Errorf("argv = %q, want [%s __nsinit]", argv, tt.wantArg0)
			}
		})
	}
}
