package imagestore

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultPullJobs is how many layers Pull downloads at a time, as
// Docker's max-concurrent-downloads.
const DefaultPullJobs = 3

// PullOptions configure Pull.
type PullOptions struct {
	// Platform picks the image from a multi-platform index, as
	// OS/ARCH[/VARIANT] ("linux/arm64/v8"); empty means this machine's
	// (runtime.GOOS/runtime.GOARCH).
	Platform string
	// Insecure allows plain HTTP and unverified TLS certificates for the
	// registry, as Docker's insecure-registries. A registry on loopback
	// (localhost, 127.0.0.0/8, ::1) may use plain HTTP without it; every
	// other registry must speak verified HTTPS.
	Insecure bool
	// Jobs is how many layers are downloaded at a time; 0 means
	// DefaultPullJobs.
	Jobs int
	// Progress, when set, receives the pull's progress. It is never
	// called concurrently, and should return quickly.
	Progress func(ProgressEvent)
	// Auth, when set, are the credentials to use (the Engine API's
	// client sends its own); else berth login's file and Docker's
	// keychain.
	Auth authn.Authenticator
}

// PullState is where one layer of a pull stands.
type PullState int

const (
	// PullResolved is the event for the image as a whole, sent once
	// before any layer event: the reference resolved to
	// ProgressEvent.Digest at the registry (for a multi-platform image,
	// the index's digest, as Docker prints it).
	PullResolved PullState = iota
	// PullWaiting: the layer is needed and waits for a download slot.
	PullWaiting
	// PullDownloading: Current of Total bytes of the layer's blob have
	// been read (and unpacked on the way).
	PullDownloading
	// PullDone: the layer is downloaded, verified and unpacked. It
	// becomes visible in the store only when the whole image is.
	PullDone
	// PullExists: the layer is in the store already; nothing is fetched.
	PullExists
)

// String is Docker's word for the state.
func (s PullState) String() string {
	switch s {
	case PullResolved:
		return "Resolved"
	case PullWaiting:
		return "Waiting"
	case PullDownloading:
		return "Downloading"
	case PullDone:
		return "Pull complete"
	case PullExists:
		return "Already exists"
	}
	return fmt.Sprintf("PullState(%d)", int(s))
}

// ProgressEvent reports progress of a pull.
type ProgressEvent struct {
	State PullState
	// Digest is the layer's blob digest as the manifest lists it; for
	// PullResolved the digest the reference resolved to.
	Digest digest.Digest
	// Current and Total are bytes of the layer's blob (Total from the
	// manifest), set for PullDownloading and PullDone.
	Current, Total int64
}

// RemoteReference is a reference resolved for pulling: where the image
// comes from and the name it gets in the store.
type RemoteReference struct {
	// Local is the name in the store: the reference as written, with a
	// default tag, and Docker Hub names in Docker's short form
	// (docker.io/library/busybox is busybox), so that `berth run busybox`
	// finds what `berth pull docker.io/library/busybox` fetched.
	Local Reference
	// Registry is the registry's address, e.g. "docker.io" or
	// "127.0.0.1:5000".
	Registry string
	// Repository is the path in the registry, e.g. "library/busybox".
	Repository string
	// Full is the fully qualified reference, as docker pull prints it
	// last: "docker.io/library/busybox:latest".
	Full string

	ref name.Reference
}

// dockerHub is the registry a name without a domain comes from, as
// Docker resolves it.
const dockerHub = "docker.io"

// ParseRemoteReference resolves s Docker-style: a name without a
// registry comes from Docker Hub (busybox is
// docker.io/library/busybox:latest). The error wraps errdefs.ErrInvalid.
func ParseRemoteReference(s string) (RemoteReference, error) {
	local, err := ParseReference(s)
	if err != nil {
		return RemoteReference{}, err
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return RemoteReference{}, fmt.Errorf("invalid reference %q: %v: %w", s, err, errdefs.ErrInvalid)
	}
	registry := ref.Context().RegistryStr()
	if registry == name.DefaultRegistry {
		registry = dockerHub
	}
	rr := RemoteReference{Local: familiar(local), Registry: registry, Repository: ref.Context().RepositoryStr(), ref: ref}
	rr.Full = registry + "/" + rr.Repository
	if local.Tag != "" {
		rr.Full += ":" + local.Tag
	}
	if local.Digest != "" {
		rr.Full += "@" + local.Digest.String()
	}
	return rr, nil
}

// familiar drops Docker Hub's domain, and its library/ prefix for
// official images, from r's name, as Docker spells names.
func familiar(r Reference) Reference {
	first, rest, ok := strings.Cut(r.Name, "/")
	switch {
	case ok && (first == dockerHub || first == name.DefaultRegistry):
		r.Name = rest
	case ok && (strings.ContainsAny(first, ".:") || first == "localhost"):
		return r // another registry
	}
	if path, ok := strings.CutPrefix(r.Name, "library/"); ok && !strings.Contains(path, "/") {
		r.Name = path
	}
	return r
}

// Pull fetches ref from its registry and stores it under its local name
// (RemoteReference.Local), as `docker pull` does. From a multi-platform
// index it takes the image for opts.Platform. The config and layers are
// verified against their digests, each layer's uncompressed content
// against the config's diff ID; layers are downloaded a few at a time
// (gzip, zstd or plain tar) and unpacked in the same pass, each once per
// chain ID, exactly as Import stores them. Layers the store has already
// are not fetched; pulling an image that is up to date writes nothing.
//
// A pull that fails, or is cancelled, leaves the store as it was: every
// layer is staged in a locked temporary directory and moved into place
// only when all of them are verified, and the name is set last.
//
// Errors wrap errdefs.ErrInvalid for a bad reference or content that
// does not match its digest, errdefs.ErrNotFound when the registry does
// not know the image (the message carries its answer), and
// errdefs.ErrUnavailable when it cannot be reached.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (Image, error) {
	rr, err := ParseRemoteReference(ref)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := s.pull(ctx, rr, opts)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", rr.Full, err)
	}
	return img, nil
}

func (s *Store) pull(ctx context.Context, rr RemoteReference, opts PullOptions) (Image, error) {
	plat := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if opts.Platform != "" {
		p, err := v1.ParsePlatform(opts.Platform)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return Image{}, fmt.Errorf("platform %q: want OS/ARCH[/VARIANT]: %w", opts.Platform, errdefs.ErrInvalid)
		}
		plat = *p
	}
	p := &puller{s: s, rr: rr, opts: opts}
	if p.opts.Jobs <= 0 {
		p.opts.Jobs = DefaultPullJobs
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithPlatform(plat),
		authOption(opts.Auth),
		remote.WithTransport(registryTransport(rr.Registry, opts.Insecure)),
		remote.WithUserAgent("berth"),
	}
	ref := rr.ref
	if opts.Insecure {
		// Lets go-containerregistry fall back to plain HTTP.
		var err error
		if ref, err = name.ParseReference(rr.Full, name.Insecure); err != nil {
			return Image{}, fmt.Errorf("%v: %w", err, errdefs.ErrInvalid)
		}
	}

	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return Image{}, p.registryError("manifest", err)
	}
	p.progress(ProgressEvent{State: PullResolved, Digest: digest.Digest(desc.Digest.String())})
	rimg, err := desc.Image()
	if err != nil {
		if desc.MediaType.IsIndex() && !isTransportError(err) {
			return Image{}, fmt.Errorf("no image for platform %s in %s: %v: %w", plat, rr.Full, err, errdefs.ErrNotFound)
		}
		return Image{}, p.registryError("manifest", err)
	}
	return p.fetch(ctx, rimg, plat)
}

// puller is one Pull in progress.
type puller struct {
	s    *Store
	rr   RemoteReference
	opts PullOptions
	mu   sync.Mutex // serialises opts.Progress
}

func (p *puller) progress(ev ProgressEvent) {
	if p.opts.Progress == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts.Progress(ev)
}

// supportedLayer lists the layer media types Pull unpacks; the
// compression itself is recognised from the content.
var supportedLayer = map[string]bool{
	ocispec.MediaTypeImageLayer:                         true,
	ocispec.MediaTypeImageLayerGzip:                     true,
	ocispec.MediaTypeImageLayerZstd:                     true,
	"application/vnd.docker.image.rootfs.diff.tar":      true,
	"application/vnd.docker.image.rootfs.diff.tar.gzip": true,
	"application/vnd.docker.image.rootfs.diff.tar.zstd": true,
}

// fetch stores the image rimg: config and layers, then manifest and name.
func (p *puller) fetch(ctx context.Context, rimg v1.Image, plat v1.Platform) (Image, error) {
	s := p.s
	rawManifest, err := rimg.RawManifest()
	if err != nil {
		return Image{}, p.registryError("manifest", err)
	}
	mDigest := digest.FromBytes(rawManifest)
	mediaType, err := rimg.MediaType()
	if err != nil {
		return Image{}, p.registryError("manifest", err)
	}
	if !mediaType.IsImage() {
		return Image{}, fmt.Errorf("manifest %s has media type %s, not an image: %w", mDigest, mediaType, errdefs.ErrInvalid)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(rawManifest, &m); err != nil {
		return Image{}, fmt.Errorf("manifest %s: %v: %w", mDigest, err, errdefs.ErrInvalid)
	}
	if err := m.Config.Digest.Validate(); err != nil {
		return Image{}, fmt.Errorf("manifest %s: config digest %q: %w", mDigest, m.Config.Digest, errdefs.ErrInvalid)
	}
	for _, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return Image{}, fmt.Errorf("manifest %s: layer digest %q: %w", mDigest, l.Digest, errdefs.ErrInvalid)
		}
		if !supportedLayer[l.MediaType] {
			return Image{}, fmt.Errorf("layer %s: media type %q is not supported: %w", l.Digest, l.MediaType, errdefs.ErrInvalid)
		}
	}

	rawConfig, err := rimg.RawConfigFile()
	if err != nil {
		return Image{}, p.registryError("config "+m.Config.Digest.String(), err)
	}
	if got := digest.FromBytes(rawConfig); got != m.Config.Digest {
		return Image{}, fmt.Errorf("config %s: the registry sent content with digest %s: %w", m.Config.Digest, got, errdefs.ErrInvalid)
	}
	img := Image{ID: m.Config.Digest, Manifest: mDigest, Names: []string{p.rr.Local.String()}}
	if err := json.Unmarshal(rawConfig, &img.Config); err != nil {
		return Image{}, fmt.Errorf("config %s: %v: %w", m.Config.Digest, err, errdefs.ErrInvalid)
	}
	if n, want := len(img.DiffIDs()), len(m.Layers); n != want {
		return Image{}, fmt.Errorf("config %s lists %d layers (rootfs.diff_ids), the manifest %d: %w", m.Config.Digest, n, want, errdefs.ErrInvalid)
	}
	for _, d := range img.DiffIDs() {
		if err := d.Validate(); err != nil {
			return Image{}, fmt.Errorf("config %s: diff ID %q: %w", m.Config.Digest, d, errdefs.ErrInvalid)
		}
	}
	if c := img.Config; c.OS != plat.OS || c.Architecture != plat.Architecture {
		s.warn(fmt.Sprintf("image %s is for %s/%s, not %s/%s", p.rr.Full, c.OS, c.Architecture, plat.OS, plat.Architecture))
	}
	for _, l := range m.Layers {
		img.Size += l.Size
	}
	remoteLayers, err := rimg.Layers()
	if err != nil {
		return Image{}, p.registryError("manifest", err)
	}
	if len(remoteLayers) != len(m.Layers) {
		return Image{}, fmt.Errorf("manifest %s: %d layers, go-containerregistry sees %d: %w", mDigest, len(m.Layers), len(remoteLayers), errdefs.ErrInvalid)
	}

	gc, err := s.gcLock(false)
	if err != nil {
		return Image{}, err
	}
	defer gc.Unlock()

	staged, err := p.layers(ctx, m.Layers, remoteLayers, img)
	defer func() {
		for _, st := range staged {
			if st != nil {
				st.discard()
			}
		}
	}()
	if err != nil {
		return Image{}, err
	}
	for i, st := range staged {
		if st == nil {
			continue
		}
		if err := st.commit(s, img.ChainIDs()[i]); err != nil {
			return Image{}, err
		}
	}
	for _, blob := range [][]byte{rawConfig, rawManifest} {
		if _, err := s.writeBlob(blob); err != nil {
			return Image{}, err
		}
	}
	desc := ocispec.Descriptor{MediaType: string(mediaType), Digest: mDigest, Size: int64(len(rawManifest))}
	name := p.rr.Local.String()
	if p.rr.Local.Name == "" {
		// No name (an untagged image of an archive): a dangling image.
		img.Names = nil
		return img, s.updateIndex(func(idx *ocispec.Index) error {
			if !references(idx.Manifests, mDigest) {
				idx.Manifests = append(idx.Manifests, desc)
			}
			return nil
		})
	}
	if idx, err := s.readIndex(); err == nil && tagged(idx, name, mDigest) {
		return img, nil // up to date: change nothing
	}
	if err := s.updateIndex(func(idx *ocispec.Index) error {
		setRef(idx, desc, name)
		return nil
	}); err != nil {
		return Image{}, err
	}
	return img, nil
}

// tagged says whether name points at manifest d in idx.
func tagged(idx *ocispec.Index, name string, d digest.Digest) bool {
	for _, m := range idx.Manifests {
		if m.Digest == d && m.Annotations[ocispec.AnnotationRefName] == name {
			return true
		}
	}
	return false
}

// layers stages every layer that the store lacks, opts.Jobs at a time,
// and returns them by index (nil where nothing was needed). On error
// the caller still discards what was staged.
func (p *puller) layers(ctx context.Context, descs []ocispec.Descriptor, remoteLayers []v1.Layer, img Image) ([]*stagedLayer, error) {
	s := p.s
	chains := img.ChainIDs()
	staged := make([]*stagedLayer, len(descs))
	type job struct {
		i                 int
		haveBlob, haveDir bool
	}
	var jobs []job
	for i, d := range descs {
		_, errBlob := os.Stat(s.blobPath(d.Digest))
		_, errDir := os.Stat(s.LayerPath(chains[i]))
		j := job{i: i, haveBlob: errBlob == nil, haveDir: errDir == nil}
		if j.haveBlob && j.haveDir {
			p.progress(ProgressEvent{State: PullExists, Digest: d.Digest, Total: d.Size})
			continue
		}
		p.progress(ProgressEvent{State: PullWaiting, Digest: d.Digest, Total: d.Size})
		jobs = append(jobs, j)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, max(p.opts.Jobs, 1))
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			st, err := p.layer(ctx, descs[j.i], remoteLayers[j.i], img.DiffIDs()[j.i], j.haveBlob, j.haveDir)
			mu.Lock()
			defer mu.Unlock()
			staged[j.i] = st
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return staged, firstErr
}

// layer stages one layer: downloaded and unpacked, or only unpacked
// from the blob the store has, or only downloaded when its directory
// exists but its blob does not. Both digests are checked.
func (p *puller) layer(ctx context.Context, d ocispec.Descriptor, rl v1.Layer, diffID digest.Digest, haveBlob, haveDir bool) (*stagedLayer, error) {
	short := d.Digest.Encoded()[:12]
	var (
		src  io.Reader
		dl   *download
		opts = stageOptions{blob: blobRaw, unpack: !haveDir}
	)
	if haveBlob {
		f, err := os.Open(p.s.blobPath(d.Digest))
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", short, err)
		}
		defer f.Close()
		src, opts.blob = f, blobNone
	} else {
		rc, err := rl.Compressed()
		if err != nil {
			return nil, p.registryError("layer "+d.Digest.String(), err)
		}
		defer rc.Close()
		// Cancelling ctx (another layer failed) stops a read that
		// waits on the network, not only Unpack between entries.
		stop := context.AfterFunc(ctx, func() { rc.Close() })
		defer stop()
		dl = &download{r: rc, p: p, desc: d}
		src = dl
	}
	st, err := p.s.stageLayer(ctx, src, opts)
	if err != nil && dl != nil && dl.err == nil && ctx.Err() == nil {
		// The content was refused (corrupt gzip, a bad tar) before its
		// end: read the rest, at most the size the manifest gives, to
		// learn whether the registry sent what the digest names.
		io.Copy(io.Discard, dl)
	}
	if dl != nil && dl.err != nil && ctx.Err() == nil {
		// The registry's stream failed (a digest or size mismatch is
		// found by go-containerregistry at its end): say so rather than
		// what the tar reader made of it.
		if st != nil {
			st.discard()
		}
		return nil, p.registryError("layer "+d.Digest.String(), dl.err)
	}
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	var bad error
	switch {
	case st.rawDigest != d.Digest:
		bad = fmt.Errorf("layer %s: the registry sent content with digest %s", d.Digest, st.rawDigest)
	case d.Size > 0 && st.rawSize != d.Size:
		bad = fmt.Errorf("layer %s: the registry sent %d bytes, the manifest says %d", d.Digest, st.rawSize, d.Size)
	case st.diffID != diffID:
		bad = fmt.Errorf("layer %s: uncompressed content has digest %s, the config's rootfs.diff_ids say %s", d.Digest, st.diffID, diffID)
	}
	if bad != nil {
		st.discard()
		return nil, fmt.Errorf("%w: %w", bad, errdefs.ErrInvalid)
	}
	p.progress(ProgressEvent{State: PullDone, Digest: d.Digest, Current: st.rawSize, Total: d.Size})
	return st, nil
}

// download reads a layer's blob from the registry, reports progress
// and keeps the stream's own error.
type download struct {
	r    io.Reader
	p    *puller
	desc ocispec.Descriptor
	n    int64
	last time.Time
	err  error
}

func (d *download) Read(b []byte) (int, error) {
	n, err := d.r.Read(b)
	d.n += int64(n)
	if err != nil && err != io.EOF && d.err == nil {
		d.err = err
	}
	if now := time.Now(); n > 0 && (now.Sub(d.last) >= 100*time.Millisecond || d.n == d.desc.Size) {
		d.last = now
		d.p.progress(ProgressEvent{State: PullDownloading, Digest: d.desc.Digest, Current: d.n, Total: d.desc.Size})
	}
	return n, err
}

// registryError classifies an error from talking to the registry about
// what (manifest, config, layer …): not found, unreachable, or as it is.
func (p *puller) registryError(what string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		answer := registryAnswer(te)
		switch {
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
			return fmt.Errorf("%s for %s not found: %s: %w", what, p.rr.Full, answer, errdefs.ErrNotFound)
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return fmt.Errorf("pull access denied for %s/%s, the repository does not exist or needs credentials ($HOME/.docker/config.json): %s: %w",
				p.rr.Registry, p.rr.Repository, answer, errdefs.ErrNotFound)
		case te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500:
			return fmt.Errorf("registry %s: %s: %w", p.rr.Registry, answer, errdefs.ErrUnavailable)
		}
		return fmt.Errorf("registry %s: %s: %s", p.rr.Registry, what, answer)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isVerifyError(err) {
		return fmt.Errorf("%s: the registry sent content that does not match its digest: %v: %w", what, err, errdefs.ErrInvalid)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errPlainHTTP) {
		return fmt.Errorf("registry %s is unreachable: %v: %w", p.rr.Registry, err, errdefs.ErrUnavailable)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isVerifyError recognises go-containerregistry's refusal of a blob
// whose size or digest is not what was asked for. Its error types are
// internal, so their messages are matched (see its internal/verify and
// remote/fetcher.go); TestPullRefusesLies keeps the match honest.
func isVerifyError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "error verifying") || strings.Contains(msg, "does not match expected size")
}

func registryAnswer(te *transport.Error) string {
	var msgs []string
	for _, d := range te.Errors {
		msg := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		if d.Message != "" && !strings.EqualFold(d.Message, msg) {
			msg += ": " + d.Message
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return fmt.Sprintf("HTTP %d %s", te.StatusCode, http.StatusText(te.StatusCode))
	}
	return strings.Join(msgs, "; ")
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

func isTransportError(err error) bool {
	var te *transport.Error
	var ne net.Error
	return errors.As(err, &te) || errors.As(err, &ne)
}

// errPlainHTTP is refused plain HTTP to a registry that must use HTTPS.
var errPlainHTTP = errors.New("plain HTTP refused: the registry is not on loopback and not insecure")

// registryTransport is the HTTP transport for registry: go-containerregistry's
// default, which also tries plain HTTP for private addresses. Plain HTTP is
// allowed here only for loopback, as Docker does, or when insecure, which
// also skips TLS verification.
func registryTransport(registry string, insecure bool) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for
		return t
	}
	if isLoopback(registry) {
		return t
	}
	return httpsOnly{t}
}

type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Host, errPlainHTTP)
	}
	return h.next.RoundTrip(req)
}

// isLoopback says whether a registry address (host[:port]) is on this
// machine: localhost, 127.0.0.0/8 or ::1.
func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
