package imagestore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// AuthFile is where berth login keeps credentials, in Docker's
// config.json format: $REGISTRY_AUTH_FILE (podman's), else
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func AuthFile() string {
	if p := os.Getenv("REGISTRY_AUTH_FILE"); p != "" {
		return p
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".docker", "config.json")
}

// hubAuthKey is the key Docker files Docker Hub's credentials under.
const hubAuthKey = "https://index.docker.io/v1/"

// authKey is the config.json key for registry, as Docker writes it.
func authKey(registry string) string {
	if registry == dockerHub || registry == name.DefaultRegistry {
		return hubAuthKey
	}
	return registry
}

// keyMatches says whether a config.json key names registry: Docker
// accepts the bare host[:port] and a URL of it.
func keyMatches(key, registry string) bool {
	if registry == dockerHub || registry == name.DefaultRegistry {
		registry = "index.docker.io"
	}
	k := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	k, _, _ = strings.Cut(k, "/")
	if k == dockerHub || k == "registry-1.docker.io" {
		k = "index.docker.io"
	}
	return k == registry
}

// authConfigFile is config.json: only "auths" is read and written; every
// other key and entry is kept as it was.
type authConfigFile map[string]json.RawMessage

type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

func readAuthFile(path string) (authConfigFile, map[string]json.RawMessage, error) {
	cf := authConfigFile{}
	auths := map[string]json.RawMessage{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cf, auths, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, nil, fmt.Errorf("%s: %v: %w", path, err, errdefs.ErrInvalid)
	}
	if raw, ok := cf["auths"]; ok {
		if err := json.Unmarshal(raw, &auths); err != nil {
			return nil, nil, fmt.Errorf("%s: auths: %v: %w", path, err, errdefs.ErrInvalid)
		}
	}
	return cf, auths, nil
}

func writeAuthFile(path string, cf authConfigFile, auths map[string]json.RawMessage) error {
	raw, err := json.Marshal(auths)
	if err != nil {
		return err
	}
	cf["auths"] = raw
	b, err := json.MarshalIndent(cf, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, append(b, '\n'), 0o600)
}

// SaveCredentials files user and password for registry in the
// credentials file path (see AuthFile), replacing what it had for it.
func SaveCredentials(path, registry, user, password string) error {
	cf, auths, err := readAuthFile(path)
	if err != nil {
		return err
	}
	for k := range auths {
		if keyMatches(k, registry) {
			delete(auths, k)
		}
	}
	e, _ := json.Marshal(authEntry{Auth: base64.StdEncoding.EncodeToString([]byte(user + ":" + password))})
	auths[authKey(registry)] = e
	if err := writeAuthFile(path, cf, auths); err != nil {
		return fmt.Errorf("save credentials in %s: %w", path, err)
	}
	return nil
}

// RemoveCredentials deletes registry's credentials from path; it says
// whether there were any.
func RemoveCredentials(path, registry string) (bool, error) {
	cf, auths, err := readAuthFile(path)
	if err != nil {
		return false, err
	}
	found := false
	for k := range auths {
		if keyMatches(k, registry) {
			delete(auths, k)
			found = true
		}
	}
	if !found {
		return false, nil
	}
	if err := writeAuthFile(path, cf, auths); err != nil {
		return true, fmt.Errorf("remove credentials from %s: %w", path, err)
	}
	return true, nil
}

// fileKeychain reads the credentials berth login wrote (AuthFile).
type fileKeychain struct{}

func (fileKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	_, auths, err := readAuthFile(AuthFile())
	if err != nil {
		return nil, err
	}
	for k, raw := range auths {
		if !keyMatches(k, target.RegistryStr()) {
			continue
		}
		var e authEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			continue
		}
		cfg := authn.AuthConfig{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken}
		if e.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("%s: credentials for %s: %v: %w", AuthFile(), k, err, errdefs.ErrInvalid)
			}
			cfg.Username, cfg.Password, _ = strings.Cut(string(dec), ":")
		}
		return authn.FromConfig(cfg), nil
	}
	return authn.Anonymous, nil
}

// keychain is what pull and push authenticate with: berth login's file
// first, then Docker's and podman's usual places (go-containerregistry's
// default keychain, which also runs credential helpers).
var keychain = authn.NewMultiKeychain(fileKeychain{}, authn.DefaultKeychain)

// authOption is the remote option for credentials given with a pull or
// push (auth), else the keychain.
func authOption(auth authn.Authenticator) remote.Option {
	if auth != nil {
		return remote.WithAuth(auth)
	}
	return remote.WithAuthFromKeychain(keychain)
}

// CheckLogin asks registry whether user and password are good: the
// registry's /v2/ endpoint through its own auth scheme (basic, or a
// bearer token obtained with them). A refusal says "unauthorized"; a
// registry that cannot be reached wraps errdefs.ErrUnavailable.
func CheckLogin(ctx context.Context, registry, user, password string, insecure bool) error {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(registry, opts...)
	if err != nil {
		return fmt.Errorf("login %s: %v: %w", registry, err, errdefs.ErrInvalid)
	}
	auth := &authn.Basic{Username: user, Password: password}
	rt, err := transport.NewWithContext(ctx, reg, auth, registryTransport(reg.RegistryStr(), insecure), []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return loginError(registry, err)
	}
	u := fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return loginError(registry, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return loginError(registry, err)
	}
	return nil
}

func loginError(registry string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("login %s: unauthorized: incorrect username or password", registry)
	}
	return fmt.Errorf("login %s: registry is unreachable: %v: %w", registry, err, errdefs.ErrUnavailable)
}
