package main

// The Docker Engine API that `berth system service` serves (docs/api.md).
//
// Handlers are thin adapters: they decode Docker's request, call the
// same host methods the CLI commands call (create, start, stop, remove,
// wait, inspectContainer, the image store…) and encode Docker's
// response. No behaviour is implemented twice; the service keeps no
// state between requests (but an exec instance for the seconds between
// its creation and docker exec's last look at it), so a restart of it
// loses nothing.
//
// The request and response types are Docker's own
// (github.com/docker/docker/api/types): the packages used bring in only
// go-connections and docker-image-spec besides what berth already has,
// and add about 1 MB to the binary.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/berth/berth/internal/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/spf13/cobra"
)

// The API versions served, as dockerd 28.5 serves them: 1.41 is
// docker.io 20.10's (Debian 12), 1.50 the Docker 28.2 CLI's, 1.51 the Go
// SDK's of go.mod (docker/docker 28.5). What 1.48 to 1.51 add is
// optional: platform and manifest parameters for multi-platform images,
// which berth's store (one platform per name) answers as before.
const (
	apiMinVersion = "1.24"
	apiMaxVersion = "1.51"
	// apiMaxBody bounds a request body (create, network/volume create).
	apiMaxBody = 1 << 20
)

// apiServer serves the Engine API over g's state.
type apiServer struct {
	g     *globalOptions
	mux   *http.ServeMux
	execs execTable
}

func newAPIServer(g *globalOptions) *apiServer {
	s := &apiServer{g: g, mux: http.NewServeMux()}
	s.routes()
	return s
}

var versionPrefix = regexp.MustCompile(`^/v(1\.[0-9]+)(/.*)$`)

// ServeHTTP strips and checks a /v1.NN prefix, bounds the body, sets
// Docker's headers and routes.
func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", apiMaxVersion)
	w.Header().Set("Server", "berth/"+version)
	w.Header().Set("Ostype", "linux")
	// On the escaped path, so that an escaped slash in a name stays in
	// the name (and "..%2F" never becomes a path to clean).
	if m := versionPrefix.FindStringSubmatch(r.URL.EscapedPath()); m != nil {
		v := m[1]
		switch {
		case versionLess(v, apiMinVersion):
			apiError(w, fmt.Errorf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version: %w", v, apiMinVersion, errdefs.ErrInvalid))
			return
		case versionLess(apiMaxVersion, v):
			apiError(w, fmt.Errorf("client version %s is too new. Maximum supported API version is %s: %w", v, apiMaxVersion, errdefs.ErrInvalid))
			return
		}
		p, err := url.PathUnescape(m[2])
		if err != nil {
			apiError(w, fmt.Errorf("invalid path %q: %w", m[2], errdefs.ErrInvalid))
			return
		}
		r.URL.Path, r.URL.RawPath = p, m[2]
		r = r.WithContext(context.WithValue(r.Context(), apiVersionKey{}, v))
	}
	// docker load's, docker import's and docker cp's archives, and
	// docker build's context, are the large bodies.
	if r.Body != nil && !(r.Method == http.MethodPost && (r.URL.Path == "/images/load" || r.URL.Path == "/build" ||
		(r.URL.Path == "/images/create" && r.URL.Query().Get("fromSrc") == "-"))) &&
		!(r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/containers/") && strings.HasSuffix(r.URL.Path, "/archive")) {
		r.Body = http.MaxBytesReader(w, r.Body, apiMaxBody)
	}
	s.mux.ServeHTTP(w, r)
}

type apiVersionKey struct{}

// requestVersion is the API version of the request's /v1.NN prefix, the
// newest without one.
func requestVersion(r *http.Request) string {
	if v, ok := r.Context().Value(apiVersionKey{}).(string); ok {
		return v
	}
	return apiMaxVersion
}

// versionLess compares API versions "1.N".
func versionLess(a, b string) bool {
	minor := func(v string) int {
		_, m, _ := strings.Cut(v, ".")
		n, _ := strconv.Atoi(m)
		return n
	}
	return minor(a) < minor(b)
}

func (s *apiServer) routes() {
	m := s.mux
	m.HandleFunc("GET /_ping", s.ping)
	m.HandleFunc("HEAD /_ping", s.ping)
	m.HandleFunc("GET /version", s.version)
	m.HandleFunc("GET /info", s.info)
	m.HandleFunc("POST /auth", s.auth)
	m.HandleFunc("GET /system/df", s.systemDf)

	m.HandleFunc("GET /containers/json", s.containerList)
	m.HandleFunc("POST /containers/create", s.containerCreate)
	m.HandleFunc("POST /containers/prune", s.containerPrune)
	m.HandleFunc("POST /commit", s.containerCommit)
	m.HandleFunc("GET /containers/{id}/json", s.containerInspect)
	m.HandleFunc("POST /containers/{id}/start", s.containerStart)
	m.HandleFunc("POST /containers/{id}/stop", s.containerStop)
	m.HandleFunc("POST /containers/{id}/restart", s.containerRestart)
	m.HandleFunc("POST /containers/{id}/kill", s.containerKill)
	m.HandleFunc("POST /containers/{id}/wait", s.containerWait)
	m.HandleFunc("DELETE /containers/{id}", s.containerDelete)
	m.HandleFunc("GET /containers/{id}/logs", s.containerLogs)
	m.HandleFunc("POST /containers/{id}/attach", s.containerAttach)
	m.HandleFunc("POST /containers/{id}/resize", s.containerResize)

	m.HandleFunc("GET /containers/{id}/top", s.containerTop)
	m.HandleFunc("GET /containers/{id}/stats", s.containerStats)
	m.HandleFunc("HEAD /containers/{id}/archive", s.archiveStat)
	m.HandleFunc("GET /containers/{id}/archive", s.archiveGet)
	m.HandleFunc("PUT /containers/{id}/archive", s.archivePut)
	m.HandleFunc("POST /containers/{id}/update", s.containerUpdate)
	m.HandleFunc("POST /containers/{id}/rename", s.containerRename)
	m.HandleFunc("POST /containers/{id}/pause", s.containerPause)
	m.HandleFunc("POST /containers/{id}/unpause", s.containerPause)
	m.HandleFunc("POST /containers/{id}/exec", s.execCreate)
	m.HandleFunc("POST /exec/{id}/start", s.execStart)
	m.HandleFunc("GET /exec/{id}/json", s.execInspect)
	m.HandleFunc("POST /exec/{id}/resize", s.execResize)

	m.HandleFunc("GET /images/json", s.imageList)
	m.HandleFunc("POST /images/create", s.imageCreate)
	m.HandleFunc("POST /images/prune", s.imagePrune)
	m.HandleFunc("POST /build", s.imageBuild)
	m.HandleFunc("POST /build/prune", s.buildPrune)
	m.HandleFunc("GET /images/{name...}", s.imageGet) // NAME/json: names have slashes
	m.HandleFunc("DELETE /images/{name...}", s.imageDelete)
	m.HandleFunc("POST /images/{name...}", s.imagePost) // NAME/tag

	m.HandleFunc("GET /networks", s.networkList)
	m.HandleFunc("POST /networks/create", s.networkCreate)
	m.HandleFunc("GET /networks/{id}", s.networkInspect)
	m.HandleFunc("DELETE /networks/{id}", s.networkDelete)
	m.HandleFunc("POST /networks/prune", s.networkPrune)
	m.HandleFunc("POST /networks/{id}/connect", s.networkConnect)
	m.HandleFunc("POST /networks/{id}/disconnect", s.networkDisconnect)

	m.HandleFunc("GET /events", s.events)

	m.HandleFunc("GET /volumes", s.volumeList)
	m.HandleFunc("POST /volumes/create", s.volumeCreate)
	m.HandleFunc("POST /volumes/prune", s.volumePrune)
	m.HandleFunc("GET /volumes/{name}", s.volumeInspect)
	m.HandleFunc("DELETE /volumes/{name}", s.volumeDelete)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, fmt.Errorf("page not found: berth does not serve %s %s: %w", r.Method, r.URL.Path, errdefs.ErrNotFound))
	})
}

// host opens the container state for one request. Its command carries
// the request's context; warnings go to the service's stderr (the
// journal).
func (s *apiServer) host(r *http.Request) (*host, error) {
	c := &cobra.Command{}
	c.SetContext(r.Context())
	c.SetOut(io.Discard)
	c.SetErr(os.Stderr)
	return s.g.host(c)
}

// classed gives err an errdefs class without changing its message (the
// CLI prints it as it was).
type classed struct {
	error
	class error
}

func (c classed) Is(target error) bool { return target == c.class }
func (c classed) Unwrap() error        { return c.error }

// apiStatus maps berth's error classes to Docker's status codes.
func apiStatus(err error) int {
	var ue usageError
	switch {
	case errdefs.IsNotFound(err):
		return http.StatusNotFound
	case errdefs.IsConflict(err), errdefs.IsAlreadyExists(err):
		return http.StatusConflict
	case errdefs.IsInvalid(err), errors.As(err, &ue):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// apiMessage is err's text without the class suffix that %w leaves
// (": not found"), which Docker's messages do not have.
func apiMessage(err error) string {
	msg := err.Error()
	for _, class := range []error{errdefs.ErrNotFound, errdefs.ErrConflict, errdefs.ErrInvalid, errdefs.ErrAlreadyExists, errdefs.ErrUnavailable} {
		msg = strings.TrimSuffix(msg, ": "+class.Error())
	}
	return msg
}

// apiError writes err as Docker does: {"message": …} with the status of
// its class.
func apiError(w http.ResponseWriter, err error) {
	writeJSON(w, apiStatus(err), types.ErrorResponse{Message: apiMessage(err)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body into v; an empty body is v's zero
// value.
func decodeBody(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("invalid JSON body: %v: %w", err, errdefs.ErrInvalid)
}

// boolParam reads Docker's boolean query values: 1, true, True.
func boolParam(r *http.Request, name string) bool {
	v := strings.ToLower(r.URL.Query().Get(name))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// Stream kinds of Docker's multiplexed stream (stdcopy).
const (
	streamStdout = 1
	streamStderr = 2
)

// muxWriter writes frames of Docker's multiplexed stream: an 8-byte
// header (stream, 3 zero bytes, big-endian length) before each payload,
// flushed at once. It is safe for concurrent use.
type muxWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (m *muxWriter) frame(stream byte, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var hdr [8]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := m.w.Write(append(hdr[:], p...)); err != nil {
		return err
	}
	if f, ok := m.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// streamWriter is one stream of a muxWriter as an io.Writer, or the
// raw writer itself for a terminal (Docker sends a -t container's output
// unframed).
func streamWriter(m *muxWriter, stream byte, raw bool) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if raw {
			m.mu.Lock()
			defer m.mu.Unlock()
			n, err := m.w.Write(p)
			if f, ok := m.w.(http.Flusher); ok {
				f.Flush()
			}
			return n, err
		}
		return len(p), m.frame(stream, p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// flush sends what w holds (headers of a streaming response).
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
