package imagestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/berth/berth/internal/errdefs"
)

// DefaultRegistriesConf is the registries configuration file; the
// environment variable BERTH_REGISTRIES_CONF names another.
const DefaultRegistriesConf = "/etc/berth/registries.toml"

// RegistriesConfig is /etc/berth/registries.toml, a subset of
// containers-registries.conf(5) version 2:
//
//	unqualified-search-registries = ["registry.example:5000", "docker.io"]
//
//	[[registry]]
//	location = "registry.example:5000"
//	insecure = true    # plain HTTP, or HTTPS without verifying the certificate
type RegistriesConfig struct {
	// UnqualifiedSearchRegistries are tried in order for a short name
	// (one without a registry, such as busybox).
	UnqualifiedSearchRegistries []string         `toml:"unqualified-search-registries"`
	Registries                  []RegistryConfig `toml:"registry"`
	// Path is the file it was read from ("" when there was none).
	Path string `toml:"-"`
}

// RegistryConfig is one [[registry]] table.
type RegistryConfig struct {
	// Location is the registry's host[:port].
	Location string `toml:"location"`
	// Insecure allows plain HTTP and unverified TLS certificates.
	Insecure bool `toml:"insecure"`
}

// RegistriesConfPath is the file LoadRegistries reads by default.
func RegistriesConfPath() string {
	if p := os.Getenv("BERTH_REGISTRIES_CONF"); p != "" {
		return p
	}
	return DefaultRegistriesConf
}

// LoadRegistries reads the registries configuration at path; a missing
// file is an empty configuration. Unknown keys are errors (wrapping
// errdefs.ErrInvalid) naming the file and key, so that a typo is not
// silently ignored.
func LoadRegistries(path string) (*RegistriesConfig, error) {
	cfg := &RegistriesConfig{}
	md, err := toml.DecodeFile(path, cfg)
	if errors.Is(err, fs.ErrNotExist) {
		return &RegistriesConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", path, err, errdefs.ErrInvalid)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%s: unknown key %q: %w", path, und[0].String(), errdefs.ErrInvalid)
	}
	cfg.Path = path
	for i, r := range cfg.Registries {
		if r.Location == "" || strings.ContainsAny(r.Location, "/ ") {
			return nil, fmt.Errorf("%s: registry %d: location %q: want HOST[:PORT]: %w", path, i+1, r.Location, errdefs.ErrInvalid)
		}
	}
	for _, r := range cfg.UnqualifiedSearchRegistries {
		if r == "" || strings.ContainsAny(r, "/ ") {
			return nil, fmt.Errorf("%s: unqualified-search-registries: %q: want HOST[:PORT]: %w", path, r, errdefs.ErrInvalid)
		}
	}
	return cfg, nil
}

// Insecure says whether registry is configured insecure.
func (c *RegistriesConfig) Insecure(registry string) bool {
	for _, r := range c.Registries {
		if r.Location == registry || (registry == dockerHub && r.Location == "registry-1.docker.io") {
			return r.Insecure
		}
	}
	return false
}

// IsShortName says whether ref names no registry (busybox, library/busybox:1),
// as opposed to registry.example/busybox or localhost:5000/busybox.
func IsShortName(ref string) bool {
	first, _, ok := strings.Cut(ref, "/")
	if !ok {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost"
}

// Candidates are the references to try for ref, in order: ref itself
// when it names a registry, otherwise ref under each unqualified search
// registry. With no search registry a short name is Docker's (Docker
// Hub), and defaulted is true so that the caller can say so.
func (c *RegistriesConfig) Candidates(ref string) (cands []string, defaulted bool) {
	if !IsShortName(ref) {
		return []string{ref}, false
	}
	if len(c.UnqualifiedSearchRegistries) == 0 {
		return []string{ref}, true
	}
	for _, r := range c.UnqualifiedSearchRegistries {
		cands = append(cands, r+"/"+ref)
	}
	return cands, false
}
