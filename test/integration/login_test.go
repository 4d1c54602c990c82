package integration

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/bcrypt"
)

const (
	authRegistryAddr = "127.0.0.1:5001"
	authRegistryUnit = "it-registry-auth"
)

// startAuthRegistry runs Debian's docker-registry on 127.0.0.1:5001 with
// htpasswd (basic) auth for user/password, until the test ends.
func startAuthRegistry(t *testing.T, user, password string) {
	t.Helper()
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: `+filepath.Join(dir, "data")+`
http:
  addr: `+authRegistryAddr+`
auth:
  htpasswd:
    realm: berth-it
    path: `+htpasswd+`
`), 0o644); err != nil {
		t.Fatal(err)
	}
	exec.Command("systemctl", "reset-failed", authRegistryUnit).Run()
	sh(t, "systemd-run --unit="+authRegistryUnit+" /usr/bin/docker-registry serve "+cfg)
	t.Cleanup(func() {
		exec.Command("systemctl", "stop", authRegistryUnit).Run()
		exec.Command("systemctl", "reset-failed", authRegistryUnit).Run()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + authRegistryAddr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry on %s did not ask for credentials at /v2/ (%v)", authRegistryAddr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runEnv runs berth with extra environment and stdin.
func runEnv(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	c := exec.Command(binary(t, "BERTH_BIN"), args...)
	c.Env = append(os.Environ(), env...)
	c.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// TestLoginLogout: a registry with htpasswd auth refuses an anonymous
// pull; berth login checks the password with it and files the
// credentials in $REGISTRY_AUTH_FILE, where pull finds them; logout
// takes them away again.
func TestLoginLogout(t *testing.T) {
	testutil.RequiresTestbed(t)
	const user, password = "it-user", "it-secret"
	startAuthRegistry(t, user, password)
	ref := authRegistryAddr + "/it/private:1"
	l, err := tarball.LayerFromFile(filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	home := t.TempDir()
	authFile := filepath.Join(home, "auth.json")
	env := []string{"HOME=" + home, "REGISTRY_AUTH_FILE=" + authFile}
	run(t, "rmi", "-f", ref)
	t.Cleanup(func() { run(t, "rmi", "-f", ref) })

	if res := runEnv(t, env, "", "pull", ref); res.code != 1 || !strings.Contains(res.stderr, "needs credentials") {
		t.Errorf("anonymous pull: exit %d, %s", res.code, res.stderr)
	}
	res := runEnv(t, env, "wrong\n", "login", "-u", user, "--password-stdin", authRegistryAddr)
	if res.code != 1 || !strings.Contains(res.stderr, "unauthorized: incorrect username or password") {
		t.Errorf("login with a wrong password: exit %d, %s%s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(authFile); err == nil {
		t.Error("a refused login wrote the credentials file")
	}
	res = runEnv(t, env, password+"\n", "login", "-u", user, "--password-stdin", authRegistryAddr)
	if res.code != 0 || res.stdout != "Login Succeeded\n" {
		t.Fatalf("login: exit %d, %q %s", res.code, res.stdout, res.stderr)
	}
	b, err := os.ReadFile(authFile)
	if err != nil || !strings.Contains(string(b), `"`+authRegistryAddr+`"`) {
		t.Errorf("credentials file %s: %s (%v)", authFile, b, err)
	}
	if res := runEnv(t, env, "", "pull", ref); res.code != 0 || !strings.Contains(res.stdout, "Status: Downloaded newer image") {
		t.Errorf("pull after login: exit %d, %s%s", res.code, res.stdout, res.stderr)
	}
	// Interactive form: username and password read from stdin.
	if res := runEnv(t, env, user+"\n"+password+"\n", "login", authRegistryAddr); res.code != 0 || !strings.Contains(res.stdout, "Login Succeeded") {
		t.Errorf("login with prompts: exit %d, %q %s", res.code, res.stdout, res.stderr)
	}

	if res := runEnv(t, env, "", "logout", authRegistryAddr); res.code != 0 || res.stdout != "Removing login credentials for "+authRegistryAddr+"\n" {
		t.Errorf("logout: exit %d, %q", res.code, res.stdout)
	}
	if res := runEnv(t, env, "", "logout", authRegistryAddr); res.code != 0 || res.stdout != "Not logged in to "+authRegistryAddr+"\n" {
		t.Errorf("second logout: exit %d, %q", res.code, res.stdout)
	}
	run(t, "rmi", "-f", ref)
	if res := runEnv(t, env, "", "pull", ref); res.code != 1 {
		t.Errorf("pull after logout: exit %d, %s", res.code, res.stderr)
	}
}

// TestShortNames: a short name is looked up in the unqualified search
// registries of registries.toml in order; without any it is Docker Hub's,
// and berth says so once.
func TestShortNames(t *testing.T) {
	testutil.RequiresTestbed(t)
	startRegistry(t)
	pushBusybox(t, registryAddr+"/it/short:1")
	local := registryAddr + "/it/short:1"
	run(t, "rmi", "-f", local)
	t.Cleanup(func() { run(t, "rmi", "-f", local) })

	conf := filepath.Join(t.TempDir(), "registries.toml")
	// The first registry does not answer: the search goes on to the next.
	os.WriteFile(conf, []byte(`unqualified-search-registries = ["127.0.0.1:5999", "`+registryAddr+`"]`+"\n"), 0o644)
	env := []string{"BERTH_REGISTRIES_CONF=" + conf}
	res := runEnv(t, env, "", "pull", "it/short:1")
	if res.code != 0 || !strings.Contains(res.stdout, "Status: Downloaded newer image for "+local) || strings.Contains(res.stderr, "docker.io") {
		t.Errorf("pull it/short:1 with a search list: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	ok(t, "image", "inspect", local)

	os.WriteFile(conf, []byte("# nothing\n"), 0o644)
	res = runEnv(t, env, "", "pull", "it/nosuch:1")
	if res.code != 1 || strings.Count(res.stderr, `short name "it/nosuch:1" resolved to docker.io`) != 1 {
		t.Errorf("pull of a short name without a search list: exit %d\n%s", res.code, res.stderr)
	}

	os.WriteFile(conf, []byte("unqualified-search-registrys = []\n"), 0o644)
	if res := runEnv(t, env, "", "pull", "it/short:1"); res.code != 125 || !strings.Contains(res.stderr, "unknown key") {
		t.Errorf("pull with a misspelt registries.toml: exit %d, %s", res.code, res.stderr)
	}
}
