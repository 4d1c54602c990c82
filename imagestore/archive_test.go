package imagestore

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dockerArchive writes src under tags as docker save would (ggcr's
// writer: a second implementation of the format) and returns its path.
func dockerArchive(t *testing.T, src v1.Image, tags ...string) string {
	t.Helper()
	m := map[name.Tag]v1.Image{}
	for _, tg := range tags {
		n, err := name.NewTag(tg)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = src
	}
	p := filepath.Join(t.TempDir(), "docker.tar")
	if err := tarball.MultiWriteToFile(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

// ociArchive writes src as an OCI layout tar, with refName in the
// index's org.opencontainers.image.ref.name when not empty.
func ociArchive(t *testing.T, src v1.Image, refName string) string {
	t.Helper()
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: refName}))
	}
	if err := lp.AppendImage(src, opts...); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "oci.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tarDir(f, dir); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadForeignArchives(t *testing.T) {
	ctx := context.Background()
	src := twoLayers(t)
	wantID, _ := src.ConfigName()
	for _, tc := range []struct {
		name      string
		archive   func(t *testing.T) string
		wantNames []string
	}{
		{"docker archive, two tags", func(t *testing.T) string {
			return dockerArchive(t, src, "example.com/app:1", "index.docker.io/library/app:latest")
		}, []string{"app:latest", "example.com/app:1"}},
		{"OCI archive, podman's ref.name", func(t *testing.T) string { return ociArchive(t, src, "localhost/app:2") }, []string{"localhost/app:2"}},
		{"OCI archive, a bare tag names nothing", func(t *testing.T) string { return ociArchive(t, src, "latest") }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			loaded, err := s.Load(ctx, tc.archive(t))
			if err != nil {
				t.Fatal(err)
			}
			imgs, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 1 || imgs[0].ID.String() != wantID.String() {
				t.Fatalf("after load the store lists %+v, want one image %s", imgs, wantID)
			}
			if !slices.Equal(imgs[0].Names, tc.wantNames) {
				t.Errorf("names %q, want %q", imgs[0].Names, tc.wantNames)
			}
			if tc.wantNames == nil && (len(loaded) != 1 || loaded[0] != wantID.String()) {
				t.Errorf("Load returned %q, want the ID", loaded)
			}
			if tc.wantNames != nil && len(loaded) != len(tc.wantNames) {
				t.Errorf("Load returned %q, want %q", loaded, tc.wantNames)
			}
			if got := readLayerFile(t, s, imgs[0], 1, "etc/two"); got != "two" {
				t.Errorf("etc/two in the top layer: %q", got)
			}
		})
	}
}

// readLayerFile reads a file of the image's unpacked layer i.
func readLayerFile(t *testing.T, s *Store, img Image, i int, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.LayerPath(img.ChainIDs()[i]), file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := openTest(t)
	if _, err := a.Load(ctx, dockerArchive(t, twoLayers(t), "app:1")); err != nil {
		t.Fatal(err)
	}
	if err := a.Tag(ctx, "app:1", "app:2"); err != nil {
		t.Fatal(err)
	}
	orig, err := a.Get(ctx, "app:1")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{DockerArchive, OCIArchive} {
		for _, tc := range []struct {
			refs      []string
			wantNames []string
		}{
			{[]string{"app:2"}, []string{"app:2"}},                         // by name: that name only
			{[]string{orig.ID.Encoded()[:12]}, []string{"app:1", "app:2"}}, // by ID: every name
		} {
			t.Run(format+" "+tc.refs[0], func(t *testing.T) {
				var buf bytes.Buffer
				if err := a.Save(ctx, &buf, tc.refs, format); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(t.TempDir(), "a.tar")
				os.WriteFile(p, buf.Bytes(), 0o644)
				b := openTest(t)
				if _, err := b.Load(ctx, p); err != nil {
					t.Fatal(err)
				}
				got, err := b.Get(ctx, orig.ID.String())
				if err != nil {
					t.Fatal(err)
				}
				if got.Manifest != orig.Manifest && format == OCIArchive {
					t.Errorf("OCI round trip changed the manifest: %s, was %s", got.Manifest, orig.Manifest)
				}
				if !slices.Equal(got.Names, tc.wantNames) {
					t.Errorf("names %q, want %q", got.Names, tc.wantNames)
				}
				if s := readLayerFile(t, b, got, 0, "etc/tag"); s != "one" {
					t.Errorf("etc/tag: %q", s)
				}
			})
		}
	}
	if err := a.Save(ctx, &bytes.Buffer{}, []string{"app:1"}, "zip"); !errdefs.IsInvalid(err) {
		t.Errorf("unknown format: %v, want an invalid-argument error", err)
	}
	if err := a.Save(ctx, &bytes.Buffer{}, []string{"nothere"}, ""); !errdefs.IsNotFound(err) {
		t.Errorf("unknown image: %v, want not found", err)
	}
}

// hostileTar writes a tar with the given regular files.
func hostileTar(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for _, n := range []string{"oci-layout", "index.json", "../escaped", "blobs/sha256/../../../escaped2", "manifest.json"} {
		body, ok := files[n]
		if !ok {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	tw.Close()
	f.Close()
	return p
}

func TestLoadRefusesBadArchives(t *testing.T) {
	ctx := context.Background()
	notTar := filepath.Join(t.TempDir(), "plain.txt")
	os.WriteFile(notTar, []byte(strings.Repeat("not a tar archive\n", 100)), 0o644)
	// A docker archive whose layer is not what the config's diff_ids say.
	lying := dockerArchive(t, twoLayers(t), "app:1")
	corruptLayer(t, lying)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"not a tar", notTar, "not a"},
		{"empty tar", hostileTar(t, nil), "neither a docker nor an OCI archive"},
		{"OCI archive escaping with ../", hostileTar(t, map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "../escaped": "x"}), "not a file of an OCI layout"},
		{"OCI archive escaping through blobs/", hostileTar(t, map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "blobs/sha256/../../../escaped2": "x"}), "not a file of an OCI layout"},
		{"docker archive with a bad manifest.json", hostileTar(t, map[string]string{"manifest.json": "[{"}), "neither a docker nor an OCI archive"},
		{"docker archive whose layer lies", lying, "sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			before := snapshot(t, s.root)
			_, err := s.Load(ctx, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error with %q", err, tc.want)
			}
			if imgs, _ := s.List(ctx); len(imgs) != 0 {
				t.Errorf("the store lists %d images after a failed load", len(imgs))
			}
			s.cleanTmp()
			if after := snapshot(t, s.root); len(after) != len(before) {
				t.Errorf("a failed load left files behind: %d before, %d after", len(before), len(after))
			}
			for _, p := range []string{filepath.Join(filepath.Dir(tc.path), "escaped"), filepath.Join(filepath.Dir(s.root), "escaped"), filepath.Join(filepath.Dir(s.root), "escaped2")} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

// corruptLayer rewrites the first layer of a docker archive so that its
// content no longer matches the config's diff_id.
func corruptLayer(t *testing.T, archive string) {
	t.Helper()
	in, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tr := tar.NewReader(bytes.NewReader(in))
	tw := tar.NewWriter(&out)
	done := false
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var body bytes.Buffer
		body.ReadFrom(tr)
		if !done && strings.HasSuffix(h.Name, ".tar.gz") {
			rc, err := gzipLayer(t, fileTar(t, "etc/evil", "evil")).Compressed()
			if err != nil {
				t.Fatal(err)
			}
			var b []byte
			b, _ = io.ReadAll(rc)
			h.Size = int64(len(b))
			body.Reset()
			body.Write(b)
			done = true
		}
		tw.WriteHeader(h)
		tw.Write(body.Bytes())
	}
	tw.Close()
	if !done {
		t.Fatal("no layer to corrupt in the archive")
	}
	os.WriteFile(archive, out.Bytes(), 0o644)
}
