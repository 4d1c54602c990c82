package main

import (
	"encoding/base64"
	"net/http/httptest"
	"testing"
)

// TestClientAuth: X-Registry-Auth's credentials go only to the registry
// they were given for.
func TestClientAuth(t *testing.T) {
	enc := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, header, registry string
		wantUser               string // "" is no credentials
		bad                    bool
	}{
		{"none", "", "docker.io", "", false},
		{"empty object", enc("{}"), "docker.io", "", false},
		{"same registry", enc(`{"username":"u","password":"p","serveraddress":"127.0.0.1:5001"}`), "127.0.0.1:5001", "u", false},
		{"hub's index address", enc(`{"username":"u","password":"p","serveraddress":"https://index.docker.io/v1/"}`), "docker.io", "u", false},
		{"another registry", enc(`{"username":"u","password":"p","serveraddress":"127.0.0.1:5001"}`), "quay.io", "", false},
		{"no server address", enc(`{"username":"u","password":"p"}`), "docker.io", "", false},
		{"not base64 JSON", "%%%", "docker.io", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/images/create", nil)
			if tt.header != "" {
				r.Header.Set("X-Registry-Auth", tt.header)
			}
			a, err := clientAuth(r, tt.registry)
			if (err != nil) != tt.bad {
				t.Fatalf("clientAuth: %v, want error %v", err, tt.bad)
			}
			user := ""
			if a != nil {
				cfg, err := a.Authorization()
				if err != nil {
					t.Fatal(err)
				}
				user = cfg.Username
			}
			if user != tt.wantUser {
				t.Errorf("clientAuth for %s gives user %q, want %q", tt.registry, user, tt.wantUser)
			}
		})
	}
}
