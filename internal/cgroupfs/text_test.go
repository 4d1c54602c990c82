package cgroupfs

import (
	"slices"
	"strings"
	"testing"
)

// The local string functions agree with package strings.
func TestText(t *testing.T) {
	for _, s := range []string{"", "a", ":", "a:b", "::", "0::/user.slice", "4:memory:/a:b", "a\nb\n", " x  y\tz ", "a - b - c"} {
		if got, want := split(s, ':'), strings.Split(s, ":"); !slices.Equal(got, want) {
			t.Errorf("split(%q) = %q, want %q", s, got, want)
		}
		for n := 1; n <= 3; n++ {
			if got, want := splitN(s, ':', n), strings.SplitN(s, ":", n); !slices.Equal(got, want) {
				t.Errorf("splitN(%q, %d) = %q, want %q", s, n, got, want)
			}
		}
		if got, want := fields(s), strings.Fields(s); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("fields(%q) = %q, want %q", s, got, want)
		}
		b, a, ok := cut(s, " - ")
		wb, wa, wok := strings.Cut(s, " - ")
		if b != wb || a != wa || ok != wok {
			t.Errorf("cut(%q) = %q, %q, %v; want %q, %q, %v", s, b, a, ok, wb, wa, wok)
		}
		for _, sub := range []string{"", "a", "/..", "::"} {
			if got, want := index(s, sub), strings.Index(s, sub); got != want {
				t.Errorf("index(%q, %q) = %d, want %d", s, sub, got, want)
			}
			if got, want := hasPrefix(s, sub), strings.HasPrefix(s, sub); got != want {
				t.Errorf("hasPrefix(%q, %q) = %v, want %v", s, sub, got, want)
			}
		}
	}
}
