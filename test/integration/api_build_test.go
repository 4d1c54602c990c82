package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerBuild: docker build through the API (POST /build, the
// classic builder's JSON stream) builds with berth build's builder:
// the CLI shows its steps, the image is in berth's store under the
// tag, a RUN's failure is docker build's exit code with dockerd's
// message; -q, -f - with --build-arg and --label, .dockerignore; a
// context whose entry leaves it is refused.
func TestDockerBuild(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rmi", "-f", "it/apibuild:1", "it/apibuild:2")
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM busybox\nCOPY . /ctx/\nRUN echo built > /hello && echo from-run\nCMD [\"sh\", \"-c\", \"cat /hello; ls /ctx\"]\n")
	write("kept.txt", "kept\n")
	write("secret.txt", "secret\n")
	write(".dockerignore", "secret.txt\n")

	out := dockerOK(t, "build", "-t", "it/apibuild:1", dir)
	for _, want := range []string{"STEP 1/4: FROM busybox\n", "STEP 3/4: RUN echo built > /hello && echo from-run\nfrom-run\n",
		"Successfully tagged it/apibuild:1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("docker build output lacks %q:\n%s", want, out)
		}
	}
	built := regexp.MustCompile(`(?m)^Successfully built ([0-9a-f]{12})$`).FindStringSubmatch(out)
	if built == nil {
		t.Fatalf("docker build output has no image ID:\n%s", out)
	}
	if id := inspectImageID(t, "it/apibuild:1"); !strings.HasPrefix(id, "sha256:"+built[1]) {
		t.Errorf("berth image inspect it/apibuild:1: %s, docker build said %s", id, built[1])
	}
	if r := docker(t, "run", "--rm", "it/apibuild:1"); r.code != 0 || r.stdout != "built\nDockerfile\nkept.txt\n" {
		t.Errorf("docker run of the built image: exit %d, %q %q; want /hello and the context without secret.txt", r.code, r.stdout, r.stderr)
	}

	// -q: the ID alone; the cache makes it the same image.
	if out := dockerOK(t, "build", "-q", dir); !strings.HasPrefix(out, "sha256:"+built[1]) || strings.Count(out, "\n") != 1 {
		t.Errorf("docker build -q: %q, want the image ID sha256:%s… alone", out, built[1])
	}

	// -f - (the CLI puts stdin's Dockerfile into the context), a build
	// arg and a label.
	c := dockerCmd(t, "build", "-f", "-", "--build-arg", "WHO=api", "--label", "it.label=yes", "-t", "it/apibuild:2", dir)
	c.Stdin = strings.NewReader("FROM busybox\nARG WHO\nRUN echo hello $WHO > /who\n")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("docker build -f -: %v\n%s", err, b)
	}
	if r := docker(t, "run", "--rm", "it/apibuild:2", "cat", "/who"); r.stdout != "hello api\n" {
		t.Errorf("the build arg: /who is %q (exit %d, %s)", r.stdout, r.code, r.stderr)
	}
	if out := dockerOK(t, "image", "inspect", "-f", `{{index .Config.Labels "it.label"}}`, "it/apibuild:2"); out != "yes\n" {
		t.Errorf("docker build --label: %q", out)
	}

	// docker images: the build's step images (its cache) only with -a;
	// --filter reference lists the names that match.
	if out := dockerOK(t, "images", "--filter", "reference=it/apibuild", "--format", "{{.Repository}}:{{.Tag}}"); out != "it/apibuild:1\nit/apibuild:2\n" && out != "it/apibuild:2\nit/apibuild:1\n" {
		t.Errorf("docker images --filter reference=it/apibuild: %q", out)
	}
	if out := dockerOK(t, "images", "--filter", "reference=it/apibuild:2", "-q"); strings.Count(out, "\n") != 1 {
		t.Errorf("docker images --filter reference=it/apibuild:2 -q: %q", out)
	}
	plain, all := dockerOK(t, "images", "-q"), dockerOK(t, "images", "-a", "-q")
	if strings.Count(all, "\n") <= strings.Count(plain, "\n") {
		t.Errorf("docker images -a lists no more than docker images (the build's step images):\n%s\n--\n%s", all, plain)
	}

	// A failing RUN: its exit code, dockerd's message, no tag.
	write("Dockerfile", "FROM busybox\nRUN echo failing; exit 3\n")
	r := docker(t, "build", "-t", "it/apibuild:failed", dir)
	if r.code != 3 || !strings.Contains(r.stderr, "The command '/bin/sh -c echo failing; exit 3' returned a non-zero code: 3") || !strings.Contains(r.stdout, "failing\n") {
		t.Errorf("docker build of a failing RUN: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "image", "inspect", "it/apibuild:failed"); r.code == 0 {
		t.Errorf("a failed build tagged it/apibuild:failed")
	}
	write("Dockerfile", "FROM busybox\nNOSUCH instruction\n")
	if r := docker(t, "build", dir); r.code != 1 || !strings.Contains(r.stderr, "nosuch") && !strings.Contains(r.stderr, "NOSUCH") {
		t.Errorf("docker build of a bad Dockerfile: exit %d, stderr %q", r.code, r.stderr)
	}

	// A context with an entry outside it, sent as no CLI would.
	var ctx bytes.Buffer
	tw := tar.NewWriter(&ctx)
	for name, body := range map[string]string{"Dockerfile": "FROM busybox\n", "../../escaped-by-build": "x"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		io.WriteString(tw, body)
	}
	tw.Close()
	hc := http.Client{Transport: &http.Transport{DialContext: func(_ context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", apiSocket)
	}}}
	resp, err := hc.Post("http://berth/v1.50/build?t=it/apibuild:escape", "application/x-tar", &ctx)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "leaves the destination directory") {
		t.Errorf("a context entry ../../escaped-by-build: %d %s", resp.StatusCode, body)
	}
	if out := sh(t, "find / -xdev -name escaped-by-build 2>/dev/null | head -1"); out != "" {
		t.Errorf("the build context's entry landed at %s", out)
	}
}

// inspectImageID is berth image inspect's ID of ref.
func inspectImageID(t *testing.T, ref string) string {
	t.Helper()
	return strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", ref))
}
