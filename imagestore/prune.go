package imagestore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PruneResult says what Prune removed, in Docker's words.
type PruneResult struct {
	Untagged []string
	Deleted  []digest.Digest // image IDs
	// Reclaimed is the bytes of blobs and unpacked layers deleted.
	Reclaimed int64
}

// Prune removes images nobody needs, as docker image prune does: the
// dangling ones (no name), or with all every image that no container
// uses. An image that a container uses (Options.InUse) is never removed,
// named or not. Blobs and layers no remaining image reaches are then
// deleted, and their size is reported.
func (s *Store) Prune(ctx context.Context, all bool) (PruneResult, error) {
	var res PruneResult
	gc, err := s.gcLock(true)
	if err != nil {
		return res, err
	}
	defer gc.Unlock()
	err = s.updateIndex(func(idx *ocispec.Index) error {
		res = PruneResult{}
		imgs, err := s.List(ctx)
		if err != nil {
			return err
		}
		drop := map[digest.Digest]bool{}
		for _, img := range imgs {
			if len(img.Names) > 0 && !all {
				continue
			}
			if s.inUse != nil {
				if user, _ := s.inUse(img.ID); user != "" {
					continue
				}
			}
			drop[img.Manifest] = true
			res.Untagged = append(res.Untagged, img.Names...)
			res.Deleted = append(res.Deleted, img.ID)
		}
		var keep []ocispec.Descriptor
		for _, m := range idx.Manifests {
			if !drop[m.Digest] {
				keep = append(keep, m)
			}
		}
		if keep == nil {
			keep = []ocispec.Descriptor{}
		}
		idx.Manifests = keep
		return nil
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune images: %w", err)
	}
	n, err := s.collectGarbage()
	res.Reclaimed = n
	if err != nil {
		return res, fmt.Errorf("prune images: %w", err)
	}
	return res, nil
}

// ImageUsage is one image's share of the disk, for system df -v.
type ImageUsage struct {
	Image
	// DiskSize is the bytes of the image's blobs and unpacked layers;
	// SharedSize the part of it that other images use too, UniqueSize
	// the rest.
	DiskSize, SharedSize, UniqueSize int64
}

// DiskUsage is what the store holds on disk, for system df.
type DiskUsage struct {
	Images []ImageUsage // newest first, as List
	// Total is the bytes of every blob and layer the images reach,
	// shared content counted once.
	Total int64
	// Sizes of each blob (by digest) and unpacked layer (by chain ID),
	// so that a caller can count the content a set of images needs.
	BlobSize, LayerSize map[digest.Digest]int64
}

// Content lists the blobs (manifest, config, layers) and unpacked
// layers (chain IDs) of img.
func (s *Store) Content(img Image) (blobs, layers []digest.Digest, err error) {
	var m ocispec.Manifest
	if err := s.readJSON(img.Manifest, &m); err != nil {
		return nil, nil, fmt.Errorf("manifest: %w", err)
	}
	blobs = append(blobs, img.Manifest, m.Config.Digest)
	for _, l := range m.Layers {
		blobs = append(blobs, l.Digest)
	}
	return blobs, img.ChainIDs(), nil
}

// DiskUsage measures the images' blobs and unpacked layers. Layer
// directories are walked, so it takes a moment on a big store.
func (s *Store) DiskUsage(ctx context.Context) (DiskUsage, error) {
	imgs, err := s.List(ctx)
	if err != nil {
		return DiskUsage{}, err
	}
	du := DiskUsage{BlobSize: map[digest.Digest]int64{}, LayerSize: map[digest.Digest]int64{}}
	users := map[digest.Digest]int{}
	type content struct{ blobs, layers []digest.Digest }
	contents := make([]content, len(imgs))
	for i, img := range imgs {
		b, l, err := s.Content(img)
		if err != nil {
			return DiskUsage{}, err
		}
		contents[i] = content{b, l}
		for _, d := range b {
			if _, ok := du.BlobSize[d]; !ok {
				if fi, err := os.Stat(s.blobPath(d)); err == nil {
					du.BlobSize[d] = fi.Size()
				}
				du.Total += du.BlobSize[d]
			}
			users[d]++
		}
		for _, c := range l {
			if _, ok := du.LayerSize[c]; !ok {
				du.LayerSize[c] = DirSize(s.LayerPath(c))
				du.Total += du.LayerSize[c]
			}
			users["layer:"+c]++
		}
	}
	for i, img := range imgs {
		u := ImageUsage{Image: img}
		add := func(key digest.Digest, n int64) {
			u.DiskSize += n
			if users[key] > 1 {
				u.SharedSize += n
			} else {
				u.UniqueSize += n
			}
		}
		for _, d := range contents[i].blobs {
			add(d, du.BlobSize[d])
		}
		for _, c := range contents[i].layers {
			add("layer:"+c, du.LayerSize[c])
		}
		du.Images = append(du.Images, u)
	}
	return du, nil
}

// SizeOf is the bytes of the content that the images imgs need
// together, shared content counted once.
func (du DiskUsage) SizeOf(s *Store, imgs []Image) int64 {
	seen := map[digest.Digest]bool{}
	var n int64
	for _, img := range imgs {
		blobs, layers, err := s.Content(img)
		if err != nil {
			continue
		}
		for _, d := range blobs {
			if !seen[d] {
				seen[d] = true
				n += du.BlobSize[d]
			}
		}
		for _, c := range layers {
			if !seen["layer:"+c] {
				seen["layer:"+c] = true
				n += du.LayerSize[c]
			}
		}
	}
	return n
}

// DirSize is the apparent size of a directory tree: the sizes of its
// files and symbolic links, as du --apparent-size counts them. A tree
// that cannot be read counts what could be.
func DirSize(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// HistoryEntry is one step of an image's history (docker history).
type HistoryEntry struct {
	ocispec.History
	// Size is the bytes of the layer the step made (its blob as stored,
	// compressed for a pulled image); 0 for a step that made none.
	Size int64
	// Layer is the diff ID of that layer, "" for none.
	Layer digest.Digest
}

// History returns img's history, newest step first, each step with the
// layer it made. An image whose config has no history gets one step per
// layer.
func (s *Store) History(img Image) ([]HistoryEntry, error) {
	var m ocispec.Manifest
	if err := s.readJSON(img.Manifest, &m); err != nil {
		return nil, fmt.Errorf("history of %s: manifest: %w", img.ID.Encoded()[:12], err)
	}
	hist := img.Config.History
	if len(hist) == 0 {
		for range m.Layers {
			hist = append(hist, ocispec.History{Created: img.Config.Created})
		}
	}
	var out []HistoryEntry
	layer := 0
	for _, h := range hist {
		e := HistoryEntry{History: h}
		if !h.EmptyLayer && layer < len(m.Layers) {
			e.Size = m.Layers[layer].Size
			e.Layer = img.DiffIDs()[layer]
			layer++
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
