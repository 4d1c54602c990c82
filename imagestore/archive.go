package imagestore

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Archive formats for Save.
const (
	// DockerArchive is docker save's format (docker load, podman load and
	// skopeo's docker-archive: read it). The default.
	DockerArchive = "docker-archive"
	// OCIArchive is a tar of an OCI image layout whose index names each
	// image in org.opencontainers.image.ref.name (podman's oci-archive).
	OCIArchive = "oci-archive"
)

// Save writes the images named (names or ID prefixes) to w as an archive
// of the given format (DockerArchive when empty), with their names.
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string, format string) error {
	switch format {
	case "", DockerArchive:
	case OCIArchive:
		return s.saveOCI(ctx, w, refs)
	default:
		return fmt.Errorf("save: unknown format %q (docker-archive or oci-archive): %w", format, errdefs.ErrInvalid)
	}
	gc, err := s.gcLock(false)
	if err != nil {
		return err
	}
	defer gc.Unlock()
	byRef := map[name.Reference]v1.Image{}
	for _, r := range refs {
		img, err := s.Get(ctx, r)
		if err != nil {
			return fmt.Errorf("save %s: %w", r, err)
		}
		h, err := v1.NewHash(img.Manifest.String())
		if err != nil {
			return fmt.Errorf("save %s: %w", r, err)
		}
		limg, err := layout.Path(s.layoutDir()).Image(h)
		if err != nil {
			return fmt.Errorf("save %s: %w", r, err)
		}
		names := img.Names
		if ref, err := ParseReference(r); err == nil && slices.Contains(img.Names, ref.String()) {
			names = []string{ref.String()} // saved by name: that name only, as Docker
		}
		if len(names) == 0 {
			// Saved by ID: in the archive without RepoTags, as Docker.
			d, err := name.NewDigest("untagged@" + img.Manifest.String())
			if err != nil {
				return fmt.Errorf("save %s: %w", r, err)
			}
			byRef[d] = limg
		}
		for _, n := range names {
			tag, err := name.NewTag(n)
			if err != nil {
				return fmt.Errorf("save %s: name %s: %w", r, n, err)
			}
			byRef[tag] = limg
		}
	}
	if err := tarball.MultiRefWrite(byRef, w); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// Load stores every image of the archive at path, a Docker archive
// (docker save's format) or an OCI archive (a tar of an OCI image layout,
// podman save --format oci-archive), under its names, verifying each
// layer as Pull does, and returns the names (or IDs of images without one).
func (s *Store) Load(ctx context.Context, path string) ([]string, error) {
	isOCI, err := isOCIArchive(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if isOCI {
		return s.loadOCI(ctx, path)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("load %s: neither a docker nor an OCI archive: %v: %w", path, err, errdefs.ErrInvalid)
	}
	gc, err := s.gcLock(false)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	plat := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	var loaded []string
	for _, d := range manifest {
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return loaded, fmt.Errorf("load %s: name %s: %w", path, d.RepoTags[0], errdefs.ErrInvalid)
			}
			tag = &t
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return loaded, fmt.Errorf("load %s: %w", path, err)
		}
		p := &puller{s: s, opts: PullOptions{Jobs: 3}}
		if tag != nil {
			if p.rr, err = ParseRemoteReference(d.RepoTags[0]); err != nil {
				return loaded, fmt.Errorf("load %s: %w", path, err)
			}
		}
		stored, err := p.fetch(ctx, img, plat)
		if err != nil {
			return loaded, fmt.Errorf("load %s: %w", path, err)
		}
		if tag == nil {
			loaded = append(loaded, stored.ID.String())
			continue
		}
		loaded = append(loaded, p.rr.Local.String())
		for _, more := range d.RepoTags[1:] {
			rr, err := ParseRemoteReference(more)
			if err != nil {
				return loaded, fmt.Errorf("load %s: %w", path, err)
			}
			if err := s.Tag(ctx, stored.ID.String(), rr.Local.String()); err != nil {
				return loaded, err
			}
			loaded = append(loaded, rr.Local.String())
		}
	}
	return loaded, nil
}

// isOCIArchive tells whether the tar at path holds an oci-layout file.
func isOCIArchive(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("not a tar archive: %v: %w", err, errdefs.ErrInvalid)
		}
		if path.Clean(h.Name) == "oci-layout" {
			return true, nil
		}
	}
}

// ociArchiveName is where an OCI archive keeps an image's name: containerd's
// annotation, or the layout's ref.name when it is a whole reference (podman
// and skopeo write "localhost/busybox:latest"; a bare tag names nothing).
func ociArchiveName(d v1.Descriptor) string {
	if n := d.Annotations["io.containerd.image.name"]; n != "" {
		return n
	}
	n := d.Annotations[ocispec.AnnotationRefName]
	if strings.ContainsAny(n, ":/@") {
		return n
	}
	return ""
}

// loadOCI unpacks the OCI archive's files (oci-layout, index.json and
// blobs/sha256/<hex> only) into a temporary directory and stores every
// image its index names, through the same verified path as a pull.
func (s *Store) loadOCI(ctx context.Context, archive string) ([]string, error) {
	dir, l, err := s.tempDir("load-")
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", archive, err)
	}
	defer func() { os.RemoveAll(dir); l.Unlock() }()
	if err := untarOCILayout(archive, dir); err != nil {
		return nil, fmt.Errorf("load %s: %w", archive, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %v: %w", archive, err, errdefs.ErrInvalid)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("load %s: index.json: %v: %w", archive, err, errdefs.ErrInvalid)
	}
	gc, err := s.gcLock(false)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	plat := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	var loaded []string
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			return loaded, fmt.Errorf("load %s: %s is a %s; only images can be loaded: %w", archive, d.Digest, d.MediaType, errdefs.ErrInvalid)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return loaded, fmt.Errorf("load %s: %v: %w", archive, err, errdefs.ErrInvalid)
		}
		p := &puller{s: s, opts: PullOptions{Jobs: 3}}
		n := ociArchiveName(d)
		if n != "" {
			if p.rr, err = ParseRemoteReference(n); err != nil {
				return loaded, fmt.Errorf("load %s: %w", archive, err)
			}
		}
		stored, err := p.fetch(ctx, img, plat)
		if err != nil {
			return loaded, fmt.Errorf("load %s: %w", archive, err)
		}
		if n == "" {
			loaded = append(loaded, stored.ID.String())
		} else {
			loaded = append(loaded, p.rr.Local.String())
		}
	}
	return loaded, nil
}

// untarOCILayout writes the regular files of an OCI layout from the tar
// at archive into dir. Every other name is refused, so that nothing in a
// hostile archive is written outside dir or where the layout reader would
// not look.
func untarOCILayout(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o700); err != nil {
		return err
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a tar archive: %v: %w", err, errdefs.ErrInvalid)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		switch {
		case h.Typeflag == tar.TypeDir:
			continue
		case h.Typeflag != tar.TypeReg:
			return fmt.Errorf("%s: only regular files belong in an OCI archive: %w", h.Name, errdefs.ErrInvalid)
		case name == "oci-layout", name == "index.json":
		case strings.HasPrefix(name, "blobs/sha256/") && digest.Digest("sha256:"+strings.TrimPrefix(name, "blobs/sha256/")).Validate() == nil:
		default:
			return fmt.Errorf("%s: not a file of an OCI layout: %w", h.Name, errdefs.ErrInvalid)
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// saveOCI writes the images as an OCI archive: an OCI layout made in a
// temporary directory, then streamed as a tar.
func (s *Store) saveOCI(ctx context.Context, w io.Writer, refs []string) error {
	gc, err := s.gcLock(false)
	if err != nil {
		return err
	}
	defer gc.Unlock()
	dir, l, err := s.tempDir("save-")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer func() { os.RemoveAll(dir); l.Unlock() }()
	out, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	for _, r := range refs {
		img, err := s.Get(ctx, r)
		if err != nil {
			return fmt.Errorf("save %s: %w", r, err)
		}
		h, err := v1.NewHash(img.Manifest.String())
		if err != nil {
			return fmt.Errorf("save %s: %w", r, err)
		}
		limg, err := layout.Path(s.layoutDir()).Image(h)
		if err != nil {
			return fmt.Errorf("save %s: %w", r, err)
		}
		names := img.Names
		if ref, err := ParseReference(r); err == nil && slices.Contains(img.Names, ref.String()) {
			names = []string{ref.String()}
		}
		if len(names) == 0 {
			names = []string{""}
		}
		for _, n := range names {
			var opts []layout.Option
			if n != "" {
				opts = append(opts, layout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: n}))
			}
			if err := out.AppendImage(limg, opts...); err != nil {
				return fmt.Errorf("save %s: %w", r, err)
			}
		}
	}
	return tarDir(w, dir)
}

// tarDir writes the regular files and directories under dir to w as a
// tar with names relative to dir, in a stable order.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if d.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			return tw.WriteHeader(h)
		}
		h.Typeflag, h.Size = tar.TypeReg, info.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}
