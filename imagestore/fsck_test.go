package imagestore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFsck(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, s *Store, a Image)
		says   string // in the one problem's line
		kept   bool   // image a survives --repair
	}{
		{"clean, with a writer's temporary file", func(t *testing.T, s *Store, a Image) {
			os.WriteFile(filepath.Join(s.layoutDir(), "blobs", "sha256", ".abc.tmp-123"), []byte("half"), 0o644)
		}, "", true},
		{"layer blob corrupt", func(t *testing.T, s *Store, a Image) {
			p := s.blobPath(a.DiffIDs()[0]) // imported: the blob is the tar
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "content has digest", false},
		{"config blob missing", func(t *testing.T, s *Store, a Image) {
			os.Remove(s.blobPath(a.ID))
		}, "config missing", false},
		{"manifest blob missing", func(t *testing.T, s *Store, a Image) {
			os.Remove(s.blobPath(a.Manifest))
		}, "manifest missing", false},
		{"layer not unpacked", func(t *testing.T, s *Store, a Image) {
			os.RemoveAll(s.LayerPath(a.ChainIDs()[0]))
		}, "not unpacked", true},
		{"file changed in the layer", func(t *testing.T, s *Store, a Image) {
			os.WriteFile(filepath.Join(s.LayerPath(a.ChainIDs()[0]), "etc/tag"), []byte("z"), 0o644)
		}, "/etc/tag: content differs", true},
		{"file truncated in the layer", func(t *testing.T, s *Store, a Image) {
			os.Truncate(filepath.Join(s.LayerPath(a.ChainIDs()[0]), "etc/tag"), 0)
		}, "/etc/tag: size 0, want 1", true},
		{"file added to the layer", func(t *testing.T, s *Store, a Image) {
			os.WriteFile(filepath.Join(s.LayerPath(a.ChainIDs()[0]), "etc/extra"), nil, 0o644)
		}, "/etc/extra: not in the layer", true},
		{"mode changed", func(t *testing.T, s *Store, a Image) {
			os.Chmod(filepath.Join(s.LayerPath(a.ChainIDs()[0]), "etc"), 0o777)
		}, "/etc: mode", true},
		{"symlink changed", func(t *testing.T, s *Store, a Image) {
			p := filepath.Join(s.LayerPath(a.ChainIDs()[0]), "bin/sh")
			os.Remove(p)
			os.Symlink("/bin/evil", p)
		}, `/bin/sh: link to "/bin/evil"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			a, err := s.Import(ctx, bytes.NewReader(rootfs(t, "a")), mustRef(t, "a"), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Import(ctx, bytes.NewReader(rootfs(t, "b")), mustRef(t, "b"), ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tc.break_(t, s, a)

			res, err := s.Fsck(ctx, FsckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Images != 2 {
				t.Errorf("checked %d images, want 2", res.Images)
			}
			if tc.says == "" {
				if len(res.Problems) != 0 {
					t.Errorf("problems in a sound store: %v", res.Problems)
				}
				return
			}
			if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].String(), tc.says) ||
				!strings.Contains(res.Problems[0].String(), "(image a:latest)") {
				t.Fatalf("problems %v, want one saying %q about a:latest", res.Problems, tc.says)
			}

			res, err = s.Fsck(ctx, FsckOptions{Repair: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != 1 || res.Problems[0].Repair == "" {
				t.Errorf("repair: %v", res.Problems)
			}
			if res, err := s.Fsck(ctx, FsckOptions{}); err != nil || len(res.Problems) != 0 {
				t.Errorf("after repair: %v %v", res.Problems, err)
			}
			_, err = s.Get(ctx, "a:latest") // not "a": a hex ID prefix of b 1 time in 16
			if kept := err == nil; kept != tc.kept {
				t.Errorf("after repair image a kept = %v, want %v (%v)", kept, tc.kept, err)
			}
			if tc.kept {
				got, err := os.ReadFile(filepath.Join(s.LayerPath(a.ChainIDs()[0]), "etc/tag"))
				if err != nil || string(got) != "a" {
					t.Errorf("repaired layer has etc/tag %q (%v)", got, err)
				}
			}
			if _, err := s.Get(ctx, b.ID.String()); err != nil {
				t.Errorf("the sound image b is gone: %v", err)
			}
			if got, _ := os.ReadFile(filepath.Join(s.LayerPath(b.ChainIDs()[0]), "etc/tag")); string(got) != "b" {
				t.Errorf("image b's layer damaged: %q", got)
			}
		})
	}
}
