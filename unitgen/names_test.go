package unitgen

import (
	"strings"
	"testing"
)

// TestInstanceKeys: replicas are numbered with the width of their count,
// and each replica's container ID is its number followed by a part the
// replicas share (what the template writes after "%i"): 64 hex digits,
// distinct short IDs, none all digits.
func TestInstanceKeys(t *testing.T) {
	tests := []struct {
		replicas    int
		first, last string
	}{
		{1, "web", "web"},
		{3, "web@1", "web@3"},
		{12, "web@01", "web@12"},
		{1000, "web@0001", "web@1000"},
	}
	for _, tt := range tests {
		keys := InstanceKeys(&Service{Name: "web", Replicas: tt.replicas})
		if len(keys) != tt.replicas || keys[0] != tt.first || keys[len(keys)-1] != tt.last {
			t.Errorf("%d replicas: %d keys, %q … %q", tt.replicas, len(keys), keys[0], keys[len(keys)-1])
			continue
		}
		shorts := map[string]bool{}
		var tail string
		for _, k := range keys {
			id := ContainerID("shop", k)
			if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" || strings.Trim(id[:12], "0123456789") == "" {
				t.Errorf("%s: ID %q", k, id)
			}
			shorts[id[:12]] = true
			if _, n, ok := strings.Cut(k, "@"); ok {
				if !strings.HasPrefix(id, n) || (tail != "" && id[len(n):] != tail) {
					t.Errorf("%s: ID %q is not %s and the replicas' shared part %q", k, id, n, tail)
				}
				tail = id[len(n):]
			}
		}
		if len(shorts) != len(keys) {
			t.Errorf("%d replicas share short IDs: %v", tt.replicas, shorts)
		}
	}
	if ContainerID("shop", "web") == ContainerID("shop", "web@1") || ContainerID("shop", "web@1") == ContainerID("other", "web@1") {
		t.Error("container IDs collide")
	}
}
