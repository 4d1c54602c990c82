package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
)

// run executes the CLI in-process against a private root.
func run(t *testing.T, root string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(append([]string{"--root", root}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func writeRootfs(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	tw.Write([]byte("box"))
	tw.Close()
	f.Close()
	return p
}

func TestExitCodes(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"unknown flag", []string{"images", "--bogus"}, exitEngine, "unknown flag: --bogus"},
		{"too many args", []string{"images", "a", "b"}, exitEngine, "requires 0 to 1 arguments"},
		{"missing args", []string{"rmi"}, exitEngine, "requires at least 1 argument"},
		{"bad reference", []string{"image", "import", "x.tar", "Bad:Name"}, exitEngine, "invalid reference"},
		{"no such image", []string{"rmi", "nothere"}, exitError, "no such image: nothere"},
		{"no such image inspect", []string{"image", "inspect", "nothere"}, exitError, "no such image"},
		{"missing file", []string{"image", "import", "/nonexistent.tar", "x"}, exitError, "no such file"},
		{"bad format", []string{"images", "--format", "{{.Nope"}, exitEngine, "invalid --format"},
		{"version", []string{"version"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, root, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.inStderr) {
				t.Errorf("berth %v: exit %d, stderr %q; want exit %d with %q", tt.args, code, stderr, tt.code, tt.inStderr)
			}
		})
	}
}

func TestImportImagesRmi(t *testing.T) {
	root := t.TempDir()
	tarball := writeRootfs(t)
	code, out, stderr := run(t, root, "import", tarball, "box:1")
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("import: exit %d, out %q, err %q", code, out, stderr)
	}
	id := strings.TrimSpace(out)

	_, out, _ = run(t, root, "images")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "REPOSITORY") || !strings.Contains(lines[0], "IMAGE ID") ||
		!strings.HasPrefix(lines[1], "box ") || !strings.Contains(lines[1], id[7:19]) || !strings.Contains(lines[1], "ago") {
		t.Errorf("images table:\n%s", out)
	}

	_, out, _ = run(t, root, "images", "--format", "json")
	var row map[string]string
	if err := json.Unmarshal([]byte(out), &row); err != nil || row["Repository"] != "box" || row["Tag"] != "1" {
		t.Errorf("images --format json: %q (%v)", out, err)
	}

	_, out, _ = run(t, root, "images", "-q", "--no-trunc")
	if strings.TrimSpace(out) != id {
		t.Errorf("images -q --no-trunc = %q, want %q", out, id)
	}

	_, out, _ = run(t, root, "images", "--format", "{{.Repository}}:{{.Tag}}", "other")
	if out != "" {
		t.Errorf("images filtered by another repository printed %q", out)
	}

	_, out, _ = run(t, root, "image", "inspect", "box:1")
	var insp []imageInspect
	if err := json.Unmarshal([]byte(out), &insp); err != nil || len(insp) != 1 || insp[0].ID != id ||
		insp[0].RepoTags[0] != "box:1" || !strings.Contains(insp[0].GraphDriver.Data["LowerDir"], "/layers/sha256/") {
		t.Errorf("image inspect: %v\n%s", err, out)
	}

	code, out, _ = run(t, root, "rmi", "box:1")
	if code != 0 || out != "Untagged: box:1\nDeleted: "+id+"\n" {
		t.Errorf("rmi: exit %d, %q", code, out)
	}
	_, out, _ = run(t, root, "images", "-q")
	if out != "" {
		t.Errorf("images after rmi: %q", out)
	}
}

func TestGetImageSearchRegistries(t *testing.T) {
	root := t.TempDir()
	if code, _, errs := run(t, root, "import", writeRootfs(t), "reg.example:5000/team/bb:1"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	store, err := imagestore.Open(root, imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "registries.toml")
	t.Setenv("BERTH_REGISTRIES_CONF", conf)
	ctx := context.Background()
	if _, err := getImage(ctx, store, "team/bb:1"); !errdefs.IsNotFound(err) {
		t.Errorf("without a search list: %v, want not found", err)
	}
	os.WriteFile(conf, []byte(`unqualified-search-registries = ["other.example", "reg.example:5000"]`+"\n"), 0o644)
	img, err := getImage(ctx, store, "team/bb:1")
	if err != nil || !slices.Contains(img.Names, "reg.example:5000/team/bb:1") {
		t.Errorf("with a search list: %+v, %v", img.Names, err)
	}
	if _, err := getImage(ctx, store, "team/other:1"); !errdefs.IsNotFound(err) {
		t.Errorf("a name under no search registry: %v", err)
	}
}
