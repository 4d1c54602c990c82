package ports

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestClaim(t *testing.T) {
	s := NewStore(t.TempDir())
	never := func(string) bool { return false }
	any8080 := Port{Proto: "tcp", IP: netip.IPv4Unspecified(), Num: 8080}
	lo8080 := Port{Proto: "tcp", IP: netip.MustParseAddr("127.0.0.1"), Num: 8080}
	lo2 := Port{Proto: "tcp", IP: netip.MustParseAddr("127.0.0.2"), Num: 8080}
	udp8080 := Port{Proto: "udp", Num: 8080}
	if err := s.Claim("a", []Port{lo8080}, never); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		owner string
		want  []Port
		ok    bool
	}{
		{"a", []Port{lo8080}, true},                          // again: kept
		{"b", []Port{any8080}, false},                        // every address includes 127.0.0.1
		{"b", []Port{lo2, udp8080}, true},                    // another address, another protocol
		{"c", []Port{{Proto: "tcp", Num: 9000}, lo2}, false}, // all or none
	} {
		err := s.Claim(tc.owner, tc.want, never)
		var ce *ConflictError
		if tc.ok != (err == nil) || (!tc.ok && (!errors.As(err, &ce) || !errdefs.IsConflict(err))) {
			t.Errorf("Claim(%s, %v): %v", tc.owner, tc.want, err)
		}
	}
	held, _ := s.Held()
	if len(held) != 3 {
		t.Errorf("held %v: c's 9000 must not stay after its conflict", held)
	}
	if err := s.Claim("d", []Port{any8080}, func(o string) bool { return o == "a" || o == "b" }); err != nil {
		t.Errorf("stale owners' claims are taken over: %v", err)
	}
	if held, _ := s.Held(); held[lo8080] != "" || held[any8080] != "d" {
		t.Errorf("after takeover: %v", held)
	}
	s.Release("d")
	s.Release("d")
	if held, _ := s.Held(); held[any8080] != "" {
		t.Errorf("after release: %v", held)
	}
	if got := (&ConflictError{Port: any8080, Owner: "0123456789abcdef"}).Error(); got != "Bind for 0.0.0.0:8080/tcp failed: port is already allocated (by container 0123456789ab)" {
		t.Errorf("message %q", got)
	}
}
