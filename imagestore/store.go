package imagestore

import (
	"bufio"
	"bytes"
	"context"
	_ "crypto/sha256" // registers sha256 for go-digest
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/imagestore/layer"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// DefaultRoot is where berth keeps images on a host (FHS: state that
// persists across boots).
const DefaultRoot = "/var/lib/berth"

// DefaultPath is the PATH an image gets when its config names none,
// as Docker sets it.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Store is the image store under one root directory. Its methods are
// safe for concurrent use by several processes: see the package doc for
// the lock rules.
type Store struct {
	root  string
	inUse func(digest.Digest) (string, bool)
	// Privileged is passed on to layer extraction: apply ownership and
	// create overlayfs whiteouts (needs root).
	privileged bool
	// warn receives degradations worth telling a user once.
	warn func(string)
}

// Options configure Open.
type Options struct {
	// Privileged: extract layers with ownership and whiteouts (root).
	// Open sets it from the effective UID when nil.
	Privileged *bool
	// Warn receives one message per kind of degradation; nil discards.
	Warn func(string)
	// InUse, when set, says whether a container uses the image with
	// the given ID (user names it) and whether that container runs.
	// Remove never deletes such an image (see Remove). The store does
	// not know containers: the caller does.
	InUse func(id digest.Digest) (user string, running bool)
}

// Open opens (creating when needed) the store at root and removes the
// debris of interrupted writers: temporary files no live process holds.
func Open(root string, opts Options) (*Store, error) {
	s := &Store{root: root, privileged: os.Geteuid() == 0, warn: opts.Warn, inUse: opts.InUse}
	if opts.Privileged != nil {
		s.privileged = *opts.Privileged
	}
	if s.warn == nil {
		s.warn = func(string) {}
	}
	for _, d := range []string{root, s.layoutDir(), filepath.Join(s.layoutDir(), "blobs", "sha256"),
		filepath.Join(root, "layers", "sha256"), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	layout := filepath.Join(s.layoutDir(), ocispec.ImageLayoutFile)
	if _, err := os.Stat(layout); errors.Is(err, fs.ErrNotExist) {
		b, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		if err := fsutil.WriteFileAtomic(layout, b, 0o644); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	if _, err := os.Stat(s.indexPath()); errors.Is(err, fs.ErrNotExist) {
		if err := s.writeIndex(newIndex()); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	s.cleanTmp()
	return s, nil
}

func (s *Store) layoutDir() string { return filepath.Join(s.root, "images") }
func (s *Store) indexPath() string { return filepath.Join(s.layoutDir(), ocispec.ImageIndexFile) }
func (s *Store) tmpDir() string    { return filepath.Join(s.root, "tmp") }
func (s *Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.layoutDir(), "blobs", d.Algorithm().String(), d.Encoded())
}

// LayerPath is the directory holding the unpacked layer with chain ID
// chain; it exists once the layer is unpacked.
func (s *Store) LayerPath(chain digest.Digest) string {
	return filepath.Join(s.root, "layers", chain.Algorithm().String(), chain.Encoded())
}

// gcLock is held shared by writers that add content (so GC never
// deletes a blob they wrote but have not referenced yet) and exclusive
// by GC.
func (s *Store) gcLock(exclusive bool) (*fsutil.Lock, error) {
	return fsutil.LockFile(filepath.Join(s.root, "images.lock"), exclusive)
}

// indexLock serialises read-modify-write of index.json.
func (s *Store) indexLock() (*fsutil.Lock, error) {
	return fsutil.LockFile(filepath.Join(s.root, "index.lock"), true)
}

// cleanTmp removes temporary files and directories that no live writer
// holds a lock on: the debris of a crash or kill -9. It leaves alone
// what is younger than tmpGrace: tempDir makes its directory before it
// can lock it, and another process's cleanTmp must not take it in
// between.
func (s *Store) cleanTmp() {
	ents, _ := os.ReadDir(s.tmpDir())
	for _, e := range ents {
		p := filepath.Join(s.tmpDir(), e.Name())
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < tmpGrace {
			continue
		}
		l, ok, err := fsutil.TryLock(p)
		if err != nil || !ok {
			continue
		}
		os.RemoveAll(p)
		l.Unlock()
	}
}

// tmpGrace is how old an unlocked entry of the tmp area must be before
// cleanTmp takes it for debris.
const tmpGrace = time.Minute

// tempDir makes a directory in the store's tmp area, locked so that
// cleanTmp in another process leaves it alone while we live (and, for
// the moment before the lock, young: tmpGrace).
func (s *Store) tempDir(pattern string) (string, *fsutil.Lock, error) {
	d, err := os.MkdirTemp(s.tmpDir(), pattern)
	if err != nil {
		return "", nil, err
	}
	l, ok, err := fsutil.TryLock(d)
	if err == nil && !ok {
		err = fmt.Errorf("lock %s: held by another process", d)
	}
	if err != nil {
		os.RemoveAll(d)
		return "", nil, err
	}
	return d, l, nil
}

// writeBlob stores data under its sha256 digest. A blob that exists
// already is success: content addresses never change.
func (s *Store) writeBlob(data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	p := s.blobPath(d)
	if _, err := os.Stat(p); err == nil {
		return d, nil
	}
	if err := fsutil.WriteFileAtomic(p, data, 0o644); err != nil {
		return "", fmt.Errorf("write blob %s: %w", d, err)
	}
	return d, nil
}

// readBlob reads a small blob (manifest, config) and verifies its digest.
func (s *Store) readBlob(d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d, errdefs.ErrInvalid)
	}
	b, err := os.ReadFile(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	if got := d.Algorithm().FromBytes(b); got != d {
		return nil, fmt.Errorf("blob %s: content has digest %s, the store is corrupted: %w", d, got, errdefs.ErrInvalid)
	}
	return b, nil
}

func (s *Store) readJSON(d digest.Digest, v any) error {
	b, err := s.readBlob(d)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("blob %s: %v: %w", d, err, errdefs.ErrInvalid)
	}
	return nil
}

// ImportOptions describe an imported image.
type ImportOptions struct {
	// Message is recorded as the history comment (docker import -m).
	Message string
	// Config, when non-nil, is the container config of the new image
	// (Env, Cmd, WorkingDir…); otherwise it gets only a default PATH.
	Config *ocispec.ImageConfig
}

// Import makes a one-layer image from a root filesystem tarball (plain,
// gzip- or zstd-compressed), tags it ref (or leaves it untagged when ref is the
// zero Reference), and returns it. The layer is stored as
// an uncompressed tar blob and unpacked once, in the same pass. If ref
// named another image before, that image stays in the store, untagged.
func (s *Store) Import(ctx context.Context, r io.Reader, ref Reference, opts ImportOptions) (Image, error) {
	gc, err := s.gcLock(false)
	if err != nil {
		return Image{}, err
	}
	defer gc.Unlock()

	diffID, size, err := s.ingestLayer(ctx, r)
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", ref, err)
	}
	now := time.Now().UTC()
	cfg := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &now, CreatedBy: "berth image import", Comment: opts.Message}},
	}
	if opts.Config != nil {
		cfg.Config = *opts.Config
	}
	if !hasPath(cfg.Config.Env) {
		cfg.Config.Env = append([]string{DefaultPath}, cfg.Config.Env...)
	}
	cfgBytes, err := json.Marshal(cfg)
	if err != nil {
		return Image{}, err
	}
	cfgDigest, err := s.writeBlob(cfgBytes)
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", ref, err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(cfgBytes))},
		Layers:    []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: diffID, Size: size}},
	}
	mBytes, err := json.Marshal(m)
	if err != nil {
		return Image{}, err
	}
	mDigest, err := s.writeBlob(mBytes)
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", ref, err)
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: mDigest, Size: int64(len(mBytes))}
	if err := s.updateIndex(func(idx *ocispec.Index) error {
		if ref.Name == "" {
			// No name: a dangling image, listed and removable by ID.
			if !references(idx.Manifests, desc.Digest) {
				idx.Manifests = append(idx.Manifests, desc)
			}
			return nil
		}
		setRef(idx, desc, ref.String())
		return nil
	}); err != nil {
		return Image{}, fmt.Errorf("import %s: %w", ref, err)
	}
	img := Image{ID: cfgDigest, Manifest: mDigest, Config: cfg, Size: size}
	if ref.Name != "" {
		img.Names = []string{ref.String()}
	}
	return img, nil
}

func hasPath(env []string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return true
		}
	}
	return false
}

// ingestLayer reads a layer tarball (gzip, zstd or plain) once: the
// uncompressed stream is written to a temporary blob, hashed and unpacked
// into a temporary directory at the same time. Both are then renamed
// into place under the diff ID (for a bottom layer also its chain ID).
// Content that is already present is kept and the new copy dropped.
func (s *Store) ingestLayer(ctx context.Context, r io.Reader) (digest.Digest, int64, error) {
	st, err := s.stageLayer(ctx, r, stageOptions{blob: blobUncompressed, unpack: true})
	if err != nil {
		return "", 0, err
	}
	defer st.discard()
	if err := st.commit(s, st.diffID); err != nil {
		return "", 0, err
	}
	return st.diffID, st.uncompressedSize, nil
}

// blobKind says which stream stageLayer keeps as the layer's blob.
type blobKind int

const (
	blobNone         blobKind = iota // keep no blob (it is in the store already)
	blobRaw                          // the stream as read (a registry's compressed blob)
	blobUncompressed                 // the uncompressed tar (berth image import)
)

type stageOptions struct {
	blob   blobKind
	unpack bool // unpack the tar into the staged tree
}

// stagedLayer is a layer read once and verified by its caller, waiting
// in a locked temporary directory to be renamed into the store: the tree
// only becomes visible complete, never half unpacked.
type stagedLayer struct {
	work string
	lock *fsutil.Lock
	blob string // the blob file in work; "" for blobNone
	tree string // the unpacked tree in work; "" when not unpacked

	rawDigest        digest.Digest // of the stream as read
	rawSize          int64
	diffID           digest.Digest // of the uncompressed tar
	uncompressedSize int64
	blobDigest       digest.Digest // what commit names the blob
}

// stageLayer reads a layer stream (gzip, zstd or plain tar, told apart
// by their magic numbers) to its end exactly once. It hashes the raw and
// the uncompressed stream, keeps the blob opts.blob asks for and, with
// opts.unpack, unpacks the tar, all in the same pass. The result is
// fsynced but not yet visible: the caller checks the digests and calls
// commit, and always discard.
func (s *Store) stageLayer(ctx context.Context, r io.Reader, opts stageOptions) (_ *stagedLayer, err error) {
	work, lock, err := s.tempDir("ingest-")
	if err != nil {
		return nil, err
	}
	st := &stagedLayer{work: work, lock: lock}
	defer func() {
		if err != nil {
			st.discard()
		}
	}()
	var blob *os.File
	if opts.blob != blobNone {
		if blob, err = os.Create(filepath.Join(work, "blob")); err != nil {
			return nil, err
		}
		defer blob.Close()
		st.blob = blob.Name()
	}
	rawHash, rawCount := digest.Canonical.Digester(), &countWriter{}
	rawSinks := []io.Writer{rawHash.Hash(), rawCount}
	if opts.blob == blobRaw {
		rawSinks = append(rawSinks, blob)
	}
	br := bufio.NewReaderSize(io.TeeReader(r, io.MultiWriter(rawSinks...)), 1<<20)
	src, closeSrc, err := decompress(br)
	if err != nil {
		return nil, err
	}
	defer closeSrc()
	diffHash, diffCount := digest.Canonical.Digester(), &countWriter{}
	sinks := []io.Writer{diffHash.Hash(), diffCount}
	if opts.blob == blobUncompressed {
		sinks = append(sinks, blob)
	}
	tee := io.TeeReader(src, io.MultiWriter(sinks...))
	if opts.unpack {
		st.tree = filepath.Join(work, "tree")
		if err := os.Mkdir(st.tree, 0o755); err != nil {
			return nil, err
		}
		if _, err := layer.Unpack(ctx, tee, st.tree, layer.Options{Privileged: s.privileged, Warn: s.warn}); err != nil {
			return nil, err
		}
	} else if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	// Unpack read the tar to its end; the raw stream may have more (a
	// decompressor stops at its end marker). Read it all so that the raw
	// digest covers every byte and a verifying reader sees EOF.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	st.rawDigest, st.rawSize = rawHash.Digest(), rawCount.n
	st.diffID, st.uncompressedSize = diffHash.Digest(), diffCount.n
	st.blobDigest = st.rawDigest
	if opts.blob == blobUncompressed {
		st.blobDigest = st.diffID
	}
	if blob != nil {
		if err := blob.Sync(); err != nil {
			return nil, err
		}
	}
	if st.tree != "" {
		// One syncfs makes the whole unpacked tree durable before it
		// becomes visible under its final name.
		if err := syncfs(st.tree); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// decompress returns the uncompressed stream of a layer: gzip and zstd
// are recognised by their magic numbers, anything else is read as a tar.
func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("read gzip: %v: %w", err, errdefs.ErrInvalid)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("read zstd: %v: %w", err, errdefs.ErrInvalid)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// commit renames the staged blob and tree into the store, the tree under
// chain ID chain. Content already there (another writer got there first)
// is kept.
func (st *stagedLayer) commit(s *Store, chain digest.Digest) error {
	var dirs []string
	if st.blob != "" {
		if err := renameNew(st.blob, s.blobPath(st.blobDigest)); err != nil {
			return fmt.Errorf("store layer blob %s: %w", st.blobDigest, err)
		}
		dirs = append(dirs, filepath.Dir(s.blobPath(st.blobDigest)))
	}
	if st.tree != "" {
		if err := renameNew(st.tree, s.LayerPath(chain)); err != nil {
			return fmt.Errorf("store layer %s: %w", chain, err)
		}
		dirs = append(dirs, filepath.Dir(s.LayerPath(chain)))
	}
	for _, d := range dirs {
		if err := fsutil.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// discard removes what commit did not move and releases the directory.
func (st *stagedLayer) discard() {
	os.RemoveAll(st.work)
	st.lock.Unlock()
}

// renameNew renames from to a content-addressed path to; when to exists
// already (another writer got there first) the content is the same, and
// from is simply left for the caller's cleanup.
func renameNew(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return nil
	}
	err := os.Rename(from, to)
	if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

func syncfs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// Image is an image in the store, as List and Get return it.
type Image struct {
	ID       digest.Digest // the config digest, as Docker names images
	Manifest digest.Digest
	Names    []string // references, sorted; empty for a dangling image
	Config   ocispec.Image
	// Size is the sum of the layer blob sizes.
	Size int64
	// Intermediate is a build step's image (AnnotationIntermediate).
	Intermediate bool
}

// DiffIDs are the image's layers, bottom first.
func (img Image) DiffIDs() []digest.Digest { return img.Config.RootFS.DiffIDs }

// ChainIDs are the chain IDs of the image's layers, bottom first (OCI
// image-spec: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))).
func (img Image) ChainIDs() []digest.Digest {
	var out []digest.Digest
	for i, d := range img.DiffIDs() {
		if i == 0 {
			out = append(out, d)
			continue
		}
		out = append(out, digest.FromString(out[i-1].String()+" "+d.String()))
	}
	return out
}

// List returns every image in the store, newest first.
func (s *Store) List(ctx context.Context) ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	byManifest := map[digest.Digest]*Image{}
	var order []digest.Digest
	for _, m := range idx.Manifests {
		img, ok := byManifest[m.Digest]
		if !ok {
			loaded, _, err := s.loadImage(m)
			if err != nil {
				return nil, err
			}
			img = &loaded
			byManifest[m.Digest] = img
			order = append(order, m.Digest)
		}
		if name := m.Annotations[ocispec.AnnotationRefName]; name != "" {
			img.Names = append(img.Names, name)
		}
		if m.Annotations[AnnotationIntermediate] == "true" {
			img.Intermediate = true
		}
	}
	out := make([]Image, 0, len(order))
	for _, d := range order {
		sort.Strings(byManifest[d].Names)
		out = append(out, *byManifest[d])
	}
	sort.SliceStable(out, func(i, j int) bool { return created(out[i]).After(created(out[j])) })
	return out, nil
}

func created(img Image) time.Time {
	if img.Config.Created == nil {
		return time.Time{}
	}
	return *img.Config.Created
}

// loadImage reads (and verifies) the manifest desc points at and its
// config; it returns the manifest too, for callers that walk its blobs.
func (s *Store) loadImage(desc ocispec.Descriptor) (Image, ocispec.Manifest, error) {
	var m ocispec.Manifest
	if err := s.readJSON(desc.Digest, &m); err != nil {
		return Image{}, m, fmt.Errorf("manifest: %w", err)
	}
	img := Image{ID: m.Config.Digest, Manifest: desc.Digest}
	if err := s.readJSON(m.Config.Digest, &img.Config); err != nil {
		return Image{}, m, fmt.Errorf("image config: %w", err)
	}
	if len(img.Config.RootFS.DiffIDs) != len(m.Layers) {
		return Image{}, m, fmt.Errorf("image %s: config lists %d layers, manifest %d: %w",
			img.ID.Encoded()[:12], len(img.Config.RootFS.DiffIDs), len(m.Layers), errdefs.ErrInvalid)
	}
	for _, l := range m.Layers {
		img.Size += l.Size
	}
	return img, m, nil
}

// Get finds an image by reference (NAME[:TAG], the tag defaulting to
// latest) or by ID: the full digest, its hex, or a unique hex prefix.
func (s *Store) Get(ctx context.Context, nameOrID string) (Image, error) {
	imgs, err := s.List(ctx)
	if err != nil {
		return Image{}, err
	}
	img, err := find(imgs, nameOrID)
	if err != nil {
		return Image{}, err
	}
	return *img, nil
}

// find resolves nameOrID among imgs: a name first, then an ID prefix.
func find(imgs []Image, nameOrID string) (*Image, error) {
	if ref, err := ParseReference(nameOrID); err == nil {
		for i := range imgs {
			for _, n := range imgs[i].Names {
				if n == ref.String() {
					return &imgs[i], nil
				}
			}
		}
	}
	id := strings.TrimPrefix(nameOrID, "sha256:")
	if len(id) > 0 && len(id) <= 64 && strings.Trim(id, "0123456789abcdef") == "" {
		var match *Image
		for i := range imgs {
			if strings.HasPrefix(imgs[i].ID.Encoded(), id) {
				if match != nil && match.ID != imgs[i].ID {
					return nil, fmt.Errorf("image ID prefix %q is ambiguous: %w", nameOrID, errdefs.ErrConflict)
				}
				match = &imgs[i]
			}
		}
		if match != nil {
			return match, nil
		}
	}
	return nil, fmt.Errorf("no such image: %s: %w", nameOrID, errdefs.ErrNotFound)
}

// RemoveResult says what Remove did, in Docker's words.
type RemoveResult struct {
	Untagged []string
	Deleted  []digest.Digest // image IDs whose image is gone
}

// manifestSize is the size recorded in the index for manifest d.
func manifestSize(idx *ocispec.Index, d digest.Digest) int64 {
	for _, m := range idx.Manifests {
		if m.Digest == d {
			return m.Size
		}
	}
	return 0
}

// Remove removes a name, or an image by ID, as docker rmi does: a name is
// untagged, and the image is deleted once no name is left. An ID that
// several names share is refused unless force, which untags them all.
// Blobs and unpacked layers no other image uses are then deleted. An
// image that a container uses (Options.InUse) is never deleted: it is a
// conflict, and with force (for a stopped container only) it loses its
// names and stays as a dangling image.
func (s *Store) Remove(ctx context.Context, nameOrID string, force bool) (RemoveResult, error) {
	var res RemoveResult
	gc, err := s.gcLock(true)
	if err != nil {
		return res, err
	}
	defer gc.Unlock()
	err = s.updateIndex(func(idx *ocispec.Index) error {
		imgs, err := s.List(ctx)
		if err != nil {
			return err
		}
		img, err := find(imgs, nameOrID)
		if err != nil {
			return err
		}
		byName := false
		if ref, err := ParseReference(nameOrID); err == nil {
			for _, n := range img.Names {
				byName = byName || n == ref.String()
			}
			if byName {
				res.Untagged = []string{ref.String()}
			}
		}
		if !byName {
			if len(img.Names) > 1 && !force {
				return fmt.Errorf("unable to delete %s (must be forced): image is referenced in multiple repositories: %w",
					img.ID.Encoded()[:12], errdefs.ErrConflict)
			}
			res.Untagged = append(res.Untagged, img.Names...)
		}
		var keep []ocispec.Descriptor
		remaining := 0
		for _, m := range idx.Manifests {
			name := m.Annotations[ocispec.AnnotationRefName]
			if m.Digest == img.Manifest && (!byName || name == res.Untagged[0] || name == "") {
				continue
			}
			if m.Digest == img.Manifest {
				remaining++
			}
			keep = append(keep, m)
		}
		if remaining == 0 && s.inUse != nil {
			// Docker's rules: an image a running container uses cannot be
			// removed; one a stopped container uses only with force, and
			// then it loses its names but stays, dangling, for the
			// container, whose layers it holds.
			if user, running := s.inUse(img.ID); user != "" {
				short := img.ID.Encoded()[:12]
				switch {
				case running:
					return fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image is being used by running container %s: %w", short, user, errdefs.ErrConflict)
				case !force:
					return fmt.Errorf("conflict: unable to delete %s (must be forced) - image is being used by stopped container %s: %w", short, user, errdefs.ErrConflict)
				}
				keep = append(keep, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.Manifest, Size: manifestSize(idx, img.Manifest)})
				remaining = 1
			}
		}
		idx.Manifests = keep
		if remaining == 0 {
			res.Deleted = append(res.Deleted, img.ID)
		}
		return nil
	})
	if err != nil {
		return RemoveResult{}, err
	}
	if len(res.Deleted) > 0 {
		if _, err := s.collectGarbage(); err != nil {
			return res, fmt.Errorf("remove %s: %w", nameOrID, err)
		}
	}
	return res, nil
}

// collectGarbage deletes blobs and unpacked layers that no manifest in
// the index reaches. The caller holds the GC lock exclusively. Layers are
// renamed into tmp first and deleted from there, so a crash half way
// leaves only debris that the next Open removes. It returns the bytes
// deleted.
func (s *Store) collectGarbage() (int64, error) {
	idx, err := s.readIndex()
	if err != nil {
		return 0, err
	}
	var freed int64
	blobs := map[string]bool{}
	layers := map[string]bool{}
	for _, desc := range idx.Manifests {
		blobs[desc.Digest.Encoded()] = true
		img, m, err := s.loadImage(desc)
		if err != nil {
			return 0, fmt.Errorf("garbage collection stopped, to keep what may still be used: %w", err)
		}
		blobs[m.Config.Digest.Encoded()] = true
		for _, l := range m.Layers {
			blobs[l.Digest.Encoded()] = true
		}
		for _, c := range img.ChainIDs() {
			layers[c.Encoded()] = true
		}
	}
	var errs []error
	blobDir := filepath.Join(s.layoutDir(), "blobs", "sha256")
	ents, _ := os.ReadDir(blobDir)
	for _, e := range ents {
		if !blobs[e.Name()] {
			var size int64
			if fi, err := e.Info(); err == nil {
				size = fi.Size()
			}
			if err := os.Remove(filepath.Join(blobDir, e.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			freed += size
		}
	}
	layerDir := filepath.Join(s.root, "layers", "sha256")
	ents, _ = os.ReadDir(layerDir)
	for _, e := range ents {
		if layers[e.Name()] {
			continue
		}
		grave := filepath.Join(s.tmpDir(), "removed-"+e.Name())
		if err := os.Rename(filepath.Join(layerDir, e.Name()), grave); err != nil {
			errs = append(errs, err)
			continue
		}
		freed += DirSize(grave)
		if err := os.RemoveAll(grave); err != nil {
			errs = append(errs, err)
		}
	}
	return freed, errors.Join(errs...)
}

func newIndex() *ocispec.Index {
	return &ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{}}
}

func (s *Store) readIndex() (*ocispec.Index, error) {
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	idx := newIndex()
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("read image index %s: %v: %w", s.indexPath(), err, errdefs.ErrInvalid)
	}
	return idx, nil
}

func (s *Store) writeIndex(idx *ocispec.Index) error {
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(s.indexPath(), b, 0o644)
}

// updateIndex applies fn to index.json under the index lock and writes
// the result atomically; nothing is written when fn fails.
func (s *Store) updateIndex(fn func(*ocispec.Index) error) error {
	l, err := s.indexLock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	return s.writeIndex(idx)
}

// setRef points name at desc. The image name pointed to before keeps an
// unnamed entry when no other name refers to it (Docker's dangling
// image), so that it stays listed and removable by ID.
func setRef(idx *ocispec.Index, desc ocispec.Descriptor, name string) {
	var out []ocispec.Descriptor
	var old *ocispec.Descriptor
	for i, m := range idx.Manifests {
		n := m.Annotations[ocispec.AnnotationRefName]
		if n == name || (n == "" && m.Digest == desc.Digest) {
			if n == name && m.Digest != desc.Digest {
				old = &idx.Manifests[i]
			}
			continue
		}
		out = append(out, m)
	}
	if old != nil && !references(out, old.Digest) {
		out = append(out, ocispec.Descriptor{MediaType: old.MediaType, Digest: old.Digest, Size: old.Size})
	}
	desc.Annotations = map[string]string{ocispec.AnnotationRefName: name}
	idx.Manifests = append(out, desc)
}

func references(ms []ocispec.Descriptor, d digest.Digest) bool {
	for _, m := range ms {
		if m.Digest == d {
			return true
		}
	}
	return false
}
