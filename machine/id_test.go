package machine

import (
	"regexp"
	"strings"
	"testing"
)

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{64}$`)
	numeric := regexp.MustCompile(`^[0-9]{12}`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !re.MatchString(id) {
			t.Fatalf("NewID() = %q, want 64 lowercase hex digits", id)
		}
		if numeric.MatchString(id) {
			t.Fatalf("NewID() = %q: short ID is all digits", id)
		}
		if !isID(id) {
			t.Fatalf("isID(%q) = false", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 64), strings.Repeat("g", 64), strings.Repeat("a", 65)} {
		if isID(bad) {
			t.Errorf("isID(%q) = true", bad)
		}
	}
}

func TestGenerateName(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z]+_[a-z]+[0-9]*$`)
	taken := map[string]bool{}
	for range 200 {
		name := GenerateName(func(s string) bool { return taken[s] })
		if taken[name] {
			t.Fatalf("GenerateName returned taken name %q", name)
		}
		if !shape.MatchString(name) {
			t.Fatalf("GenerateName() = %q, want adjective_surname", name)
		}
		if !validName().MatchString(name) {
			t.Fatalf("GenerateName() = %q is not a valid container name", name)
		}
		taken[name] = true
	}

	// Every plain adjective_surname taken: digits are appended.
	name := GenerateName(func(s string) bool { return !strings.ContainsAny(s, "0123456789") })
	if !regexp.MustCompile(`^[a-z]+_[a-z]+[0-9]+$`).MatchString(name) {
		t.Errorf("with all plain names taken, GenerateName() = %q, want digits appended", name)
	}

	// Everything taken: it still terminates with a valid name.
	calls := 0
	name = GenerateName(func(string) bool { calls++; return true })
	if !validName().MatchString(name) || calls != 1000 {
		t.Errorf("with everything taken, GenerateName() = %q after %d calls", name, calls)
	}

	if name := GenerateName(nil); !shape.MatchString(name) {
		t.Errorf("GenerateName(nil) = %q", name)
	}
}

func TestNameLists(t *testing.T) {
	for _, list := range [][]string{adjectives[:], surnames[:]} {
		seen := map[string]bool{}
		for _, w := range list {
			if !regexp.MustCompile(`^[a-z]+$`).MatchString(w) || seen[w] {
				t.Errorf("bad or repeated word %q", w)
			}
			seen[w] = true
		}
		if len(list) < 50 {
			t.Errorf("list of %d words, want at least 50", len(list))
		}
	}
}
