package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/imagestore"
)

// tarOf makes a tar of files (name → content; a name ending in / is a
// directory).
func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		h := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(content))}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	return buf.Bytes()
}

// fakeRunner records RUN steps and "runs" each by writing a file named
// after the step into the upper directory.
type fakeRunner struct {
	argv [][]string
	env  [][]string
}

func (f *fakeRunner) Run(ctx context.Context, req RunRequest, changes func(upper string) error) (int, error) {
	f.argv = append(f.argv, req.Argv)
	f.env = append(f.env, req.Env)
	up, err := os.MkdirTemp("", "bld-upper-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(up)
	os.WriteFile(filepath.Join(up, "ran"), []byte(strings.Join(req.Argv, " ")), 0o644)
	return 0, changes(up)
}

// files lists an image's merged tree (path → content, "/" for directories).
func files(t *testing.T, s *imagestore.Store, img imagestore.Image) map[string]string {
	t.Helper()
	dirs := (&builder{st: s}).layerDirs(&img)
	v, err := openView(dirs)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	out := map[string]string{}
	var walk func(p string)
	walk = func(p string) {
		names, _ := v.readDir(p)
		for _, n := range names {
			q := strings.TrimPrefix(p+"/"+n, "./")
			fi, r, _ := v.lstat(q)
			if fi.IsDir() {
				out[q] = "/"
				walk(q)
				continue
			}
			b, _ := r.ReadFile(q)
			out[q] = string(b)
		}
	}
	walk(".")
	return out
}

func TestBuildSteps(t *testing.T) {
	ctx := context.Background()
	s, err := imagestore.Open(t.TempDir(), imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := imagestore.ParseReference("base")
	if _, err := s.Import(ctx, bytes.NewReader(tarOf(t, map[string]string{"etc/": "", "etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:7:8::/:/bin/sh\n"})), base, imagestore.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	zw.Write(tarOf(t, map[string]string{"pkg/": "", "pkg/lib.txt": "lib"}))
	zw.Close()
	ctxDir := t.TempDir()
	for name, content := range map[string]string{
		"a.txt": "a", "b.txt": "b", "notes.md": "no", "keep.md": "yes", "dir/sub/x": "x", "vendor.tar.gz": tgz.String(),
		".dockerignore": "*.md\n!keep.md\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(ctxDir, name)), 0o755)
		os.WriteFile(filepath.Join(ctxDir, name), []byte(content), 0o644)
	}
	dockerfile := `FROM base
SHELL ["/bin/ash", "-e", "-c"]
ARG V=1
ENV HOME_DIR=/srv
WORKDIR $HOME_DIR
COPY *.txt *.md ./
COPY dir /copied/
COPY --chown=app a.txt /owned
ADD vendor.tar.gz /opt/
RUN echo $V
COPY <<EOF /srv/generated.conf
v=${V} home=$HOME_DIR
EOF
ARG UNSET
ENV FROM_UNSET=${UNSET:-fallback}
RUN ["/bin/true", "exec"]
ENTRYPOINT ["/entry"]
CMD ["${HOME_DIR}"]
`
	build := func(args map[string]string) (imagestore.Image, *fakeRunner, string) {
		df, err := Parse("Dockerfile", strings.NewReader(dockerfile))
		if err != nil {
			t.Fatal(err)
		}
		r := &fakeRunner{}
		var out bytes.Buffer
		img, err := Build(ctx, s, r, Options{ContextDir: ctxDir, Dockerfile: df, BuildArgs: args, Tags: []string{"built:latest"},
			CacheDir: filepath.Join(t.TempDir(), "cache"), TmpDir: t.TempDir(), Out: &out, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		return img, r, out.String()
	}
	img, r, out := build(map[string]string{"V": "2", "NOPE": "1", "HTTP_PROXY": "http://proxy:3128"})
	got := files(t, s, img)
	want := map[string]string{
		"srv/a.txt": "a", "srv/b.txt": "b", "srv/keep.md": "yes", "copied/sub/x": "x", "owned": "a",
		"opt/pkg/lib.txt": "lib", "ran": "/bin/true exec", "srv/generated.conf": "v=2 home=/srv\n",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("file %s = %q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"srv/notes.md", "srv/.dockerignore", "opt/vendor.tar.gz"} {
		if _, ok := got[k]; ok {
			t.Errorf("file %s should not be there", k)
		}
	}
	if !reflect.DeepEqual(r.argv, [][]string{{"/bin/ash", "-e", "-c", "echo $V"}, {"/bin/true", "exec"}}) {
		t.Errorf("RUN argv = %q", r.argv)
	}
	if !strings.Contains(out, "[Warning] One or more build-args [NOPE] were not consumed") {
		t.Errorf("no warning about the unused build arg:\n%s", out)
	}
	if !reflect.DeepEqual(r.env[0], []string{"V=2", "HTTP_PROXY=http://proxy:3128"}) {
		t.Errorf("RUN env = %q", r.env[0])
	}
	c := img.Config.Config
	if c.WorkingDir != "/srv" || !reflect.DeepEqual(c.Entrypoint, []string{"/entry"}) || !reflect.DeepEqual(c.Cmd, []string{"${HOME_DIR}"}) || !hasEnv(c.Env, "HOME_DIR") {
		t.Errorf("config = %+v", c)
	}
	if !hasEnv(c.Env, "FROM_UNSET") || c.Env[len(c.Env)-1] != "FROM_UNSET=fallback" {
		t.Errorf("ARG without a value: env %q", c.Env)
	}
	if !strings.Contains(out, "STEP 16/16: CMD") || !strings.Contains(out, "Successfully tagged built:latest") {
		t.Errorf("output:\n%s", out)
	}
	// The owner from --chown=app is the image's passwd entry.
	v, _ := openView((&builder{st: s}).layerDirs(&img))
	fi, _, _ := v.lstat("owned")
	if h, _ := header(fi, ""); h.Uid != 7 || h.Gid != 8 {
		t.Errorf("--chown=app: %d:%d, want 7:8", h.Uid, h.Gid)
	}
	v.close()
	raw, _ := s.ConfigJSON(img)
	if !strings.Contains(string(raw), `"Shell":["/bin/ash","-e","-c"]`) {
		t.Errorf("SHELL not in the config: %s", raw)
	}
}

func TestBuildOnBuild(t *testing.T) {
	ctx := context.Background()
	s, err := imagestore.Open(t.TempDir(), imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := imagestore.ParseReference("base")
	if _, err := s.Import(ctx, bytes.NewReader(tarOf(t, map[string]string{"etc/": ""})), base, imagestore.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	build := func(dockerfile, tag string) (imagestore.Image, *fakeRunner) {
		df, err := Parse("Dockerfile", strings.NewReader(dockerfile))
		if err != nil {
			t.Fatal(err)
		}
		r := &fakeRunner{}
		img, err := Build(ctx, s, r, Options{ContextDir: t.TempDir(), Dockerfile: df, Tags: []string{tag},
			CacheDir: filepath.Join(t.TempDir(), "cache"), TmpDir: t.TempDir(), Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		return img, r
	}
	parent, r := build("FROM base\nONBUILD RUN echo child\nONBUILD ENV FROM_TRIGGER=1\n", "parent:latest")
	if len(r.argv) != 0 {
		t.Errorf("ONBUILD ran in the image that declares it: %q", r.argv)
	}
	if raw, _ := s.ConfigJSON(parent); !strings.Contains(string(raw), `"OnBuild":["RUN echo child","ENV FROM_TRIGGER=1"]`) {
		t.Errorf("ONBUILD not recorded: %s", raw)
	}
	child, r := build("FROM parent\nCMD [\"x\"]\n", "child:latest")
	if !reflect.DeepEqual(r.argv, [][]string{{"/bin/sh", "-c", "echo child"}}) || !hasEnv(child.Config.Config.Env, "FROM_TRIGGER") {
		t.Errorf("triggers: RUN %q, env %q", r.argv, child.Config.Config.Env)
	}
	if raw, _ := s.ConfigJSON(child); strings.Contains(string(raw), "OnBuild") {
		t.Errorf("the child kept its parent's triggers: %s", raw)
	}
}
