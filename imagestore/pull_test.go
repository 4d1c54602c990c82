package imagestore

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// testRegistry is go-containerregistry's in-process registry behind a
// handler that logs blob downloads and can lie about chosen blobs.
type testRegistry struct {
	host string
	mu   sync.Mutex
	gets []string          // digests of GET …/blobs/DIGEST, in order
	lies map[string][]byte // digest → what is served instead
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	// No credentials from the developer's ~/.docker: anonymous only.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(t.TempDir(), "none.json"))
	tr := &testRegistry{lies: map[string][]byte{}}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			d := path.Base(r.URL.Path)
			tr.mu.Lock()
			tr.gets = append(tr.gets, d)
			body, lie := tr.lies[d]
			tr.mu.Unlock()
			if lie {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Header().Set("Docker-Content-Digest", d)
				w.Write(body)
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) blobGets() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.gets...)
}

func (tr *testRegistry) lie(d v1.Hash, body []byte) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.lies[d.String()] = body
}

// push writes img to repo:tag ("test/app:1") in the registry and
// returns the full reference.
func (tr *testRegistry) push(t *testing.T, repoTag string, img v1.Image) string {
	t.Helper()
	ref := tr.host + "/" + repoTag
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// fileTar is a layer tar with one regular file.
func fileTar(t *testing.T, file, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: file, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	return buf.Bytes()
}

// gzipLayer is a gzip-compressed layer of tarball tb.
func gzipLayer(t *testing.T, tb []byte, opts ...tarball.LayerOption) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage is an image of layers for linux/arch, with Cmd ["sh"].
// edit, when set, changes its config file last.
func testImage(t *testing.T, arch string, edit func(*v1.ConfigFile), layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = []string{"sh"}
	if edit != nil {
		edit(cf)
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// twoLayers is the usual test image: rootfs(one), then etc/two.
func twoLayers(t *testing.T) v1.Image {
	return testImage(t, runtime.GOARCH, nil, gzipLayer(t, rootfs(t, "one")), gzipLayer(t, fileTar(t, "etc/two", "two")))
}

// events collects Progress events.
type events struct {
	mu  sync.Mutex
	all []ProgressEvent
}

func (e *events) add(ev ProgressEvent) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) count(s PullState) int {
	n := 0
	for _, ev := range e.all {
		if ev.State == s {
			n++
		}
	}
	return n
}

// snapshot describes every file under the store's root (content hashed)
// except the lock files, which exist once anyone locked.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasSuffix(rel, ".lock") && !strings.Contains(rel, "/") {
			return nil
		}
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
		default:
			out[rel] = d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffSnapshots(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, "-"+k)
		}
	}
	for k, v := range b {
		if a[k] != v {
			d = append(d, "+"+k)
		}
	}
	return d
}

func TestPullTwoLayersThenAgain(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	src := twoLayers(t)
	ref := tr.push(t, "test/app:1", src)
	s := openTest(t)

	var ev events
	img, err := s.Pull(ctx, ref, PullOptions{Progress: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := src.ConfigName()
	wantManifest, _ := src.Digest()
	if img.ID.String() != wantID.String() || img.Manifest.String() != wantManifest.String() {
		t.Errorf("pulled ID %s manifest %s, want %s %s", img.ID, img.Manifest, wantID, wantManifest)
	}
	if got := img.Config.Config.Cmd; len(got) != 1 || got[0] != "sh" {
		t.Errorf("config Cmd %q, want [sh]", got)
	}
	// Listed under the name as written, found by it.
	got, err := s.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != img.ID || len(got.Names) != 1 || got.Names[0] != ref {
		t.Errorf("Get(%s) = %s %v", ref, got.ID, got.Names)
	}
	// Each layer unpacked at its chain ID; the second only holds its own file.
	chains := got.ChainIDs()
	if len(chains) != 2 {
		t.Fatalf("chain IDs %v", chains)
	}
	for _, c := range []struct {
		chain        digest.Digest
		file, want   string
		absent       string
		layerBlobGet bool
	}{
		{chains[0], "etc/tag", "one", "etc/two", true},
		{chains[1], "etc/two", "two", "etc/tag", true},
	} {
		b, err := os.ReadFile(filepath.Join(s.LayerPath(c.chain), c.file))
		if err != nil || string(b) != c.want {
			t.Errorf("layer %s: %s = %q, %v; want %q", c.chain, c.file, b, err, c.want)
		}
		if _, err := os.Stat(filepath.Join(s.LayerPath(c.chain), c.absent)); err == nil {
			t.Errorf("layer %s has %s, which belongs to the other layer", c.chain, c.absent)
		}
	}
	if ev.count(PullWaiting) != 2 || ev.count(PullDone) != 2 || ev.count(PullExists) != 0 || ev.count(PullDownloading) < 2 {
		t.Errorf("first pull events: %+v", ev.all)
	}
	if ev.all[0].State != PullResolved || ev.all[0].Digest != img.Manifest {
		t.Errorf("first event %+v, want resolved to %s", ev.all[0], img.Manifest)
	}
	if n := len(tr.blobGets()); n != 3 {
		t.Errorf("first pull fetched %d blobs (%v), want config and 2 layers", n, tr.blobGets())
	}

	// Again: nothing is downloaded and nothing changes, index.json is
	// not even rewritten.
	before := snapshot(t, s.root)
	indexBefore, err := os.Stat(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	gets := len(tr.blobGets())
	var ev2 events
	again, err := s.Pull(ctx, ref, PullOptions{Progress: ev2.add})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != img.ID || again.Manifest != img.Manifest {
		t.Errorf("second pull: %s, want %s", again.ID, img.ID)
	}
	if extra := tr.blobGets()[gets:]; len(extra) > 1 {
		t.Errorf("second pull fetched blobs %v, want the config at most", extra)
	}
	if ev2.count(PullExists) != 2 || ev2.count(PullWaiting) != 0 || ev2.count(PullDownloading) != 0 {
		t.Errorf("second pull events: %+v", ev2.all)
	}
	if d := diffSnapshots(before, snapshot(t, s.root)); len(d) > 0 {
		t.Errorf("second pull changed the store: %v", d)
	}
	if indexAfter, err := os.Stat(s.indexPath()); err != nil || !os.SameFile(indexBefore, indexAfter) {
		t.Errorf("second pull rewrote index.json (%v)", err)
	}
}

// A store that has a layer's blob but not its directory unpacks it from
// the blob; one that has the directory but not the blob downloads only
// the blob.
func TestPullRepairsMissingHalf(t *testing.T) {
	ctx := context.Background()
	tr := newTestRegistry(t)
	src := twoLayers(t)
	ref := tr.push(t, "test/app:1", src)
	s := openTest(t)
	img, err := s.Pull(ctx, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := src.Layers()
	top, _ := layers[1].Digest()
	chains := img.ChainIDs()

	for _, tc := range []struct {
		name     string
		remove   string
		wantGets int
	}{
		{"layer directory missing", s.LayerPath(chains[1]), 0},
		{"layer blob missing", s.blobPath(digest.Digest(top.String())), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.RemoveAll(tc.remove); err != nil {
				t.Fatal(err)
			}
			gets := len(tr.blobGets())
			if _, err := s.Pull(ctx, ref, PullOptions{}); err != nil {
				t.Fatal(err)
			}
			var layerGets []string
			for _, g := range tr.blobGets()[gets:] {
				if g != img.ID.String() {
					layerGets = append(layerGets, g)
				}
			}
			if len(layerGets) != tc.wantGets {
				t.Errorf("layer downloads %v, want %d", layerGets, tc.wantGets)
			}
			if _, err := os.Stat(tc.remove); err != nil {
				t.Errorf("%s not restored: %v", tc.remove, err)
			}
			if b, err := os.ReadFile(filepath.Join(s.LayerPath(chains[1]), "etc/two")); err != nil || string(b) != "two" {
				t.Errorf("top layer: %q %v", b, err)
			}
		})
	}
}

func TestPullZstdLayer(t *testing.T) {
	tr := newTestRegistry(t)
	l := gzipLayer(t, rootfs(t, "zstd"), tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	ref := tr.push(t, "test/zstd:1", testImage(t, runtime.GOARCH, nil, l))
	s := openTest(t)
	img, err := s.Pull(context.Background(), ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.LayerPath(img.ChainIDs()[0]), "etc/tag"))
	if err != nil || string(b) != "zstd" {
		t.Errorf("etc/tag = %q, %v", b, err)
	}
}

// A registry that lies, about a layer or the config, fails the pull and
// leaves the store exactly as it was, even when an earlier layer was
// good.
func TestPullRefusesLies(t *testing.T) {
	// Uncompressed layers of the same size, so that a swapped blob has
	// the size the manifest says and only the digest tells.
	good := static.NewLayer(fileTar(t, "etc/two", "aaaa"), types.OCIUncompressedLayer)
	other := fileTar(t, "etc/two", "bbbb")
	for _, tc := range []struct {
		name string
		img  func(t *testing.T) v1.Image
		lie  func(t *testing.T, tr *testRegistry, img v1.Image)
		want string
	}{
		{
			name: "layer blob with another content of the same size",
			img: func(t *testing.T) v1.Image {
				return testImage(t, runtime.GOARCH, nil, gzipLayer(t, rootfs(t, "one")), good)
			},
			lie: func(t *testing.T, tr *testRegistry, img v1.Image) {
				d, _ := good.Digest()
				tr.lie(d, other)
			},
			want: "does not match its digest",
		},
		{
			name: "gzip layer blob with a flipped byte",
			img:  twoLayers,
			lie: func(t *testing.T, tr *testRegistry, img v1.Image) {
				layers, _ := img.Layers()
				d, _ := layers[1].Digest()
				rc, _ := layers[1].Compressed()
				b, _ := io.ReadAll(rc)
				b[len(b)/2] ^= 0xff
				tr.lie(d, b)
			},
			want: "does not match its digest",
		},
		{
			name: "layer blob truncated",
			img:  twoLayers,
			lie: func(t *testing.T, tr *testRegistry, img v1.Image) {
				layers, _ := img.Layers()
				d, _ := layers[1].Digest()
				rc, _ := layers[1].Compressed()
				b, _ := io.ReadAll(rc)
				tr.lie(d, b[:len(b)-8])
			},
			want: "does not match",
		},
		{
			name: "config blob with another content",
			img:  twoLayers,
			lie: func(t *testing.T, tr *testRegistry, img v1.Image) {
				d, _ := img.ConfigName()
				raw, _ := img.RawConfigFile()
				tr.lie(d, bytes.Replace(raw, []byte(`"sh"`), []byte(`"rm"`), 1))
			},
			want: "does not match its digest",
		},
		{
			name: "config diff_ids that are not the layers'",
			img: func(t *testing.T) v1.Image {
				return testImage(t, runtime.GOARCH, func(cf *v1.ConfigFile) {
					cf.RootFS.DiffIDs[1], _ = v1.NewHash(digest.FromString("another layer").String())
				}, gzipLayer(t, rootfs(t, "one")), good)
			},
			want: "rootfs.diff_ids",
		},
		{
			name: "config with fewer diff_ids than layers",
			img: func(t *testing.T) v1.Image {
				return testImage(t, runtime.GOARCH, func(cf *v1.ConfigFile) {
					cf.RootFS.DiffIDs = cf.RootFS.DiffIDs[:1]
				}, gzipLayer(t, rootfs(t, "one")), good)
			},
			want: "lists 1 layers",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tr := newTestRegistry(t)
			img := tc.img(t)
			ref := tr.push(t, "test/liar:1", img)
			if tc.lie != nil {
				tc.lie(t, tr, img)
			}
			s := openTest(t)
			// Something in the store already, to see that it stays.
			if _, err := s.Import(ctx, bytes.NewReader(rootfs(t, "kept")), mustRef(t, "kept"), ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, s.root)
			_, err := s.Pull(ctx, ref, PullOptions{})
			t.Log(err)
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("pull: %v; want ErrInvalid saying %q", err, tc.want)
			}
			if d := diffSnapshots(before, snapshot(t, s.root)); len(d) > 0 {
				t.Errorf("failed pull changed the store: %v", d)
			}
		})
	}
}

// From an index the host's platform is taken, or the one asked for.
func TestPullIndexPicksPlatform(t *testing.T) {
	other := "s390x"
	if runtime.GOARCH == other {
		other = "arm64"
	}
	host := testImage(t, runtime.GOARCH, nil, gzipLayer(t, rootfs(t, runtime.GOARCH)))
	foreign := testImage(t, other, nil, gzipLayer(t, rootfs(t, other)))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: host, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	tr := newTestRegistry(t)
	ref := tr.host + "/test/multi:1"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	for _, tc := range []struct {
		platform string
		want     v1.Image // nil: not found
	}{
		{"", host},
		{"linux/" + runtime.GOARCH, host},
		{"linux/" + other, foreign},
		{"linux/mips64le", nil},
	} {
		t.Run("platform="+tc.platform, func(t *testing.T) {
			s := openTest(t)
			var ev events
			img, err := s.Pull(context.Background(), ref, PullOptions{Platform: tc.platform, Progress: ev.add})
			if tc.want == nil {
				t.Log(err)
				if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "mips64le") {
					t.Fatalf("pull: %v; want not found naming the platform", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantID, _ := tc.want.ConfigName()
			if img.ID.String() != wantID.String() {
				t.Errorf("pulled %s (%s), want %s", img.ID, img.Config.Architecture, wantID)
			}
			if len(ev.all) == 0 || ev.all[0].State != PullResolved || ev.all[0].Digest.String() != idxDigest.String() {
				t.Errorf("resolved event %+v, want the index digest %s", ev.all, idxDigest)
			}
		})
	}
}

func TestPullErrors(t *testing.T) {
	tr := newTestRegistry(t)
	tr.push(t, "test/app:1", twoLayers(t))
	closed := httptest.NewServer(http.NotFoundHandler())
	closedHost := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()
	for _, tc := range []struct {
		ref   string
		class error
		says  string
	}{
		{tr.host + "/test/app:nosuch", errdefs.ErrNotFound, "manifest unknown"},
		{tr.host + "/test/nosuch:1", errdefs.ErrNotFound, "unknown"},
		{closedHost + "/test/app:1", errdefs.ErrUnavailable, closedHost},
		{"Busybox", errdefs.ErrInvalid, "lowercase"},
		{"busybox:a:b", errdefs.ErrInvalid, "invalid reference"},
		{"", errdefs.ErrInvalid, "empty"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			s := openTest(t)
			_, err := s.Pull(context.Background(), tc.ref, PullOptions{})
			t.Log(err)
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("pull %q: %v; want %v saying %q", tc.ref, err, tc.class, tc.says)
			}
			if imgs, _ := s.List(context.Background()); len(imgs) != 0 {
				t.Errorf("failed pull left images %v", imgs)
			}
		})
	}
}

func TestParseRemoteReference(t *testing.T) {
	for _, tc := range []struct{ in, local, full, registry string }{
		{"busybox", "busybox:latest", "docker.io/library/busybox:latest", "docker.io"},
		{"busybox:1.36", "busybox:1.36", "docker.io/library/busybox:1.36", "docker.io"},
		{"library/busybox", "busybox:latest", "docker.io/library/busybox:latest", "docker.io"},
		{"docker.io/library/busybox:1", "busybox:1", "docker.io/library/busybox:1", "docker.io"},
		{"index.docker.io/library/busybox", "busybox:latest", "docker.io/library/busybox:latest", "docker.io"},
		{"docker.io/team/app", "team/app:latest", "docker.io/team/app:latest", "docker.io"},
		{"team/app", "team/app:latest", "docker.io/team/app:latest", "docker.io"},
		{"127.0.0.1:5000/it/busybox:1", "127.0.0.1:5000/it/busybox:1", "127.0.0.1:5000/it/busybox:1", "127.0.0.1:5000"},
		{"quay.io/library/app", "quay.io/library/app:latest", "quay.io/library/app:latest", "quay.io"},
		{"localhost/library/app", "localhost/library/app:latest", "localhost/library/app:latest", "localhost"},
		{"busybox@sha256:" + strings.Repeat("a", 64), "busybox@sha256:" + strings.Repeat("a", 64),
			"docker.io/library/busybox@sha256:" + strings.Repeat("a", 64), "docker.io"},
	} {
		rr, err := ParseRemoteReference(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if rr.Local.String() != tc.local || rr.Full != tc.full || rr.Registry != tc.registry {
			t.Errorf("%s: local %s full %s registry %s; want %s %s %s", tc.in, rr.Local, rr.Full, rr.Registry, tc.local, tc.full, tc.registry)
		}
	}
}

func TestRegistryTransportPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		registry           string
		insecure, loopback bool
	}{
		{"127.0.0.1:5000", false, true},
		{"127.1.2.3", false, true},
		{"localhost:5000", false, true},
		{"[::1]:5000", false, true},
		{"10.1.2.3:5000", false, false},
		{"registry.example", false, false},
		{"10.1.2.3:5000", true, false},
	} {
		if got := isLoopback(tc.registry); got != tc.loopback {
			t.Errorf("isLoopback(%s) = %v", tc.registry, got)
		}
		tr := registryTransport(tc.registry, tc.insecure)
		_, guarded := tr.(httpsOnly)
		if want := !tc.loopback && !tc.insecure; guarded != want {
			t.Errorf("%s insecure=%v: plain HTTP refused %v, want %v", tc.registry, tc.insecure, guarded, want)
		}
		if guarded {
			req, _ := http.NewRequest(http.MethodGet, "http://"+tc.registry+"/v2/", nil)
			if _, err := tr.RoundTrip(req); !errors.Is(err, errPlainHTTP) {
				t.Errorf("%s: plain HTTP: %v, want refused", tc.registry, err)
			}
		}
	}
}
