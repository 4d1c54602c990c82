package imagestore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// AnnotationIntermediate marks, in index.json, an image that a build
// made for one of its steps: the layer cache. `berth images` hides them
// (as Docker hides intermediate images); they are dangling images in
// every other respect, and image prune removes them.
const AnnotationIntermediate = "org.berth.build.intermediate"

// CommitOptions describe an image made on top of another: a build step
// or `berth commit`.
type CommitOptions struct {
	// Parent is the image below; nil for scratch.
	Parent *Image
	// Layer is the new layer as an uncompressed tar with OCI whiteouts;
	// nil for a step that changes only the config.
	Layer io.Reader
	// Config is the new image's config: its RootFS is set here from
	// Parent and Layer, its History is kept as given (the caller appends
	// the step's entry).
	Config ocispec.Image
	// Ref names the new image; the zero Reference leaves it untagged.
	Ref Reference
	// Intermediate marks the image as a build step's (AnnotationIntermediate).
	Intermediate bool
	// DockerConfig are fields of Docker's image config that the OCI
	// config has not (Healthcheck, OnBuild, Shell), written beside it.
	DockerConfig map[string]any
}

// Commit stores a new image: Parent's layers, plus Layer when given
// (stored as an uncompressed tar blob and unpacked under its chain ID),
// with Config. Nothing is visible until every blob is written; the
// index is changed last.
func (s *Store) Commit(ctx context.Context, o CommitOptions) (Image, error) {
	gc, err := s.gcLock(false)
	if err != nil {
		return Image{}, err
	}
	defer gc.Unlock()

	var layers []ocispec.Descriptor
	var diffIDs []digest.Digest
	var size int64
	if o.Parent != nil {
		var pm ocispec.Manifest
		if err := s.readJSON(o.Parent.Manifest, &pm); err != nil {
			return Image{}, fmt.Errorf("commit: parent manifest: %w", err)
		}
		layers = append(layers, pm.Layers...)
		diffIDs = append(diffIDs, o.Parent.DiffIDs()...)
		size = o.Parent.Size
	}
	if o.Layer != nil {
		st, err := s.stageLayer(ctx, o.Layer, stageOptions{blob: blobUncompressed, unpack: true})
		if err != nil {
			return Image{}, fmt.Errorf("commit: new layer: %w", err)
		}
		defer st.discard()
		chain := st.diffID
		if len(diffIDs) > 0 {
			chain = Image{Config: ocispec.Image{RootFS: ocispec.RootFS{DiffIDs: append(append([]digest.Digest{}, diffIDs...), st.diffID)}}}.ChainIDs()[len(diffIDs)]
		}
		if err := st.commit(s, chain); err != nil {
			return Image{}, fmt.Errorf("commit: %w", err)
		}
		layers = append(layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: st.diffID, Size: st.uncompressedSize})
		diffIDs = append(diffIDs, st.diffID)
		size += st.uncompressedSize
	}
	cfg := o.Config
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}
	if cfg.RootFS.DiffIDs == nil {
		cfg.RootFS.DiffIDs = []digest.Digest{}
	}
	cfgBytes, err := json.Marshal(cfg)
	if err != nil {
		return Image{}, err
	}
	if cfgBytes, err = withDockerConfig(cfgBytes, o.DockerConfig); err != nil {
		return Image{}, err
	}
	cfgDigest, err := s.writeBlob(cfgBytes)
	if err != nil {
		return Image{}, fmt.Errorf("commit: %w", err)
	}
	if layers == nil {
		layers = []ocispec.Descriptor{}
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(cfgBytes))},
		Layers:    layers,
	}
	mBytes, err := json.Marshal(m)
	if err != nil {
		return Image{}, err
	}
	mDigest, err := s.writeBlob(mBytes)
	if err != nil {
		return Image{}, fmt.Errorf("commit: %w", err)
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: mDigest, Size: int64(len(mBytes))}
	if err := s.updateIndex(func(idx *ocispec.Index) error {
		if o.Ref.Name != "" {
			setRef(idx, desc, o.Ref.String())
			return nil
		}
		if !references(idx.Manifests, desc.Digest) {
			if o.Intermediate {
				desc.Annotations = map[string]string{AnnotationIntermediate: "true"}
			}
			idx.Manifests = append(idx.Manifests, desc)
		}
		return nil
	}); err != nil {
		return Image{}, fmt.Errorf("commit: %w", err)
	}
	img := Image{ID: cfgDigest, Manifest: mDigest, Config: cfg, Size: size}
	if o.Ref.Name != "" {
		img.Names = []string{o.Ref.String()}
	}
	return img, nil
}

// ConfigJSON is img's config blob as stored: Docker's fields that the
// OCI config has not (Healthcheck, OnBuild, Shell) are in it.
func (s *Store) ConfigJSON(img Image) ([]byte, error) {
	var m ocispec.Manifest
	if err := s.readJSON(img.Manifest, &m); err != nil {
		return nil, err
	}
	return s.readBlob(m.Config.Digest)
}

// withDockerConfig adds Docker's config fields (extra) to the "config"
// object of an OCI image config.
func withDockerConfig(cfg []byte, extra map[string]any) ([]byte, error) {
	if len(extra) == 0 {
		return cfg, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(cfg, &top); err != nil {
		return nil, err
	}
	inner := map[string]any{}
	if raw, ok := top["config"]; ok {
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, err
		}
	}
	for k, v := range extra {
		inner[k] = v
	}
	b, err := json.Marshal(inner)
	if err != nil {
		return nil, err
	}
	top["config"] = b
	return json.Marshal(top)
}
