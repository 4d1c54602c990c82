package main

import (
	"bytes"
	"compress/gzip"
	_ "crypto/sha256" // registers sha256 for go-digest
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// layer is one uncompressed layer tar plus its history line.
type layer struct {
	tar       []byte
	createdBy string
}

// imageConfig is the runtime configuration of the layered image.
var imageConfig = v1.ImageConfig{
	Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	Cmd:        []string{"sh"},
	WorkingDir: "/",
}

// gzipDeterministic compresses data with a fixed gzip header (no name, no
// comment, mtime 0) so equal input gives equal output.
func gzipDeterministic(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.Header = gzip.Header{OS: 255} // unknown OS; Name, Comment, ModTime left empty
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeBlob stores data under dir/blobs/sha256/<hex> and returns its descriptor.
func writeBlob(dir, mediaType string, data []byte) (v1.Descriptor, error) {
	d := digest.FromBytes(data)
	p := filepath.Join(dir, v1.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return v1.Descriptor{}, err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}, nil
}

// marshalJSON is json.Marshal without HTML escaping ("->" stays readable).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeJSONBlob marshals v and stores it as a blob.
func writeJSONBlob(dir, mediaType string, v any) (v1.Descriptor, error) {
	data, err := marshalJSON(v)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return writeBlob(dir, mediaType, data)
}

// writeLayout writes an OCI image layout (image-spec v1.1) into dir holding
// one linux/GOARCH image made of layers (uncompressed tars, stored gzipped),
// tagged with the org.opencontainers.image.ref.name annotation ref.
func writeLayout(dir, ref string, layers []layer) error {
	if len(layers) == 0 {
		return errors.New("writeLayout: no layers")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	layout, err := marshalJSON(v1.ImageLayout{Version: v1.ImageLayoutVersion})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, v1.ImageLayoutFile), layout, 0o644); err != nil {
		return err
	}

	created := epoch
	cfg := v1.Image{
		Created:  &created,
		Platform: v1.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   imageConfig,
		RootFS:   v1.RootFS{Type: "layers"},
	}
	var layerDescs []v1.Descriptor
	for i, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(l.tar))
		cfg.History = append(cfg.History, v1.History{Created: &created, CreatedBy: l.createdBy})
		gz, err := gzipDeterministic(l.tar)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		desc, err := writeBlob(dir, v1.MediaTypeImageLayerGzip, gz)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		layerDescs = append(layerDescs, desc)
	}
	cfgDesc, err := writeJSONBlob(dir, v1.MediaTypeImageConfig, cfg)
	if err != nil {
		return err
	}
	manifestDesc, err := writeJSONBlob(dir, v1.MediaTypeImageManifest, v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    layerDescs,
	})
	if err != nil {
		return err
	}
	platform := cfg.Platform
	manifestDesc.Platform = &platform
	manifestDesc.Annotations = map[string]string{v1.AnnotationRefName: ref}
	index, err := marshalJSON(v1.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageIndex,
		Manifests: []v1.Descriptor{manifestDesc},
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, v1.ImageIndexFile), index, 0o644)
}
