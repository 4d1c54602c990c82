package imagestore

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchTar is a layer of 2,000 files of 4 KiB in 20 directories, or the
// offline busybox rootfs when BERTH_IMAGES points at contrib/images' output.
func benchTar(b *testing.B) []byte {
	b.Helper()
	if dir := os.Getenv("BERTH_IMAGES"); dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, "busybox.tar"))
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	content := bytes.Repeat([]byte("x"), 4096)
	for d := 0; d < 20; d++ {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%d/", d), Typeflag: tar.TypeDir, Mode: 0o755})
		for f := 0; f < 100; f++ {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%d/f%d", d, f), Typeflag: tar.TypeReg, Mode: 0o644, Size: 4096})
			tw.Write(content)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// BenchmarkImport is `berth image import`: hash, store the blob, unpack,
// fsync, rename, write config, manifest and index. Each iteration uses a
// fresh store, so nothing is deduplicated.
func BenchmarkImport(b *testing.B) {
	data := benchTar(b)
	ref, _ := ParseReference("bench")
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Import(context.Background(), bytes.NewReader(data), ref, ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTarExtractFloor is the floor for BenchmarkImport: GNU tar
// extracting the same bytes into the same filesystem, with one sync at
// the end as Import does, and no hashing, store or safety checks.
func BenchmarkTarExtractFloor(b *testing.B) {
	data := benchTar(b)
	if _, err := exec.LookPath("tar"); err != nil {
		b.Skip("no tar")
	}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		b.StartTimer()
		c := exec.Command("tar", "-xf", "-", "-C", dir)
		c.Stdin = bytes.NewReader(data)
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("tar: %v: %s", err, out)
		}
		if err := syncfs(dir); err != nil {
			b.Fatal(err)
		}
	}
}
