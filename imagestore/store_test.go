package imagestore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// rootfs builds a small tar with one file whose content is tag.
func rootfs(t *testing.T, tag string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "/bin/busybox"},
		{Name: "etc/tag", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(tag))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(tag))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustRef(t *testing.T, s string) Reference {
	t.Helper()
	r, err := ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestImportListGet(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tarball := rootfs(t, "one")
	img, err := s.Import(ctx, bytes.NewReader(tarball), mustRef(t, "busybox"), ImportOptions{Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if want := digest.FromBytes(tarball); len(img.DiffIDs()) != 1 || img.DiffIDs()[0] != want {
		t.Errorf("diff IDs %v, want [%s]", img.DiffIDs(), want)
	}
	if len(img.Names) != 1 || img.Names[0] != "busybox:latest" {
		t.Errorf("names %v", img.Names)
	}
	if img.Size != int64(len(tarball)) {
		t.Errorf("size %d, want %d", img.Size, len(tarball))
	}
	// The layer is unpacked under its chain ID.
	got, err := os.ReadFile(filepath.Join(s.LayerPath(img.ChainIDs()[0]), "etc/tag"))
	if err != nil || string(got) != "one" {
		t.Errorf("unpacked etc/tag = %q, %v", got, err)
	}
	for _, key := range []string{"busybox", "busybox:latest", img.ID.String(), img.ID.Encoded(), img.ID.Encoded()[:5]} {
		g, err := s.Get(ctx, key)
		if err != nil || g.ID != img.ID {
			t.Errorf("Get(%q) = %s, %v", key, g.ID, err)
		}
	}
	for _, key := range []string{"nope", "busybox:other", "ffffffffffff"} {
		if _, err := s.Get(ctx, key); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Get(%q) err = %v, want ErrNotFound", key, err)
		}
	}
}

func TestImportGzipSameLayer(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tarball := rootfs(t, "same")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarball)
	zw.Close()
	a, err := s.Import(ctx, bytes.NewReader(tarball), mustRef(t, "plain"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Import(ctx, &gz, mustRef(t, "zipped"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.DiffIDs()[0] != b.DiffIDs()[0] {
		t.Errorf("gzip import has diff ID %s, plain %s: want the same", b.DiffIDs()[0], a.DiffIDs()[0])
	}
}

func TestRetagLeavesDanglingThenRemove(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	old, err := s.Import(ctx, bytes.NewReader(rootfs(t, "old")), mustRef(t, "app:1"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, bytes.NewReader(rootfs(t, "new")), mustRef(t, "app:1"), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	imgs, _ := s.List(ctx)
	if len(imgs) != 2 {
		t.Fatalf("%d images, want 2 (one dangling)", len(imgs))
	}
	g, err := s.Get(ctx, old.ID.Encoded())
	if err != nil || len(g.Names) != 0 {
		t.Fatalf("old image: names %v err %v, want dangling", g.Names, err)
	}
	res, err := s.Remove(ctx, old.ID.Encoded()[:12], false)
	if err != nil || len(res.Deleted) != 1 {
		t.Fatalf("remove dangling: %+v, %v", res, err)
	}
	if _, err := os.Stat(s.LayerPath(old.ChainIDs()[0])); !os.IsNotExist(err) {
		t.Errorf("layer of removed image still there: %v", err)
	}
	if _, err := os.Stat(s.blobPath(old.ID)); !os.IsNotExist(err) {
		t.Errorf("config blob of removed image still there: %v", err)
	}
}

func TestRemoveSemantics(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tarball := rootfs(t, "x")
	img, err := s.Import(ctx, bytes.NewReader(tarball), mustRef(t, "a"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Tag the same image under a second name.
	m := img.Manifest
	if err := s.updateIndex(func(idx *ocispec.Index) error {
		for _, d := range idx.Manifests {
			if d.Digest == m {
				setRef(idx, d, "b:latest")
				break
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, img.ID.Encoded(), false); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("rmi by ID with two names: %v, want ErrConflict", err)
	}
	res, err := s.Remove(ctx, "a", false)
	if err != nil || len(res.Untagged) != 1 || len(res.Deleted) != 0 {
		t.Fatalf("rmi a: %+v, %v; want untagged only", res, err)
	}
	if _, err := os.Stat(s.LayerPath(img.ChainIDs()[0])); err != nil {
		t.Fatalf("layer gone while b still uses it: %v", err)
	}
	res, err = s.Remove(ctx, "b", false)
	if err != nil || len(res.Deleted) != 1 || res.Deleted[0] != img.ID {
		t.Fatalf("rmi b: %+v, %v; want deleted", res, err)
	}
	for _, dir := range []string{filepath.Join(s.layoutDir(), "blobs", "sha256"), filepath.Join(s.root, "layers", "sha256")} {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s not empty after removing the last image: %d entries", dir, len(ents))
		}
	}
	if _, err := s.Remove(ctx, "b", false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("second rmi: %v, want ErrNotFound", err)
	}
}

func TestCorruptBlobIsDetected(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	img, err := s.Import(ctx, bytes.NewReader(rootfs(t, "c")), mustRef(t, "c"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.blobPath(img.ID), []byte(`{"architecture":"evil"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "c"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("Get with corrupted config: %v, want ErrInvalid", err)
	}
}

func TestHostileLayerLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "ok", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.WriteHeader(&tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.Close()
	if _, err := s.Import(ctx, &buf, mustRef(t, "evil"), ImportOptions{}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("import of hostile layer: %v, want ErrInvalid", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.root), "escape")); err == nil {
		t.Error("hostile entry escaped the store")
	}
	for _, dir := range []string{s.tmpDir(), filepath.Join(s.layoutDir(), "blobs", "sha256"), filepath.Join(s.root, "layers", "sha256")} {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s not empty after a refused import: %v", dir, ents)
		}
	}
	if imgs, _ := s.List(ctx); len(imgs) != 0 {
		t.Errorf("refused import listed: %v", imgs)
	}
}

func TestOpenCleansStaleTemp(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(s.tmpDir(), "ingest-dead")
	os.MkdirAll(filepath.Join(stale, "tree"), 0o755)
	old := time.Now().Add(-2 * tmpGrace)
	os.Chtimes(stale, old, old)
	// One made a moment ago and not locked yet (tempDir between its
	// mkdir and its lock) is left alone.
	young := filepath.Join(s.tmpDir(), "ingest-young")
	os.MkdirAll(young, 0o755)
	live, l, err := s.tempDir("ingest-")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := Open(root, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp dir survived Open: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live writer's temp dir was removed: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a temp dir made a moment ago, not locked yet, was removed: %v", err)
	}
}

func TestConcurrentImports(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Half share content, all have their own names.
			_, err := s.Import(ctx, bytes.NewReader(rootfs(t, fmt.Sprint(i%2))), mustRef(t, fmt.Sprintf("img%d", i)), ImportOptions{})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := 0
	for _, img := range imgs {
		names += len(img.Names)
	}
	if names != 16 {
		t.Errorf("%d names after 16 concurrent imports", names)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.root, "layers", "sha256")); len(ents) != 2 {
		t.Errorf("%d unpacked layers, want 2 (content shared)", len(ents))
	}
}

func TestImportWithoutName(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	dangling, err := s.Import(ctx, bytes.NewReader(rootfs(t, "a")), Reference{}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dangling.Names) != 0 {
		t.Errorf("unnamed import has names %v", dangling.Names)
	}
	// A second unnamed import must not drop the first.
	if _, err := s.Import(ctx, bytes.NewReader(rootfs(t, "b")), Reference{}, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if imgs, _ := s.List(ctx); len(imgs) != 2 {
		t.Errorf("%d images after two unnamed imports, want 2", len(imgs))
	}
	if _, err := s.Get(ctx, dangling.ID.Encoded()[:12]); err != nil {
		t.Errorf("unnamed image by ID: %v", err)
	}
}

// TestRemoveInUse checks Docker's rules for an image that a container
// uses: never removed while it runs; refused without force when the
// container is stopped; with force untagged but kept, layers and all.
func TestRemoveInUse(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		running, force bool
		wantErr        bool
	}{
		{"running", true, false, true},
		{"running, forced", true, true, true},
		{"stopped", false, false, true},
		{"stopped, forced", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var used digest.Digest
			s, err := Open(root, Options{InUse: func(id digest.Digest) (string, bool) {
				if id == used {
					return "c0ffee", tc.running
				}
				return "", false
			}})
			if err != nil {
				t.Fatal(err)
			}
			img, err := s.Import(ctx, bytes.NewReader(rootfs(t, "u")), mustRef(t, "used:1"), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			used = img.ID
			res, err := s.Remove(ctx, "used:1", tc.force)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "c0ffee") {
					t.Fatalf("Remove: %v, want a conflict naming the container", err)
				}
				if _, err := s.Get(ctx, "used:1"); err != nil {
					t.Errorf("the name is gone after a refused removal: %v", err)
				}
			} else if err != nil || len(res.Deleted) != 0 || len(res.Untagged) != 1 {
				t.Fatalf("forced Remove: %+v, %v; want untagged, not deleted", res, err)
			}
			if _, err := s.Get(ctx, img.ID.Encoded()); err != nil {
				t.Errorf("image gone: %v", err)
			}
			if _, err := os.Stat(s.LayerPath(img.ChainIDs()[0])); err != nil {
				t.Errorf("layer gone under a container: %v", err)
			}
		})
	}
}

func TestTag(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	img, err := s.Import(ctx, bytes.NewReader(rootfs(t, "t")), mustRef(t, "orig:1"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "orig:1", "registry.example:5000/team/copy:2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "registry.example:5000/team/copy:2")
	if err != nil || got.ID != img.ID {
		t.Fatalf("Get(the new tag) = %v, %v", got.ID, err)
	}
	if got, _ := s.Get(ctx, "orig:1"); len(got.Names) != 2 {
		t.Errorf("names after tag: %v", got.Names)
	}
	for _, bad := range [][2]string{{"nosuch", "x:1"}, {"orig:1", "Bad Name"}, {"orig:1", "x@sha256:" + strings.Repeat("a", 64)}} {
		if err := s.Tag(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("Tag(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	// Untagging the old name keeps the image under the new one.
	if _, err := s.Remove(ctx, "orig:1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "registry.example:5000/team/copy:2"); err != nil {
		t.Errorf("the new tag went with the old one: %v", err)
	}
}
