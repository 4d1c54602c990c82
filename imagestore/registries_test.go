package imagestore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestRegistriesConfig(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		err        string
		ref        string
		cands      []string
		defaulted  bool
		insecure   map[string]bool
	}{
		{name: "no file", toml: "-", ref: "busybox", cands: []string{"busybox"}, defaulted: true},
		{name: "empty", ref: "busybox:1", cands: []string{"busybox:1"}, defaulted: true},
		{name: "search list", toml: `unqualified-search-registries = ["127.0.0.1:5000", "docker.io"]`,
			ref: "it/bb:1", cands: []string{"127.0.0.1:5000/it/bb:1", "docker.io/it/bb:1"}},
		{name: "qualified name is not searched", toml: `unqualified-search-registries = ["127.0.0.1:5000"]`,
			ref: "quay.io/x/y", cands: []string{"quay.io/x/y"}},
		{name: "localhost is a registry", ref: "localhost/x", cands: []string{"localhost/x"}},
		{name: "insecure", toml: "[[registry]]\nlocation = \"reg.example:5000\"\ninsecure = true\n\n[[registry]]\nlocation = \"safe.example\"\n",
			ref: "reg.example:5000/a", cands: []string{"reg.example:5000/a"},
			insecure: map[string]bool{"reg.example:5000": true, "safe.example": false, "other.example": false}},
		{name: "unknown key", toml: `unqualified-search-registry = ["x"]`, err: `unknown key "unqualified-search-registry"`},
		{name: "unknown key in a table", toml: "[[registry]]\nlocation = \"x\"\nblocked = true\n", err: `unknown key "registry.blocked"`},
		{name: "bad location", toml: "[[registry]]\nlocation = \"x/y\"\n", err: "want HOST[:PORT]"},
		{name: "bad toml", toml: "unqualified-search-registries = [", err: "registries.toml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "registries.toml")
			if tc.toml != "-" {
				os.WriteFile(p, []byte(tc.toml), 0o644)
			}
			cfg, err := LoadRegistries(p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cands, defaulted := cfg.Candidates(tc.ref)
			if !reflect.DeepEqual(cands, tc.cands) || defaulted != tc.defaulted {
				t.Errorf("Candidates(%q) = %v, %v; want %v, %v", tc.ref, cands, defaulted, tc.cands, tc.defaulted)
			}
			for reg, want := range tc.insecure {
				if got := cfg.Insecure(reg); got != want {
					t.Errorf("Insecure(%s) = %v, want %v", reg, got, want)
				}
			}
		})
	}
}

func TestCredentialsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "config.json")
	t.Setenv("REGISTRY_AUTH_FILE", p)
	if AuthFile() != p {
		t.Fatalf("AuthFile() = %s, want $REGISTRY_AUTH_FILE", AuthFile())
	}
	os.MkdirAll(filepath.Dir(p), 0o700)
	os.WriteFile(p, []byte(`{"auths":{"http://127.0.0.1:5000/v2/":{"auth":"b2xkOm9sZA=="},"quay.io":{"auth":"cTpx"}},"credHelpers":{"x":"y"}}`), 0o600)
	if err := SaveCredentials(p, "127.0.0.1:5000", "alice", "s3:cret"); err != nil {
		t.Fatal(err)
	}
	if err := SaveCredentials(p, "docker.io", "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	var cf struct {
		Auths       map[string]map[string]string `json:"auths"`
		CredHelpers map[string]string            `json:"credHelpers"`
	}
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	if len(cf.Auths) != 3 || cf.Auths["127.0.0.1:5000"]["auth"] != "YWxpY2U6czM6Y3JldA==" || cf.Auths[hubAuthKey] == nil ||
		cf.Auths["quay.io"] == nil || cf.CredHelpers["x"] != "y" {
		t.Errorf("config.json after login: %s", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v", fi.Mode())
	}
	for reg, want := range map[string]authn.AuthConfig{
		"127.0.0.1:5000":  {Username: "alice", Password: "s3:cret"},
		"index.docker.io": {Username: "bob", Password: "pw"},
		"other.example":   {},
	} {
		r, _ := name.NewRegistry(reg)
		a, err := fileKeychain{}.Resolve(r)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := a.Authorization()
		if got.Username != want.Username || got.Password != want.Password {
			t.Errorf("keychain for %s: %+v, want %+v", reg, got, want)
		}
	}
	if found, err := RemoveCredentials(p, "127.0.0.1:5000"); !found || err != nil {
		t.Errorf("logout: %v %v", found, err)
	}
	if found, _ := RemoveCredentials(p, "127.0.0.1:5000"); found {
		t.Error("second logout found credentials")
	}
	b, _ = os.ReadFile(p)
	if strings.Contains(string(b), "127.0.0.1") || !strings.Contains(string(b), "quay.io") {
		t.Errorf("config.json after logout: %s", b)
	}
}

func TestIsShortName(t *testing.T) {
	for ref, want := range map[string]bool{
		"busybox": true, "library/busybox:1": true, "a/b/c": true,
		"docker.io/busybox": false, "localhost/x": false, "127.0.0.1:5000/x": false, "reg:5000/x": false,
	} {
		if got := IsShortName(ref); got != want {
			t.Errorf("IsShortName(%q) = %v, want %v", ref, got, want)
		}
	}
}
