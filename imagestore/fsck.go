package imagestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/berth/berth/internal/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Problem is one inconsistency Fsck found.
type Problem struct {
	// Object is what is wrong: "blob sha256:…", "layer sha256:…" (a
	// chain ID) or "image sha256:…".
	Object string
	// What says what is wrong with it, in a few words.
	What string
	// Images are the names (or short IDs) of the images it breaks.
	Images []string
	// Repair says what FsckOptions.Repair did about it ("" when nothing).
	Repair string
}

// String is the problem in one line.
func (p Problem) String() string {
	s := p.Object + ": " + p.What
	if len(p.Images) > 0 {
		s += " (image " + strings.Join(p.Images, ", ") + ")"
	}
	if p.Repair != "" {
		s += "; " + p.Repair
	}
	return s
}

// FsckResult is what Fsck checked and found.
type FsckResult struct {
	Images, Blobs, Layers int // how many were checked
	Problems              []Problem
	// Removed are the images Repair deleted because they could no longer
	// be served.
	Removed []digest.Digest
	// Reclaimed is the bytes Repair freed (corrupt and unreferenced
	// content).
	Reclaimed int64
}

// FsckOptions configure Fsck.
type FsckOptions struct {
	// Repair re-unpacks layers from their intact blobs, deletes corrupt
	// blobs and removes the images that cannot be served any more (a
	// pull brings them back), then collects garbage.
	Repair bool
}

// Fsck re-verifies the store: every blob's content against its digest,
// every image's manifest, config and layer blobs, and every unpacked
// layer an image needs. A layer is checked by unpacking its (verified)
// blob again into a temporary directory, checking the diff ID, and
// comparing the two trees entry by entry: type, mode, owner, size and
// content, link targets, device numbers and the overlayfs opaque
// attribute. The blob is the one source of truth, already kept and
// verified, so no per-layer record is written at unpack time: pulls pay
// nothing for fsck, and there is no second record to go stale. The price
// is that fsck reads and writes each layer once more.
//
// Temporary files of interrupted writers and content no image references
// are not problems (a killed pull leaves them, and they are never
// served); Repair deletes them.
//
// Fsck holds the store's GC lock: shared when it only checks, so pulls
// may go on, exclusive when it repairs.
func (s *Store) Fsck(ctx context.Context, opts FsckOptions) (FsckResult, error) {
	var res FsckResult
	gc, err := s.gcLock(opts.Repair)
	if err != nil {
		return res, err
	}
	defer gc.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return res, err
	}

	// Every blob's content, referenced or not.
	blobIdx := map[digest.Digest]int{} // a bad blob → its problem
	blobDir := filepath.Join(s.layoutDir(), "blobs", "sha256")
	ents, err := os.ReadDir(blobDir)
	if err != nil {
		return res, fmt.Errorf("fsck: %w", err)
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if isTempName(e.Name()) {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil || !e.Type().IsRegular() {
			blobIdx[d] = len(res.Problems)
			res.Problems = append(res.Problems, Problem{Object: "blob " + e.Name(), What: "not a blob (bad name, or not a file)"})
			continue
		}
		res.Blobs++
		got, err := hashFile(filepath.Join(blobDir, e.Name()))
		if err != nil {
			return res, fmt.Errorf("fsck: blob %s: %w", d, err)
		}
		if got != d {
			blobIdx[d] = len(res.Problems)
			res.Problems = append(res.Problems, Problem{Object: "blob " + d.String(), What: "content has digest " + got.String()})
		}
	}

	// Every image, and the layers it needs.
	type imageState struct {
		desc   ocispec.Descriptor
		names  []string
		broken bool
	}
	var order []digest.Digest
	images := map[digest.Digest]*imageState{}
	for _, m := range idx.Manifests {
		st, ok := images[m.Digest]
		if !ok {
			st = &imageState{desc: m}
			images[m.Digest] = st
			order = append(order, m.Digest)
		}
		if n := m.Annotations[ocispec.AnnotationRefName]; n != "" {
			st.names = append(st.names, n)
		}
	}
	// blame adds label to problem i; the image is broken unless the
	// problem was repaired.
	blame := func(i int, st *imageState, label []string) {
		res.Problems[i].Images = append(res.Problems[i].Images, label...)
		if res.Problems[i].Repair == "" {
			st.broken = true
		}
	}
	// blobOK says whether blob d is present and intact; if not, the
	// image is blamed for it with what (what the blob is to the image).
	blobOK := func(d digest.Digest, st *imageState, label []string, what string) bool {
		if i, bad := blobIdx[d]; bad {
			blame(i, st, label)
			return false
		}
		if _, err := os.Stat(s.blobPath(d)); err != nil {
			blobIdx[d] = len(res.Problems)
			res.Problems = append(res.Problems, Problem{Object: "blob " + d.String(), What: what + " missing"})
			blame(blobIdx[d], st, label)
			return false
		}
		return true
	}
	layerIdx := map[digest.Digest]int{} // chain ID checked → its problem, or -1
	for _, md := range order {
		st := images[md]
		res.Images++
		label := append([]string(nil), st.names...)
		if len(label) == 0 {
			label = []string{md.Encoded()[:12] + " (no name)"}
		}
		if !blobOK(md, st, label, "manifest") {
			continue
		}
		img, m, err := s.loadImage(st.desc)
		if err != nil {
			if m.Config.Digest.Validate() == nil && !blobOK(m.Config.Digest, st, label, "config") {
				continue
			}
			res.Problems = append(res.Problems, Problem{Object: "image " + md.String(), What: err.Error()})
			blame(len(res.Problems)-1, st, label)
			continue
		}
		chains := img.ChainIDs()
		for i, l := range m.Layers {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			chain := chains[i]
			if pi, done := layerIdx[chain]; done {
				if pi >= 0 {
					blame(pi, st, label)
				}
				continue
			}
			res.Layers++
			if !blobOK(l.Digest, st, label, "layer blob") {
				// The unpacked layer cannot be verified (nor a
				// container's writes told apart from corruption).
				layerIdx[chain] = blobIdx[l.Digest]
				continue
			}
			p, err := s.checkLayer(ctx, l.Digest, img.DiffIDs()[i], chain, opts.Repair)
			if err != nil {
				return res, fmt.Errorf("fsck: layer %s: %w", chain, err)
			}
			if p == nil {
				layerIdx[chain] = -1
				continue
			}
			layerIdx[chain] = len(res.Problems)
			res.Problems = append(res.Problems, *p)
			blame(layerIdx[chain], st, label)
		}
	}
	if !opts.Repair {
		return res, nil
	}

	// Repair: drop the images that cannot be served, delete corrupt
	// blobs, then everything nothing references.
	drop := map[digest.Digest]bool{}
	for _, md := range order {
		if images[md].broken {
			drop[md] = true
		}
	}
	if len(drop) > 0 {
		err := s.updateIndex(func(idx *ocispec.Index) error {
			keep := []ocispec.Descriptor{}
			for _, m := range idx.Manifests {
				if !drop[m.Digest] {
					keep = append(keep, m)
				}
			}
			idx.Manifests = keep
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("fsck: remove broken images: %w", err)
		}
		for _, md := range order {
			if drop[md] {
				res.Removed = append(res.Removed, md)
			}
		}
		for i := range res.Problems {
			if res.Problems[i].Repair == "" && len(res.Problems[i].Images) > 0 {
				res.Problems[i].Repair = "image removed (pull it again)"
			}
		}
	}
	for d := range blobIdx {
		p := filepath.Join(blobDir, d.Encoded())
		if fi, err := os.Lstat(p); err == nil {
			res.Reclaimed += fi.Size()
		}
		if err := os.RemoveAll(p); err != nil {
			return res, fmt.Errorf("fsck: remove corrupt blob: %w", err)
		}
	}
	for i := range res.Problems {
		if res.Problems[i].Repair == "" && strings.HasPrefix(res.Problems[i].Object, "blob ") {
			res.Problems[i].Repair = "blob deleted"
		}
	}
	n, err := s.collectGarbage()
	res.Reclaimed += n
	if err != nil {
		return res, fmt.Errorf("fsck: %w", err)
	}
	return res, nil
}

// isTempName recognises fsutil.WriteFileAtomic's temporary files.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

func hashFile(p string) (digest.Digest, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return digest.SHA256.FromReader(f)
}

// checkLayer unpacks the layer blob again and compares the result with
// the unpacked layer chain; with repair, a missing or differing layer is
// replaced by the fresh tree. It returns nil when all is well.
func (s *Store) checkLayer(ctx context.Context, blob, diffID, chain digest.Digest, repair bool) (*Problem, error) {
	f, err := os.Open(s.blobPath(blob))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := s.stageLayer(ctx, f, stageOptions{blob: blobNone, unpack: true})
	if err != nil {
		if errdefs.IsInvalid(err) {
			return &Problem{Object: "blob " + blob.String(), What: "layer cannot be unpacked: " + err.Error()}, nil
		}
		return nil, err
	}
	defer st.discard()
	if st.diffID != diffID {
		return &Problem{Object: "blob " + blob.String(), What: fmt.Sprintf("uncompressed content has digest %s, the config's diff ID is %s", st.diffID, diffID)}, nil
	}
	dir := s.LayerPath(chain)
	var what string
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		what = "not unpacked"
	} else if diff, err := compareTrees(st.tree, dir); err != nil {
		return nil, err
	} else if diff != "" {
		what = "unpacked tree differs from its blob: " + diff
	}
	if what == "" {
		return nil, nil
	}
	p := &Problem{Object: "layer " + chain.String(), What: what}
	if !repair {
		return p, nil
	}
	if _, err := os.Lstat(dir); err == nil {
		grave := filepath.Join(s.tmpDir(), "removed-"+chain.Encoded())
		if err := os.Rename(dir, grave); err != nil {
			return nil, fmt.Errorf("move the bad layer aside: %w", err)
		}
		if err := os.RemoveAll(grave); err != nil {
			return nil, err
		}
	}
	if err := st.commit(s, chain); err != nil {
		return nil, err
	}
	p.Repair = "unpacked again from its blob"
	return p, nil
}

// compareTrees returns the first difference between the trees want and
// got ("" when they are the same): entries missing on either side, and
// per entry its type and mode, owner, size and content, link target,
// device number and the overlayfs opaque attribute.
func compareTrees(want, got string) (string, error) {
	seen := map[string]bool{}
	var diffs []string
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		seen[rel] = true
		if diff := compareEntry(p, filepath.Join(got, rel)); diff != "" {
			diffs = append(diffs, filepath.Join("/", rel)+": "+diff)
		}
		if len(diffs) > 0 {
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(diffs) > 0 {
		return diffs[0], nil
	}
	var extra []string
	err = filepath.WalkDir(got, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(got, p)
		if !seen[rel] {
			extra = append(extra, filepath.Join("/", rel))
			if d.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return extra[0] + ": not in the layer", nil
	}
	return "", nil
}

func compareEntry(want, got string) string {
	wi, err := os.Lstat(want)
	if err != nil {
		return err.Error()
	}
	gi, err := os.Lstat(got)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	if err != nil {
		return err.Error()
	}
	if wi.Mode() != gi.Mode() {
		return fmt.Sprintf("mode %s, want %s", gi.Mode(), wi.Mode())
	}
	ws, gs := wi.Sys().(*syscall.Stat_t), gi.Sys().(*syscall.Stat_t)
	if ws.Uid != gs.Uid || ws.Gid != gs.Gid {
		return fmt.Sprintf("owner %d:%d, want %d:%d", gs.Uid, gs.Gid, ws.Uid, ws.Gid)
	}
	switch {
	case wi.Mode().IsRegular():
		if wi.Size() != gi.Size() {
			return fmt.Sprintf("size %d, want %d", gi.Size(), wi.Size())
		}
		same, err := sameContent(want, got)
		if err != nil {
			return err.Error()
		}
		if !same {
			return "content differs"
		}
	case wi.Mode()&fs.ModeSymlink != 0:
		wl, _ := os.Readlink(want)
		gl, _ := os.Readlink(got)
		if wl != gl {
			return fmt.Sprintf("link to %q, want %q", gl, wl)
		}
	case wi.Mode()&fs.ModeDevice != 0:
		if ws.Rdev != gs.Rdev {
			return "device number differs"
		}
	case wi.IsDir():
		if opaque(want) != opaque(got) {
			return "overlayfs opaque attribute differs"
		}
	}
	return ""
}

func opaque(p string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(p, "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 256<<10), make([]byte, 256<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return eb == ea, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}
