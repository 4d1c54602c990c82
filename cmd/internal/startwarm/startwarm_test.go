package startwarm

import (
	"strings"
	"testing"
)

func TestStartsUnit(t *testing.T) {
	for _, tc := range []struct {
		args string
		want bool
	}{
		{"run --rm busybox true", true},
		{"run -d busybox sleep 9", true},
		{"start web", true},
		{"restart web", true},
		{"container run busybox", true},
		{"container start web", true},
		{"--root /srv/berth run busybox", true},
		{"--root=/srv/berth start web", true},
		{"--root run ps", false}, // "run" is --root's value
		{"ps -a", false},
		{"exec web run", false},
		{"logs run", false},
		{"create busybox", false},
		{"", false},
		{"--help", false},
	} {
		if got := StartsUnit(strings.Fields(tc.args)); got != tc.want {
			t.Errorf("StartsUnit(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
