package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestSkopeoInterop: an image berth pushes is what skopeo reads (same
// manifest digest), and an image skopeo pushes (the layered test image
// with whiteouts, an opaque directory and a hardlink) berth pulls, runs,
// and unpacks to the same tree as umoci unpack.
func TestSkopeoInterop(t *testing.T) {
	busybox(t)
	startRegistry(t)
	for _, tool := range []string{"skopeo", "umoci"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (contrib/install-deps.sh installs it)", tool, err)
		}
	}
	// berth → registry → skopeo.
	const pushed = registryAddr + "/it/interop:1"
	ok(t, "tag", "busybox", pushed)
	defer run(t, "rmi", pushed)
	out := ok(t, "push", pushed)
	var digest string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "sha256:") {
			digest = f
		}
	}
	var insp struct{ Digest string }
	raw := sh(t, "skopeo inspect --tls-verify=false docker://"+pushed)
	if err := json.Unmarshal([]byte(raw), &insp); err != nil || insp.Digest == "" || insp.Digest != digest {
		t.Errorf("skopeo sees digest %q (%v), berth pushed %q", insp.Digest, err, digest)
	}
	dir := t.TempDir()
	sh(t, "skopeo copy --src-tls-verify=false docker://"+pushed+" oci:"+dir+"/fromberth:1")

	// skopeo → registry → berth, and umoci's unpack of the same image.
	layered := filepath.Join(binary(t, "BERTH_IMAGES"), "busybox-layered")
	const fromSkopeo = registryAddr + "/it/layered:1"
	sh(t, "skopeo copy --dest-tls-verify=false oci:"+layered+":busybox-layered:latest docker://"+fromSkopeo)
	ok(t, "pull", fromSkopeo)
	defer run(t, "rmi", fromSkopeo)
	if r := run(t, "run", "--rm", "--network", "none", fromSkopeo, "true"); r.code != 0 {
		t.Errorf("run of the image skopeo pushed: exit %d %q", r.code, r.stderr)
	}
	sh(t, "skopeo copy oci:"+layered+":busybox-layered:latest oci:"+dir+"/layout:latest")
	sh(t, "cd "+dir+" && umoci unpack --image layout:latest bundle")
	umociTree := tree(t, filepath.Join(dir, "bundle", "rootfs"))

	// berth's view: the image's layers stacked by overlayfs, as a
	// container gets them.
	var layers []string
	ids := imageChainDirs(t, fromSkopeo)
	for i := len(ids) - 1; i >= 0; i-- {
		layers = append(layers, ids[i])
	}
	merged := filepath.Join(dir, "merged")
	os.Mkdir(merged, 0o755)
	if err := syscall.Mount("overlay", merged, "overlay", syscall.MS_RDONLY, "lowerdir="+strings.Join(layers, ":")); err != nil {
		t.Fatalf("mount berth's layers: %v", err)
	}
	defer syscall.Unmount(merged, 0)
	berthTree := tree(t, merged)
	if d := diffTrees(umociTree, berthTree); d != "" {
		t.Errorf("berth's unpacked layers differ from umoci unpack:\n%s", d)
	}
	if len(berthTree) < 10 {
		t.Errorf("the tree has %d entries: nothing compared", len(berthTree))
	}
}

// imageChainDirs are the unpacked layer directories of an image, bottom
// first, from the store's layout (chain IDs from the image's diff IDs).
func imageChainDirs(t *testing.T, ref string) []string {
	t.Helper()
	diffs := strings.Fields(ok(t, "image", "inspect", "-f", "{{range .RootFS.Layers}}{{.}} {{end}}", ref))
	if len(diffs) == 0 {
		t.Fatalf("image %s has no layers", ref)
	}
	var dirs []string
	chain := ""
	for _, d := range diffs {
		if chain == "" {
			chain = d
		} else {
			sum := sha256.Sum256([]byte(chain + " " + d))
			chain = "sha256:" + hex.EncodeToString(sum[:])
		}
		dirs = append(dirs, filepath.Join("/var/lib/berth/layers/sha256", strings.TrimPrefix(chain, "sha256:")))
	}
	return dirs
}

// tree describes every entry under root: type, mode, owner, size,
// content hash or link target.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d", st.Mode, st.Uid, st.Gid)
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			io.Copy(h, f)
			f.Close()
			desc += fmt.Sprintf(" size=%d sha=%x nlink>1=%v", st.Size, h.Sum(nil)[:8], st.Nlink > 1)
		case syscall.S_IFLNK:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case syscall.S_IFDIR:
			if rel == "." {
				return nil // the roots' own modes differ (bundle vs mount point)
			}
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTrees(a, b map[string]string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var d strings.Builder
	for _, k := range keys {
		if a[k] != b[k] {
			fmt.Fprintf(&d, "  %s: umoci %q, berth %q\n", k, a[k], b[k])
		}
	}
	return d.String()
}
