package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestDockerLogin: docker login checks the credentials with the
// registry through the API (POST /auth) and the client keeps them; its
// pull and push of a registry with htpasswd auth then carry them
// (X-Registry-Auth), while berth's own credentials file has none.
func TestDockerLogin(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	const user, password = "it-apiuser", "it-apisecret"
	startAuthRegistry(t, user, password)
	ref := authRegistryAddr + "/it/apiprivate:1"
	pushed := authRegistryAddr + "/it/apipushed:2"
	l, err := tarball.LayerFromFile(filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	basic := remote.WithAuth(&authn.Basic{Username: user, Password: password})
	refName, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(refName, img, basic); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	run(t, "rmi", "-f", ref, pushed)
	t.Cleanup(func() { run(t, "rmi", "-f", ref, pushed) })

	// One client config for the whole test: docker login writes it.
	config := t.TempDir()
	dk := func(stdin string, args ...string) result {
		t.Helper()
		c := dockerCmd(t, args...)
		c.Env = append(c.Env, "DOCKER_CONFIG="+config) // the last one counts
		c.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		r := result{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
		}
		return r
	}

	if r := dk("", "pull", ref); r.code != 1 {
		t.Errorf("docker pull before login: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := dk("wrong\n", "login", "-u", user, "--password-stdin", authRegistryAddr); r.code != 1 || !strings.Contains(r.stderr, "incorrect username or password") {
		t.Errorf("docker login with a wrong password: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := dk(password+"\n", "login", "-u", user, "--password-stdin", authRegistryAddr); r.code != 0 || !strings.Contains(r.stdout, "Login Succeeded") {
		t.Fatalf("docker login: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(config, "config.json")); err != nil || !strings.Contains(string(b), authRegistryAddr) {
		t.Errorf("the client's config after docker login: %s (%v)", b, err)
	}

	if r := dk("", "pull", ref); r.code != 0 || !strings.Contains(r.stdout, "Downloaded newer image") {
		t.Errorf("docker pull after login: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "pull", ref); r.code != 1 {
		t.Errorf("berth pull (berth's own credentials, none) of the private image: exit %d, want 1", r.code)
	}
	if r := dk("", "tag", ref, pushed); r.code != 0 {
		t.Fatalf("docker tag: exit %d, %q", r.code, r.stderr)
	}
	if r := dk("", "push", pushed); r.code != 0 || !strings.Contains(r.stdout, "digest: sha256:") {
		t.Errorf("docker push after login: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	pushedName, err := name.ParseReference(pushed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(pushedName, basic); err != nil {
		t.Errorf("the registry does not have %s after docker push: %v", pushed, err)
	}

	// Logged out, the client sends nothing and the registry refuses.
	dk("", "logout", authRegistryAddr)
	run(t, "rmi", "-f", ref)
	if r := dk("", "pull", ref); r.code != 1 {
		t.Errorf("docker pull after logout: exit %d, %q", r.code, r.stdout)
	}
}
