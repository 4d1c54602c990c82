package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// makeELF returns a minimal little-endian ELF64 executable image. With a
// non-empty interp it carries a PT_INTERP program header naming interp (a
// dynamically linked binary); without, it has no program headers at all.
func makeELF(t *testing.T, interp string) []byte {
	t.Helper()
	var phnum uint16
	if interp != "" {
		phnum = 1
	}
	const ehsize, phentsize = 64, 56
	hdr := elf.Header64{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Phoff:     ehsize,
		Ehsize:    ehsize,
		Phentsize: phentsize,
		Phnum:     phnum,
		Shentsize: 64,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	if interp != "" {
		s := append([]byte(interp), 0)
		off := uint64(ehsize + phentsize)
		prog := elf.Prog64{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: off, Vaddr: off, Paddr: off,
			Filesz: uint64(len(s)), Memsz: uint64(len(s)), Align: 1}
		if err := binary.Write(&buf, binary.LittleEndian, prog); err != nil {
			t.Fatal(err)
		}
		buf.Write(s)
	}
	buf.WriteString("not really busybox\n")
	return buf.Bytes()
}

func writeTemp(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeApplets includes "busybox" and a duplicate, which must be dropped.
var fakeApplets = []string{"sh", "echo", "cat", "ls", "httpd", "wget", "sleep", "true", "false", "env",
	"id", "hostname", "mount", "ps", "nslookup", "[", "[[", "busybox", "sh"}

const fakeVersion = "1.36.1"

// buildFake runs build with a fake (static-looking) busybox into a new dir.
func buildFake(t *testing.T) (outDir string, busyboxData []byte) {
	t.Helper()
	busyboxData = makeELF(t, "")
	bb := writeTemp(t, "busybox", busyboxData, 0o755)
	outDir = t.TempDir()
	if err := build(outDir, bb, fakeApplets, fakeVersion); err != nil {
		t.Fatalf("build: %v", err)
	}
	return outDir, busyboxData
}

type tarEntry struct {
	hdr  *tar.Header
	data []byte
}

func readTar(t *testing.T, data []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{hdr, b})
	}
}

// checkTarInvariants checks ownership, timestamps, header format and order.
func checkTarInvariants(t *testing.T, what string, entries []tarEntry) {
	t.Helper()
	seen := map[string]byte{}
	var prevName string
	inLinks := false
	for _, e := range entries {
		h := e.hdr
		name := strings.TrimSuffix(h.Name, "/")
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: %s: uid/gid %d/%d, want 0/0", what, h.Name, h.Uid, h.Gid)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: %s: mtime %v, want %v", what, h.Name, h.ModTime, epoch)
		}
		if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) != 0 {
			t.Errorf("%s: %s: unexpected atime/ctime/PAX records %v", what, h.Name, h.PAXRecords)
		}
		if h.Format&tar.FormatUSTAR == 0 {
			t.Errorf("%s: %s: format %v, want USTAR", what, h.Name, h.Format)
		}
		if (h.Typeflag == tar.TypeDir) != strings.HasSuffix(h.Name, "/") {
			t.Errorf("%s: %s: directory entries (and only they) must end in /", what, h.Name)
		}
		if _, dup := seen[name]; dup {
			t.Errorf("%s: %s: duplicate entry", what, name)
		}
		if parent := path.Dir(name); parent != "." && seen[parent] != tar.TypeDir {
			t.Errorf("%s: %s: appears before its directory %s", what, name, parent)
		}
		if h.Typeflag == tar.TypeLink {
			if seen[h.Linkname] != tar.TypeReg {
				t.Errorf("%s: hardlink %s -> %s: target not an earlier regular file", what, name, h.Linkname)
			}
			if !inLinks {
				inLinks, prevName = true, ""
			}
		} else if inLinks {
			t.Errorf("%s: %s: non-hardlink after the hardlinks", what, name)
		}
		if name <= prevName {
			t.Errorf("%s: %s: not sorted after %s", what, name, prevName)
		}
		prevName = name
		seen[name] = h.Typeflag
	}
}

func findEntry(entries []tarEntry, name string) *tarEntry {
	for i := range entries {
		if strings.TrimSuffix(entries[i].hdr.Name, "/") == name {
			return &entries[i]
		}
	}
	return nil
}

type wantEntry struct {
	name     string
	typ      byte
	mode     int64
	linkname string
	contains string // substring of the contents
}

func checkEntries(t *testing.T, entries []tarEntry, wants []wantEntry) {
	t.Helper()
	for _, w := range wants {
		e := findEntry(entries, w.name)
		if e == nil {
			t.Errorf("entry %s missing", w.name)
			continue
		}
		if e.hdr.Typeflag != w.typ || e.hdr.Mode != w.mode || e.hdr.Linkname != w.linkname {
			t.Errorf("entry %s: type %q mode %#o link %q, want %q %#o %q", w.name,
				e.hdr.Typeflag, e.hdr.Mode, e.hdr.Linkname, w.typ, w.mode, w.linkname)
		}
		if !strings.Contains(string(e.data), w.contains) {
			t.Errorf("entry %s: contents %q do not contain %q", w.name, e.data, w.contains)
		}
	}
}

func TestRootfsTar(t *testing.T) {
	data := makeELF(t, "")
	bb := writeTemp(t, "busybox", data, 0o755)
	var buf bytes.Buffer
	if err := rootfsTar(&buf, bb, fakeApplets, fakeVersion); err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, buf.Bytes())
	checkTarInvariants(t, "busybox.tar", entries)

	wants := []wantEntry{
		{"bin", tar.TypeDir, 0o755, "", ""},
		{"bin/busybox", tar.TypeReg, 0o755, "", "not really busybox"},
		{"dev", tar.TypeDir, 0o755, "", ""},
		{"etc", tar.TypeDir, 0o755, "", ""},
		{"etc/passwd", tar.TypeReg, 0o644, "", "root:x:0:0:root:/root:/bin/sh\n"},
		{"etc/passwd", tar.TypeReg, 0o644, "", "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{"etc/passwd", tar.TypeReg, 0o644, "", "www-data:x:33:33:www-data:/var/www:/bin/false\n"},
		{"etc/group", tar.TypeReg, 0o644, "", "root:x:0:\n"},
		{"etc/group", tar.TypeReg, 0o644, "", "nogroup:x:65534:\n"},
		{"etc/group", tar.TypeReg, 0o644, "", "www-data:x:33:\n"},
		{"etc/os-release", tar.TypeReg, 0o644, "", "NAME=\"berth busybox\"\nID=busybox\nVERSION_ID=1.36.1\n"},
		{"home", tar.TypeDir, 0o755, "", ""},
		{"proc", tar.TypeDir, 0o555, "", ""},
		{"root", tar.TypeDir, 0o700, "", ""},
		{"run", tar.TypeDir, 0o755, "", ""},
		{"sbin", tar.TypeDir, 0o755, "", ""},
		{"sys", tar.TypeDir, 0o555, "", ""},
		{"tmp", tar.TypeDir, 0o1777, "", ""},
		{"usr", tar.TypeDir, 0o755, "", ""},
		{"usr/bin", tar.TypeDir, 0o755, "", ""},
		{"usr/bin/env", tar.TypeSymlink, 0o777, "/bin/busybox", ""},
		{"var", tar.TypeDir, 0o755, "", ""},
		{"var/www", tar.TypeDir, 0o755, "", ""},
		{"var/www/index.html", tar.TypeReg, 0o644, "", "Hello from a berth container"},
	}
	for _, a := range []string{"sh", "echo", "cat", "ls", "httpd", "wget", "sleep", "true", "false", "env",
		"id", "hostname", "mount", "ps", "nslookup", "[", "[["} {
		wants = append(wants, wantEntry{"bin/" + a, tar.TypeSymlink, 0o777, "busybox", ""})
	}
	checkEntries(t, entries, wants)

	if e := findEntry(entries, "bin/busybox"); e != nil && !bytes.Equal(e.data, data) {
		t.Errorf("bin/busybox differs from the input binary")
	}
	// Exactly the expected set: the 17 distinct applets (no "bin/busybox"
	// symlink) plus the fixed entries, and no /etc/hostname.
	names := map[string]bool{}
	for _, w := range wants {
		names[w.name] = true
	}
	if len(entries) != len(names) {
		var got []string
		for _, e := range entries {
			got = append(got, e.hdr.Name)
		}
		t.Errorf("got %d entries, want %d: %q", len(entries), len(names), got)
	}
	if findEntry(entries, "etc/hostname") != nil {
		t.Errorf("etc/hostname must not be in the rootfs")
	}
}

func TestRootfsTarErrors(t *testing.T) {
	bb := writeTemp(t, "busybox", makeELF(t, ""), 0o755)
	tests := []struct {
		name    string
		busybox string
		applets []string
		version string
		wantErr string
	}{
		{"slash in applet", bb, []string{"sh", "a/b"}, "1.0", "invalid applet name"},
		{"dotdot applet", bb, []string{".."}, "1.0", "invalid applet name"},
		{"empty applet", bb, []string{""}, "1.0", "invalid applet name"},
		{"space in version", bb, []string{"sh"}, "1.0 evil", "invalid busybox version"},
		{"empty version", bb, []string{"sh"}, "", "invalid busybox version"},
		{"newline in version", bb, []string{"sh"}, "1.0\nID=x", "invalid busybox version"},
		{"missing binary", filepath.Join(t.TempDir(), "nope"), []string{"sh"}, "1.0", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rootfsTar(io.Discard, tc.busybox, tc.applets, tc.version)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestWriteTarErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		wantErr string
	}{
		{"duplicate", []entry{dir("a", 0o755), dir("a", 0o755)}, "duplicate"},
		{"missing parent", []entry{file("a/b", 0o644, "")}, "parent directory"},
		{"parent not a dir", []entry{file("a", 0o644, ""), file("a/b", 0o644, "")}, "parent directory"},
		{"absolute", []entry{dir("/a", 0o755)}, "not a clean relative path"},
		{"unclean", []entry{dir("a", 0o755), file("a/../b", 0o644, "")}, "not a clean relative path"},
		{"dotdot", []entry{file("../b", 0o644, "")}, "not a clean relative path"},
		{"hardlink to nothing", []entry{hardlink("x", "y")}, "not a regular file"},
		{"hardlink to dir", []entry{dir("d", 0o755), hardlink("x", "d")}, "not a regular file"},
		{"too long for ustar", []entry{file(strings.Repeat("x", 120), 0o644, "")}, "USTAR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := writeTar(io.Discard, tc.entries)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

// readTree returns every file and directory under root with its mode and
// contents, for byte-for-byte comparison.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += "\n" + string(b)
		}
		out[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuildDeterministic(t *testing.T) {
	data := makeELF(t, "")
	bb := writeTemp(t, "busybox", data, 0o755)
	dirA, dirB := t.TempDir(), t.TempDir()
	if err := build(dirA, bb, fakeApplets, fakeVersion); err != nil {
		t.Fatal(err)
	}
	// Run B twice: rebuilding over an existing output must give the same tree
	// and leave no temporary files behind.
	for i := 0; i < 2; i++ {
		if err := build(dirB, bb, fakeApplets, fakeVersion); err != nil {
			t.Fatal(err)
		}
	}
	a, b := readTree(t, dirA), readTree(t, dirB)
	if len(a) != len(b) {
		t.Errorf("trees differ in size: %d vs %d entries", len(a), len(b))
	}
	for name, va := range a {
		if vb, ok := b[name]; !ok {
			t.Errorf("%s: only in the first run", name)
		} else if va != vb {
			t.Errorf("%s: differs between runs", name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			t.Errorf("%s: only in the second run", name)
		}
		if strings.Contains(name, ".tmp-") {
			t.Errorf("%s: temporary file left behind", name)
		}
	}
	// 1 oci-layout + index.json + 3 layers + config + manifest, plus dirs.
	for _, want := range []string{"busybox.tar", "busybox-layered/oci-layout", "busybox-layered/index.json", "busybox-layered/blobs/sha256"} {
		if _, ok := a[want]; !ok {
			t.Errorf("%s missing from the output", want)
		}
	}
	// Applet order in the input must not matter either.
	rev := slices.Clone(fakeApplets)
	slices.Reverse(rev)
	var x, y bytes.Buffer
	if err := rootfsTar(&x, bb, fakeApplets, fakeVersion); err != nil {
		t.Fatal(err)
	}
	if err := rootfsTar(&y, bb, rev, fakeVersion); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Errorf("rootfs tar depends on the applet order")
	}
}

func readJSON(t *testing.T, p string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return b
}

// ociImage is a layout read back and verified by loadLayout.
type ociImage struct {
	index    v1.Index
	manifest v1.Manifest
	config   v1.Image
	layers   [][]byte // uncompressed layer tars
}

// loadLayout verifies an OCI layout's structure and blob digests and
// returns its single image.
func loadLayout(t *testing.T, dir string) ociImage {
	t.Helper()
	var img ociImage

	var lay v1.ImageLayout
	raw := readJSON(t, filepath.Join(dir, "oci-layout"), &lay)
	if string(raw) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", raw)
	}

	// Every blob must be named by its sha256.
	blobDir := filepath.Join(dir, "blobs", "sha256")
	files, err := os.ReadDir(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[digest.Digest][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(blobDir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.Name() {
			t.Errorf("blob %s has sha256 %x", f.Name(), sum)
		}
		blobs[digest.NewDigestFromEncoded(digest.SHA256, f.Name())] = b
	}
	used := map[digest.Digest]bool{}
	blob := func(what string, d v1.Descriptor, mediaType string) []byte {
		t.Helper()
		if d.MediaType != mediaType {
			t.Errorf("%s: mediaType %q, want %q", what, d.MediaType, mediaType)
		}
		b, ok := blobs[d.Digest]
		if !ok {
			t.Fatalf("%s: blob %s missing", what, d.Digest)
		}
		if int64(len(b)) != d.Size {
			t.Errorf("%s: size %d, descriptor says %d", what, len(b), d.Size)
		}
		used[d.Digest] = true
		return b
	}

	readJSON(t, filepath.Join(dir, "index.json"), &img.index)
	if img.index.SchemaVersion != 2 || img.index.MediaType != v1.MediaTypeImageIndex {
		t.Errorf("index: schemaVersion %d mediaType %q", img.index.SchemaVersion, img.index.MediaType)
	}
	if len(img.index.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(img.index.Manifests))
	}
	md := img.index.Manifests[0]
	if err := json.Unmarshal(blob("manifest", md, v1.MediaTypeImageManifest), &img.manifest); err != nil {
		t.Fatal(err)
	}
	if img.manifest.SchemaVersion != 2 || img.manifest.MediaType != v1.MediaTypeImageManifest {
		t.Errorf("manifest: schemaVersion %d mediaType %q", img.manifest.SchemaVersion, img.manifest.MediaType)
	}
	if err := json.Unmarshal(blob("config", img.manifest.Config, v1.MediaTypeImageConfig), &img.config); err != nil {
		t.Fatal(err)
	}
	if len(img.config.RootFS.DiffIDs) != len(img.manifest.Layers) {
		t.Fatalf("%d diff_ids for %d layers", len(img.config.RootFS.DiffIDs), len(img.manifest.Layers))
	}
	for i, ld := range img.manifest.Layers {
		gz := blob("layer", ld, v1.MediaTypeImageLayerGzip)
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("layer %d: %v", i+1, err)
		}
		if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || len(zr.Extra) != 0 {
			t.Errorf("layer %d: gzip header not canonical: %+v", i+1, zr.Header)
		}
		tarData, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("layer %d: %v", i+1, err)
		}
		if got := digest.FromBytes(tarData); got != img.config.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: uncompressed digest %s, diff_id %s", i+1, got, img.config.RootFS.DiffIDs[i])
		}
		img.layers = append(img.layers, tarData)
	}
	for d := range blobs {
		if !used[d] {
			t.Errorf("blob %s is not referenced", d)
		}
	}
	return img
}

// node is a file system object after applying layers.
type node struct {
	typ  byte
	data []byte
	link string
}

// applyLayers extracts layer tars onto an in-memory tree following the OCI
// whiteout rules: whiteouts and opaque markers only hide lower layers.
func applyLayers(t *testing.T, layers [][]byte) map[string]node {
	t.Helper()
	tree := map[string]node{}
	removeTree := func(p string, self bool) {
		for k := range tree {
			if (self && k == p) || strings.HasPrefix(k, p+"/") {
				delete(tree, k)
			}
		}
	}
	for _, l := range layers {
		entries := readTar(t, l)
		for _, e := range entries {
			name := strings.TrimSuffix(e.hdr.Name, "/")
			d, base := path.Split(name)
			d = strings.TrimSuffix(d, "/")
			switch {
			case base == ".wh..wh..opq":
				removeTree(d, false)
			case strings.HasPrefix(base, ".wh."):
				removeTree(path.Join(d, strings.TrimPrefix(base, ".wh.")), true)
			}
		}
		for _, e := range entries {
			name := strings.TrimSuffix(e.hdr.Name, "/")
			if strings.HasPrefix(path.Base(name), ".wh.") {
				continue
			}
			n := node{typ: e.hdr.Typeflag, data: e.data, link: e.hdr.Linkname}
			if n.typ == tar.TypeLink {
				target, ok := tree[n.link]
				if !ok {
					t.Fatalf("hardlink %s: target %s not extracted", name, n.link)
				}
				n.data = target.data
			}
			tree[name] = n
		}
	}
	return tree
}

func TestOCILayout(t *testing.T) {
	outDir, busyboxData := buildFake(t)
	img := loadLayout(t, filepath.Join(outDir, "busybox-layered"))

	md := img.index.Manifests[0]
	if got := md.Annotations[v1.AnnotationRefName]; got != "busybox-layered:latest" {
		t.Errorf("ref name annotation = %q", got)
	}
	if md.Platform == nil || md.Platform.OS != "linux" || md.Platform.Architecture != runtime.GOARCH {
		t.Errorf("index platform = %+v", md.Platform)
	}

	c := img.config
	if c.Architecture != runtime.GOARCH || c.OS != "linux" {
		t.Errorf("config platform %s/%s", c.OS, c.Architecture)
	}
	if c.Created == nil || !c.Created.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("config created = %v", c.Created)
	}
	if !slices.Equal(c.Config.Env, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}) ||
		!slices.Equal(c.Config.Cmd, []string{"sh"}) || c.Config.WorkingDir != "/" {
		t.Errorf("config = %+v", c.Config)
	}
	if c.RootFS.Type != "layers" {
		t.Errorf("rootfs type = %q", c.RootFS.Type)
	}
	if len(img.layers) != 3 || len(c.History) != 3 {
		t.Fatalf("%d layers, %d history entries; want 3 and 3", len(img.layers), len(c.History))
	}
	for i, h := range c.History {
		if h.CreatedBy == "" || h.EmptyLayer || h.Created == nil {
			t.Errorf("history[%d] = %+v", i, h)
		}
	}

	// Layer 1 is busybox.tar, byte for byte.
	rootfs, err := os.ReadFile(filepath.Join(outDir, "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img.layers[0], rootfs) {
		t.Errorf("layer 1 differs from busybox.tar")
	}

	layerWants := []struct {
		name  string
		wants []wantEntry
		count int
	}{
		{"layer 2", []wantEntry{
			{"etc", tar.TypeDir, 0o755, "", ""},
			{"etc/motd", tar.TypeReg, 0o644, "", "layer two\n"},
			{"data", tar.TypeDir, 0o755, "", ""},
			{"data/a.txt", tar.TypeReg, 0o644, "", "file a"},
			{"data/b.txt", tar.TypeReg, 0o644, "", "file b"},
			{"data/a-link", tar.TypeLink, 0o644, "data/a.txt", ""},
		}, 6},
		{"layer 3", []wantEntry{
			{"data", tar.TypeDir, 0o755, "", ""},
			{"data/.wh.b.txt", tar.TypeReg, 0o644, "", ""},
			{"etc", tar.TypeDir, 0o755, "", ""},
			{"etc/motd", tar.TypeReg, 0o644, "", "layer three\n"},
			{"var", tar.TypeDir, 0o755, "", ""},
			{"var/www", tar.TypeDir, 0o755, "", ""},
			{"var/www/.wh..wh..opq", tar.TypeReg, 0o644, "", ""},
			{"var/www/index.html", tar.TypeReg, 0o644, "", "<h1>layer three</h1>\n"},
		}, 8},
	}
	for i, lw := range layerWants {
		t.Run(lw.name, func(t *testing.T) {
			entries := readTar(t, img.layers[i+1])
			checkTarInvariants(t, lw.name, entries)
			checkEntries(t, entries, lw.wants)
			if len(entries) != lw.count {
				t.Errorf("%d entries, want %d", len(entries), lw.count)
			}
		})
	}

	// The flattened image.
	tree := applyLayers(t, img.layers)
	files := []struct {
		name string
		typ  byte
		data string // "" means: absent
	}{
		{"etc/motd", tar.TypeReg, "layer three\n"},
		{"data/a.txt", tar.TypeReg, "file a (layer two)\n"},
		{"data/a-link", tar.TypeLink, "file a (layer two)\n"},
		{"data/b.txt", 0, ""},
		{"var/www/index.html", tar.TypeReg, "<h1>layer three</h1>\n"},
		{"bin/busybox", tar.TypeReg, string(busyboxData)},
		{"bin/sh", tar.TypeSymlink, ""},
	}
	for _, f := range files {
		n, ok := tree[f.name]
		switch {
		case f.typ == 0 && ok:
			t.Errorf("flattened: %s should have been whited out", f.name)
		case f.typ != 0 && !ok:
			t.Errorf("flattened: %s missing", f.name)
		case ok && (n.typ != f.typ || string(n.data) != f.data):
			t.Errorf("flattened: %s = type %q %q, want %q %q", f.name, n.typ, n.data, f.typ, f.data)
		}
	}
	var www []string
	for k := range tree {
		if strings.HasPrefix(k, "var/www/") {
			www = append(www, k)
		}
	}
	sort.Strings(www)
	if !slices.Equal(www, []string{"var/www/index.html"}) {
		t.Errorf("flattened var/www = %q, want only index.html (opaque)", www)
	}
	for k := range tree {
		if strings.Contains(k, ".wh.") {
			t.Errorf("flattened: whiteout %s materialised", k)
		}
	}
}

func TestCheckStatic(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		wantErr string // "" means success
	}{
		{"static ELF", writeTemp(t, "static", makeELF(t, ""), 0o755), ""},
		{"dynamic ELF", writeTemp(t, "dynamic", makeELF(t, "/lib64/ld-linux-x86-64.so.2"), 0o755),
			"dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2)"},
		{"not ELF", writeTemp(t, "script", []byte("#!/bin/sh\necho hi\n"), 0o755), "not an ELF executable"},
		{"missing", filepath.Join(t.TempDir(), "busybox"), "not found"},
		{"directory", t.TempDir(), "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkStatic(tc.path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "apt-get install busybox-static") {
				t.Errorf("error %q lacks the install hint", err)
			}
		})
	}
}

func TestParseApplets(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"typical", "[\n[[\nbusybox\nsh\nls\n", []string{"[", "[[", "ls", "sh"}, ""},
		{"dups, blanks, CRLF", "sh\r\n\nsh\n  cat  \n", []string{"cat", "sh"}, ""},
		{"only busybox", "busybox\n", nil, "no applets"},
		{"empty", "", nil, "no applets"},
		{"bad name", "sh\n../etc\n", nil, "invalid applet name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseApplets(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\nBusyBox is copyrighted...\n", "1.35.0"},
		{"BusyBox v1.36.1 (2023-06-10 12:00:00 UTC) multi-call binary.", "1.36.1"},
		{"\nBusyBox v1.37.0.git multi-call binary.", "1.37.0.git"},
		{"BusyBox v1.2 \n", "1.2"},
		{"usage: something else\n", ""},
		{"", ""},
		{"Toybox 0.8.9\n", ""},
	}
	for _, tc := range tests {
		got, err := parseVersion(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseVersion(%q) = %q, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestRunFlags(t *testing.T) {
	notELF := writeTemp(t, "busybox", []byte("#!/bin/sh\n"), 0o755)
	dynamic := writeTemp(t, "busybox", makeELF(t, "/lib/ld.so"), 0o755)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no -o", nil, "-o OUTDIR is required"},
		{"extra args", []string{"-o", t.TempDir(), "extra"}, "unexpected arguments"},
		{"unknown flag", []string{"-x"}, "flag provided but not defined"},
		{"missing busybox", []string{"-o", t.TempDir(), "-busybox", filepath.Join(t.TempDir(), "nope")}, "apt-get install busybox-static"},
		{"not ELF", []string{"-o", t.TempDir(), "-busybox", notELF}, "not an ELF executable"},
		{"dynamic", []string{"-o", t.TempDir(), "-busybox", dynamic}, "dynamically linked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(tc.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestRealBusybox runs the whole command against the system's busybox.
func TestRealBusybox(t *testing.T) {
	if _, err := os.Stat(defaultBusybox); err != nil {
		t.Skipf("%s not installed (apt-get install busybox-static): %v", defaultBusybox, err)
	}
	if err := checkStatic(defaultBusybox); err != nil {
		t.Skipf("%s is not usable: %v", defaultBusybox, err)
	}
	applets, version, err := probeBusybox(defaultBusybox)
	if err != nil {
		t.Fatal(err)
	}
	if !validVersion.MatchString(version) {
		t.Errorf("version %q", version)
	}
	for _, a := range []string{"sh", "echo", "cat", "ls", "sleep", "true", "false", "env", "id"} {
		if !slices.Contains(applets, a) {
			t.Errorf("applet %s missing from %s --list", a, defaultBusybox)
		}
	}
	if slices.Contains(applets, "busybox") {
		t.Errorf("applet list contains busybox itself")
	}

	out := t.TempDir()
	var stderr bytes.Buffer
	if err := run([]string{"-o", out}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	rootfs, err := os.ReadFile(filepath.Join(out, "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, rootfs)
	checkTarInvariants(t, "busybox.tar", entries)
	real, err := os.ReadFile(defaultBusybox)
	if err != nil {
		t.Fatal(err)
	}
	if e := findEntry(entries, "bin/busybox"); e == nil || !bytes.Equal(e.data, real) {
		t.Errorf("bin/busybox is not %s", defaultBusybox)
	}
	for _, a := range applets {
		if e := findEntry(entries, "bin/"+a); e == nil || e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "busybox" {
			t.Errorf("bin/%s: not a symlink to busybox", a)
		}
	}
	if e := findEntry(entries, "etc/os-release"); e == nil || !strings.Contains(string(e.data), "VERSION_ID="+version+"\n") {
		t.Errorf("etc/os-release lacks VERSION_ID=%s", version)
	}
	img := loadLayout(t, filepath.Join(out, "busybox-layered"))
	if !bytes.Equal(img.layers[0], rootfs) {
		t.Errorf("layer 1 differs from busybox.tar")
	}
}
