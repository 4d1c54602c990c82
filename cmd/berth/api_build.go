package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berth/berth/imagebuild"
	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine/fscopy"
)

// buildMessage is one line of the classic builder's JSON stream: the
// text the CLI prints, the image ID (aux), or the error that ends it
// (its code is docker build's exit status).
type buildMessage struct {
	Stream      string            `json:"stream,omitempty"`
	Aux         *buildAux         `json:"aux,omitempty"`
	Error       string            `json:"error,omitempty"`
	ErrorDetail *buildErrorDetail `json:"errorDetail,omitempty"`
}

type buildAux struct {
	ID string `json:"ID"`
}

type buildErrorDetail struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message"`
}

// buildStream writes what a build prints as stream messages, one a
// write, flushed at once; it is safe for RUN's stdout and stderr at once.
type buildStream struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func (b *buildStream) send(m buildMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	jsonLine(b.w, m)
}

func (b *buildStream) Write(p []byte) (int, error) {
	b.send(buildMessage{Stream: string(p)})
	return len(p), nil
}

// buildQuery is POST /build's query, as the docker CLI's classic
// builder sends it.
type buildQuery struct {
	dockerfile string
	tags       []string
	buildArgs  map[string]string
	labels     map[string]string
	target     string
	network    string
	noCache    bool
	pull       bool
	quiet      bool
}

// parseBuildQuery reads the query; what berth's builder cannot do is an
// error of the request (400).
func parseBuildQuery(r *http.Request) (buildQuery, error) {
	q := r.URL.Query()
	bq := buildQuery{dockerfile: q.Get("dockerfile"), target: q.Get("target"), network: q.Get("networkmode"),
		noCache: boolParam(r, "nocache"), pull: boolParam(r, "pull"), quiet: boolParam(r, "q"),
		buildArgs: map[string]string{}, labels: map[string]string{}}
	bad := func(format string, a ...any) (buildQuery, error) {
		return buildQuery{}, fmt.Errorf(format+": %w", append(a, errdefs.ErrInvalid)...)
	}
	if q.Get("remote") != "" {
		return bad("berth builds from the context the client sends, not from a remote URL")
	}
	if q.Get("version") == "2" {
		return bad("berth has no BuildKit: use the classic builder (DOCKER_BUILDKIT=0)")
	}
	if q.Get("platform") != "" || q.Get("outputs") != "" {
		return bad("berth builds for this machine's platform into its image store only (no --platform, no --output)")
	}
	if bq.dockerfile == "" {
		bq.dockerfile = "Dockerfile"
	}
	switch bq.network {
	case "", "default", "bridge", "host", "none":
	default:
		return bad("invalid --network %q: berth build knows default, host and none", bq.network)
	}
	for _, t := range q["t"] {
		ref, err := imagestore.ParseReference(familiarName(t))
		if err != nil {
			return buildQuery{}, classed{fmt.Errorf("invalid tag %q: %s", t, apiMessage(err)), errdefs.ErrInvalid}
		}
		bq.tags = append(bq.tags, ref.String())
	}
	if v := q.Get("buildargs"); v != "" {
		// A null value is an argument the client had no value for: no
		// build arg, as Docker.
		var args map[string]*string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			return bad("invalid buildargs: %v", err)
		}
		for k, v := range args {
			if v != nil {
				bq.buildArgs[k] = *v
			}
		}
	}
	if v := q.Get("labels"); v != "" {
		if err := json.Unmarshal([]byte(v), &bq.labels); err != nil {
			return bad("invalid labels: %v", err)
		}
	}
	return bq, nil
}

// imageBuild is POST /build (docker build with the classic builder;
// /_ping says Builder-Version 1, so the CLI picks it): the body, the
// build context as a tar (gzip too), is extracted inside a directory of
// berth's, and built by berth build's builder (imagebuild, RUN steps as
// containers of berth run). Its steps and RUN's output come back as
// Docker's JSON stream, the image ID as aux, a failure as the last
// message with the exit code of the RUN that failed.
func (s *apiServer) imageBuild(w http.ResponseWriter, r *http.Request) {
	bq, err := parseBuildQuery(r)
	if err != nil {
		apiError(w, err)
		return
	}
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	st, err := s.g.openStore(h.cmd)
	if err != nil {
		apiError(w, err)
		return
	}
	tmp := filepath.Join(s.g.root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		apiError(w, err)
		return
	}
	ctxDir, err := os.MkdirTemp(tmp, "build-context-")
	if err != nil {
		apiError(w, err)
		return
	}
	defer os.RemoveAll(ctxDir)
	if err := extractBuildContext(r.Body, ctxDir); err != nil {
		apiError(w, err)
		return
	}
	df, err := readContextDockerfile(ctxDir, bq.dockerfile)
	if err != nil {
		apiError(w, err)
		return
	}
	if needsRun(df) {
		if _, err := h.systemd(r.Context()); err != nil {
			apiError(w, err)
			return
		}
	}

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush(w)
	out := &buildStream{w: w}
	opts := imagebuild.Options{ContextDir: ctxDir, Dockerfile: df, Target: bq.target, NoCache: bq.noCache,
		Network: bq.network, Tags: bq.tags, BuildArgs: bq.buildArgs, Labels: bq.labels,
		CacheDir: filepath.Join(s.g.root, "build-cache"), TmpDir: tmp,
		Out: out, Stdout: out, Stderr: out}
	if bq.quiet {
		opts.Out, opts.Stdout, opts.Stderr = nil, io.Discard, io.Discard
	}
	if bq.pull {
		opts.Pull = func(ctx context.Context, ref string) error { return buildPull(h.cmd, s.g, ref, opts.Out) }
	}
	img, err := imagebuild.Build(r.Context(), st, &buildRunner{h: h}, opts)
	var re *imagebuild.RunError
	switch {
	case errors.As(err, &re):
		// dockerd's words; the code is docker build's exit status.
		msg := fmt.Sprintf("The command '%s' returned a non-zero code: %d", strings.Join(re.Argv, " "), re.Code)
		out.send(buildMessage{Error: msg, ErrorDetail: &buildErrorDetail{Code: re.Code, Message: msg}})
		return
	case err != nil:
		out.send(buildMessage{Error: err.Error(), ErrorDetail: &buildErrorDetail{Code: 1, Message: err.Error()}})
		return
	}
	out.send(buildMessage{Aux: &buildAux{ID: img.ID.String()}})
	if bq.quiet {
		out.send(buildMessage{Stream: img.ID.String() + "\n"})
		return
	}
	out.send(buildMessage{Stream: "Successfully built " + img.ID.Encoded()[:12] + "\n"})
}

// extractBuildContext extracts the context tar (plain or gzip) into
// dir; an entry that would leave dir is refused (fscopy resolves every
// path inside it).
func extractBuildContext(body io.Reader, dir string) error {
	br := bufio.NewReader(body)
	var rd io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("build context: %v: %w", err, errdefs.ErrInvalid)
		}
		defer zr.Close()
		rd = zr
	}
	root, err := fscopy.OpenRoot(dir, "build context")
	if err != nil {
		return err
	}
	defer root.Close()
	// root's files: COPY and ADD give them their owners (root, or --chown).
	if err := root.ExtractTar(tar.NewReader(rd), "/", fscopy.FixedOwner(0, 0)); err != nil {
		return fmt.Errorf("build context: %v: %w", err, errdefs.ErrInvalid)
	}
	return nil
}

// readContextDockerfile parses the Dockerfile name inside the context
// (the CLI puts one given with -f outside the context, or on stdin, in
// the archive under a name of its own).
func readContextDockerfile(ctxDir, name string) (*imagebuild.Dockerfile, error) {
	f, err := os.OpenInRoot(ctxDir, name)
	if err != nil {
		return nil, fmt.Errorf("Cannot locate specified Dockerfile: %s: %w", name, errdefs.ErrInvalid)
	}
	defer f.Close()
	df, err := imagebuild.Parse(filepath.Clean(name), f)
	if err != nil {
		return nil, classed{err, errdefs.ErrInvalid}
	}
	return df, nil
}
