package main

import (
	"fmt"
	"net/http"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/docker/docker/api/types/registry"
	"github.com/google/go-containerregistry/pkg/authn"
)

// Registry credentials through the API: docker login sends them to
// POST /auth, which checks them with the registry as berth login does
// but keeps nothing (the client files them in its own config.json);
// docker pull and push then send them in X-Registry-Auth. Without them
// berth uses berth login's file, as the CLI does.

// clientAuth is the credentials of the request's X-Registry-Auth for
// registry, nil when the client sent none or sent them for another
// registry (they are never handed to a registry they were not given
// for, such as another candidate of a short name).
func clientAuth(r *http.Request, reg string) (authn.Authenticator, error) {
	h := r.Header.Get("X-Registry-Auth")
	if h == "" {
		return nil, nil
	}
	ac, err := registry.DecodeAuthConfig(h)
	if err != nil {
		return nil, fmt.Errorf("invalid X-Registry-Auth: %v: %w", err, errdefs.ErrInvalid)
	}
	if ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return nil, nil
	}
	if ac.ServerAddress == "" || loginRegistry([]string{ac.ServerAddress}) != loginRegistry([]string{reg}) {
		return nil, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}), nil
}

// auth is POST /auth (docker login): the credentials checked with the
// registry (Docker Hub without a server address).
func (s *apiServer) auth(w http.ResponseWriter, r *http.Request) {
	var ac registry.AuthConfig
	if err := decodeBody(r, &ac); err != nil {
		apiError(w, err)
		return
	}
	if ac.Username == "" || ac.Password == "" {
		apiError(w, fmt.Errorf("berth checks a username and password (no tokens): %w", errdefs.ErrInvalid))
		return
	}
	var args []string
	if ac.ServerAddress != "" {
		args = []string{ac.ServerAddress}
	}
	reg := loginRegistry(args)
	cfg, err := imagestore.LoadRegistries(imagestore.RegistriesConfPath())
	if err != nil {
		apiError(w, err)
		return
	}
	if err := imagestore.CheckLogin(r.Context(), reg, ac.Username, ac.Password, cfg.Insecure(reg)); err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, registry.AuthenticateOKBody{Status: "Login Succeeded"})
}
