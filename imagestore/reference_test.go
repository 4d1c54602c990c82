package imagestore

import (
	"errors"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestParseReference(t *testing.T) {
	const dg = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"busybox", "busybox:latest", false},
		{"busybox:1.36", "busybox:1.36", false},
		{"library/busybox:musl", "library/busybox:musl", false},
		{"127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest", false},
		{"127.0.0.1:5000/team/app:v2", "127.0.0.1:5000/team/app:v2", false},
		{"registry.example/a_b/c__d/e-f:1", "registry.example/a_b/c__d/e-f:1", false},
		{"busybox@" + dg, "busybox@" + dg, false},
		{"busybox:1@" + dg, "busybox:1@" + dg, false},
		{"", "", true},
		{"BusyBox", "", true},
		{"busy box", "", true},
		{"busybox:", "", true},
		{"busybox:-bad", "", true},
		{"busybox@sha256:short", "", true},
		{"a//b", "", true},
		{"-lead", "", true},
		{"../etc", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReference(tt.in)
			if tt.wantErr {
				if !errors.Is(err, errdefs.ErrInvalid) {
					t.Fatalf("ParseReference(%q) = %v, %v; want ErrInvalid", tt.in, r, err)
				}
				return
			}
			if err != nil || r.String() != tt.want {
				t.Fatalf("ParseReference(%q) = %q, %v; want %q", tt.in, r.String(), err, tt.want)
			}
		})
	}
}
