package fscopy

import (
	"errors"
	"testing"
)

func TestPlan(t *testing.T) {
	missing, file, dir := Info{}, Info{Exists: true}, Info{Exists: true, IsDir: true}
	tests := []struct {
		name     string
		src      string
		srcIsDir bool
		dst      string
		info     Info
		want     Target
		err      error
	}{
		{"file to a new name", "/etc/hostname", false, "/tmp/h", missing, Target{"/tmp", "h"}, nil},
		{"file over a file", "/etc/hostname", false, "/tmp/h", file, Target{"/tmp", "h"}, nil},
		{"file into a directory", "/etc/hostname", false, "/tmp", dir, Target{"/tmp", "hostname"}, nil},
		{"file into a directory with slash", "/etc/hostname", false, "/tmp/", dir, Target{"/tmp", "hostname"}, nil},
		{"file to a missing directory", "/etc/hostname", false, "/tmp/new/", missing, Target{}, ErrDirNotExists},
		{"file onto a file with slash", "/etc/hostname", false, "/tmp/h/", file, Target{}, ErrNotDirectory},
		{"file source with slash", "/etc/hostname/", false, "/tmp", dir, Target{}, ErrNotDirectory},
		{"directory to a new name", "/etc", true, "/tmp/e", missing, Target{"/tmp", "e"}, nil},
		{"directory to a new name with slash", "/etc", true, "/tmp/e/", missing, Target{"/tmp", "e"}, nil},
		{"directory into a directory", "/etc", true, "/tmp", dir, Target{"/tmp", "etc"}, nil},
		{"directory's content into a directory", "/etc/.", true, "/tmp", dir, Target{"/tmp", ""}, nil},
		{"directory's content to a new name", "/etc/.", true, "/tmp/e", missing, Target{"/tmp", "e"}, nil},
		{"directory onto a file", "/etc", true, "/tmp/h", file, Target{}, ErrCannotCopyDir},
		{"root into a directory", "/", true, "/tmp", dir, Target{"/tmp", ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.src, tt.srcIsDir, tt.dst, tt.info)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("Plan(%q, %v, %q, %+v) = %+v, %v; want %+v, %v", tt.src, tt.srcIsDir, tt.dst, tt.info, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestEntryName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"a/b", "a/b", true},
		{"./a/", "a", true},
		{"./", ".", true},
		{"/etc/passwd", "etc/passwd", true},
		{"a/../b", "b", true},
		{"../x", "", false},
		{"a/../../x", "", false},
	}
	for _, tt := range tests {
		got, ok := entryName(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("entryName(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
