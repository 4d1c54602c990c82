package imagestore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// pruneFixture makes a store with a named image "a", a dangling image
// (the old "b" after a retag), a named image "c" and a dangling image
// that a container uses; inUse reports the container's images.
func pruneFixture(t *testing.T) (s *Store, imgs map[string]Image) {
	t.Helper()
	ctx := context.Background()
	used := map[digest.Digest]bool{}
	s, err := Open(t.TempDir(), Options{InUse: func(id digest.Digest) (string, bool) {
		if used[id] {
			return "abc123", false
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	imgs = map[string]Image{}
	for _, n := range []string{"a", "b", "b", "c", "d", "d"} {
		img, err := s.Import(ctx, bytes.NewReader(rootfs(t, n+time.Now().String())), mustRef(t, n), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := imgs[n]; ok {
			imgs[n+"-old"] = imgs[n]
		}
		imgs[n] = img
	}
	used[imgs["c"].ID] = true
	used[imgs["d-old"].ID] = true
	return s, imgs
}

func TestPrune(t *testing.T) {
	for _, tc := range []struct {
		name      string
		all       bool
		deleted   []string
		untagged  []string
		remaining []string
	}{
		{"dangling only", false, []string{"b-old"}, nil, []string{"a", "b", "c", "d", "d-old"}},
		{"all unused", true, []string{"a", "b", "b-old", "d"}, []string{"a:latest", "b:latest", "d:latest"}, []string{"c", "d-old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, imgs := pruneFixture(t)
			res, err := s.Prune(context.Background(), tc.all)
			if err != nil {
				t.Fatal(err)
			}
			gotDeleted := map[digest.Digest]bool{}
			for _, d := range res.Deleted {
				gotDeleted[d] = true
			}
			if len(res.Deleted) != len(tc.deleted) {
				t.Errorf("deleted %v, want %v", res.Deleted, tc.deleted)
			}
			for _, n := range tc.deleted {
				if !gotDeleted[imgs[n].ID] {
					t.Errorf("image %s not deleted", n)
				}
				// Its blobs and its layer are gone (every image here has
				// a layer of its own).
				if _, err := os.Stat(s.LayerPath(imgs[n].ChainIDs()[0])); err == nil {
					t.Errorf("layer of %s is still there", n)
				}
				if _, err := os.Stat(s.blobPath(imgs[n].Manifest)); err == nil {
					t.Errorf("manifest of %s is still there", n)
				}
			}
			if len(res.Untagged) != len(tc.untagged) {
				t.Errorf("untagged %v, want %v", res.Untagged, tc.untagged)
			}
			if res.Reclaimed <= 0 {
				t.Errorf("reclaimed %d bytes", res.Reclaimed)
			}
			list, err := s.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(tc.remaining) {
				t.Errorf("%d images left, want %v", len(list), tc.remaining)
			}
			for _, n := range tc.remaining {
				blobs, layers, err := s.Content(imgs[n])
				if err != nil {
					t.Fatalf("image %s: %v", n, err)
				}
				for _, b := range blobs {
					if _, err := os.Stat(s.blobPath(b)); err != nil {
						t.Errorf("image %s lost blob %s", n, b)
					}
				}
				for _, l := range layers {
					if _, err := os.Stat(s.LayerPath(l)); err != nil {
						t.Errorf("image %s lost layer %s", n, l)
					}
				}
			}
			// Nothing else is left on disk: exactly the unreferenced
			// content went.
			ents, _ := os.ReadDir(filepath.Join(s.layoutDir(), "blobs", "sha256"))
			if want := 3 * len(tc.remaining); len(ents) != want {
				t.Errorf("%d blobs on disk, want %d", len(ents), want)
			}
		})
	}
}

func TestDiskUsageAndHistory(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, err := s.Import(ctx, bytes.NewReader(rootfs(t, "one")), mustRef(t, "a"), ImportOptions{Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	du, err := s.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	layerSize := int64(len("one")) + int64(len("/bin/busybox"))
	if len(du.Images) != 1 || du.LayerSize[a.ChainIDs()[0]] != layerSize {
		t.Errorf("disk usage %+v, want one image with a %d-byte layer", du, layerSize)
	}
	u := du.Images[0]
	if u.DiskSize != du.Total || u.UniqueSize != u.DiskSize || u.SharedSize != 0 || u.DiskSize < a.Size+layerSize {
		t.Errorf("image usage %+v (total %d)", u, du.Total)
	}
	if got := du.SizeOf(s, []Image{a, a}); got != du.Total {
		t.Errorf("SizeOf twice the same image = %d, want %d", got, du.Total)
	}

	h, err := s.History(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Comment != "first" || h[0].CreatedBy != "berth image import" || h[0].Size != a.Size || h[0].Layer != a.DiffIDs()[0] {
		t.Errorf("history %+v", h)
	}
}
