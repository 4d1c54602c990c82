package imagestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth/berth/internal/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tag gives the image source (a name or an ID prefix) the name target,
// as docker tag does; an image that had that name before keeps its other
// names, or stays as a dangling image.
func (s *Store) Tag(ctx context.Context, source, target string) error {
	ref, err := ParseReference(target)
	if err != nil {
		return err
	}
	if ref.Digest != "" {
		return fmt.Errorf("tag %s: a tag cannot name a digest: %w", target, errdefs.ErrInvalid)
	}
	img, err := s.Get(ctx, source)
	if err != nil {
		return err
	}
	gc, err := s.gcLock(false)
	if err != nil {
		return err
	}
	defer gc.Unlock()
	return s.updateIndex(func(idx *ocispec.Index) error {
		for _, m := range idx.Manifests {
			if m.Digest == img.Manifest {
				desc := m
				desc.Annotations = nil
				setRef(idx, desc, ref.String())
				return nil
			}
		}
		return fmt.Errorf("tag %s: image %s left the store: %w", target, source, errdefs.ErrNotFound)
	})
}

// PushOptions configure Push.
type PushOptions struct {
	// Insecure allows plain HTTP and unverified TLS, as for Pull.
	Insecure bool
	// Auth, when set, are the credentials to use, as for Pull.
	Auth authn.Authenticator
}

// Push uploads the image named ref (its name in the store is also where
// it goes, as docker push) to its registry: the layer blobs, the config
// and the manifest as the store keeps them, so the registry gets the
// same manifest digest. Blobs the registry has are not sent again.
func (s *Store) Push(ctx context.Context, ref string, opts PushOptions) (digestOut string, err error) {
	rr, err := ParseRemoteReference(ref)
	if err != nil {
		return "", err
	}
	// Blobs stay while they are read (GC holds this lock exclusively).
	gc, err := s.gcLock(false)
	if err != nil {
		return "", err
	}
	defer gc.Unlock()
	img, err := s.Get(ctx, rr.Local.String())
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	h, err := v1.NewHash(img.Manifest.String())
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	limg, err := layout.Path(s.layoutDir()).Image(h)
	if err != nil {
		return "", fmt.Errorf("push %s: read the image from the store: %w", ref, err)
	}
	dst, err := name.ParseReference(rr.Full)
	if err != nil {
		return "", fmt.Errorf("push %s: %w: %w", ref, errdefs.ErrInvalid, err)
	}
	err = remote.Write(dst, limg,
		remote.WithContext(ctx),
		authOption(opts.Auth),
		remote.WithTransport(registryTransport(rr.Registry, opts.Insecure)),
		remote.WithUserAgent("berth"))
	if err != nil {
		if isTransportError(err) && !errors.Is(err, context.Canceled) {
			return "", fmt.Errorf("push %s: registry %s: %w: %w", ref, rr.Registry, errdefs.ErrUnavailable, err)
		}
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return img.Manifest.String(), nil
}
