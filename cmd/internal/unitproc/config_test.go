package unitproc

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBerthConfig: berth.toml's default subnet, and its errors.
func TestBerthConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, want, wantErr string
	}{
		{"missing", "", "10.89.0.0/24", ""},
		{"set", "[network]\ndefault_subnet = \"172.31.0.0/24\"\n", "172.31.0.0/24", ""},
		{"host bits", "[network]\ndefault_subnet = \"172.31.0.1/24\"\n", "", "without host bits"},
		{"unknown key", "[network]\ndefault_subnet = \"172.31.0.0/24\"\nsubnetz = 1\n", "", "unknown key network.subnetz"},
		{"not toml", "[network\n", "", "berth.toml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+"-berth.toml")
			if tc.text != "" {
				os.WriteFile(path, []byte(tc.text), 0o644)
			}
			t.Setenv("BERTH_CONFIG", path)
			configOnce = sync.Once{}
			got, err := defaultSubnet()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("defaultSubnet: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Errorf("defaultSubnet: %v, %v; want %s", got, err, tc.want)
			}
		})
	}
	configOnce = sync.Once{}
}
