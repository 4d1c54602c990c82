package integration

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/machine/console"
)

// apiSocket is where packaging/berth.socket listens.
const apiSocket = "/run/berth/berth.sock"

// installAPISocket installs packaging/berth.socket and berth.service.in as
// unit files (the service running the berth under test, idle after 3 s)
// and starts the socket; the cleanup removes them.
func installAPISocket(t *testing.T) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	pkg := filepath.Join(filepath.Dir(self), "..", "..", "packaging")
	sock, err := os.ReadFile(filepath.Join(pkg, "berth.socket"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := os.ReadFile(filepath.Join(pkg, "berth.service.in"))
	if err != nil {
		t.Fatal(err)
	}
	svc = bytes.ReplaceAll(svc, []byte("@BINDIR@/berth system service --idle-timeout=60s"),
		[]byte(binary(t, "BERTH_BIN")+" system service --idle-timeout=3s"))
	if !bytes.Contains(svc, []byte("--idle-timeout=3s")) {
		t.Fatalf("packaging/berth.service.in has no ExecStart to replace:\n%s", svc)
	}
	dir := "/etc/systemd/system"
	os.WriteFile(filepath.Join(dir, "berth.socket"), sock, 0o644)
	os.WriteFile(filepath.Join(dir, "berth.service"), svc, 0o644)
	t.Cleanup(func() {
		exec.Command("systemctl", "stop", "berth.socket", "berth.service").Run()
		os.Remove(filepath.Join(dir, "berth.socket"))
		os.Remove(filepath.Join(dir, "berth.service"))
		exec.Command("systemctl", "daemon-reload").Run()
		exec.Command("systemctl", "reset-failed", "berth.service").Run()
	})
	sh(t, "systemctl daemon-reload && systemctl start berth.socket")
	if fi, err := os.Stat(apiSocket); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("%s: %v, mode %v; want a 0660 socket", apiSocket, err, fi.Mode().Perm())
	}
}

// docker runs the docker CLI (Debian's, client only: DOCKER_CLI) against
// berth's socket.
func docker(t *testing.T, args ...string) result {
	t.Helper()
	c := dockerCmd(t, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// dockerCmd is the docker CLI's command, set to use berth's socket.
func dockerCmd(t *testing.T, args ...string) *exec.Cmd {
	c := exec.Command(binary(t, "DOCKER_CLI"), args...)
	c.Env = append(os.Environ(), "DOCKER_HOST=unix://"+apiSocket, "DOCKER_CONFIG="+t.TempDir())
	return c
}

// dockerCLIAPI is the newest API version the docker CLI under test
// speaks, and so the one it speaks with berth, which serves up to 1.51
// (dockerd 28.5's). DOCKER_CLI is the Docker 28.2 CLI (API 1.50) or
// Debian's 20.10 (1.41).
func dockerCLIAPI(t *testing.T) string {
	t.Helper()
	v := strings.TrimSpace(dockerOK(t, "version", "--format", "{{.Client.DefaultAPIVersion}}"))
	if !regexp.MustCompile(`^1\.[0-9]+$`).MatchString(v) {
		t.Fatalf("docker version --format {{.Client.DefaultAPIVersion}}: %q", v)
	}
	return v
}

func dockerOK(t *testing.T, args ...string) string {
	t.Helper()
	r := docker(t, args...)
	if r.code != 0 {
		t.Fatalf("docker %s: exit %d: %s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// TestDockerCLI drives berth with Docker's own CLI through the
// socket-activated API: the containers it makes are berth's units.
func TestDockerCLI(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apiweb", "it_apilogs", "it_apitwice")

	// berth serves API 1.24 to 1.51, so the CLI speaks its own newest
	// (not "1.47 (downgraded from 1.50)").
	out := dockerOK(t, "version")
	if want := dockerCLIAPI(t); !strings.Contains(out, "Server: berth") || !strings.Contains(out, "API version:      1.51 (minimum version 1.24)") ||
		!regexp.MustCompile(`(?m)^ API version:\s+`+regexp.QuoteMeta(want)+`$`).MatchString(out) {
		t.Errorf("docker version (a CLI of API %s):\n%s", want, out)
	}
	if s := unitProp(t, "berth.service", "ActiveState"); s != "active" {
		t.Errorf("berth.service is %s after a request on its socket, want active", s)
	}
	dockerOK(t, "info")

	// Foreground: output and exit code come through the attach and wait.
	if r := docker(t, "run", "--rm", "busybox", "echo", "hi"); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("docker run --rm busybox echo hi: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := docker(t, "run", "--rm", "busybox", "sh", "-c", "echo oops >&2; exit 3"); r.code != 3 || r.stderr != "oops\n" {
		t.Errorf("docker run exit 3: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// Detached, published, and the same transient unit as berth run's.
	began := time.Now().Add(-time.Second)
	id := strings.TrimSpace(dockerOK(t, "run", "-d", "--name", "it_apiweb", "-p", "18100:80", "busybox", "httpd", "-f", "-p", "80", "-h", "/var/www"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("docker run -d printed %q, want a container ID", id)
	}
	if s := unitProp(t, "berth-it_apiweb.service", "ActiveState"); s != "active" {
		t.Errorf("berth-it_apiweb.service is %s, want active", s)
	}
	if ps := ok(t, "ps", "--format", "{{.ID}} {{.Names}}"); !strings.Contains(ps, id[:12]+" it_apiweb") {
		t.Errorf("berth ps does not list the API's container:\n%s", ps)
	}
	if ps := dockerOK(t, "ps"); !strings.Contains(ps, "it_apiweb") || !strings.Contains(ps, "0.0.0.0:18100->80/tcp") || !strings.Contains(ps, "Up ") {
		t.Errorf("docker ps:\n%s", ps)
	}
	var page []byte
	waitFor(t, 5*time.Second, "the published port to answer", func() bool {
		out, err := exec.Command("busybox", "wget", "-qO-", "http://127.0.0.1:18100/").Output()
		page = out
		return err == nil
	})
	if !strings.Contains(string(page), "Hello from a berth container") {
		t.Errorf("page on 127.0.0.1:18100: %q", page)
	}
	if out := dockerOK(t, "inspect", "-f", "{{.State.Running}} {{.Name}} {{.HostConfig.NetworkMode}}", "it_apiweb"); out != "true /it_apiweb bridge\n" {
		t.Errorf("docker inspect: %q", out)
	}
	if r := docker(t, "run", "-d", "--name", "it_apiweb", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, `Conflict. The container name "/it_apiweb" is already in use`) {
		t.Errorf("docker run with a name in use: exit %d, stderr %q", r.code, r.stderr)
	}
	// exec: output through the stream, the exit code from its inspect;
	// the process is in the container's namespaces.
	if r := docker(t, "exec", "-e", "GREETING=hello", "it_apiweb", "sh", "-c", "echo $GREETING $(hostname); echo bad >&2; exit 4"); r.code != 4 ||
		r.stdout != "hello "+id[:12]+"\n" || r.stderr != "bad\n" {
		t.Errorf("docker exec: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	c := dockerCmd(t, "exec", "-i", "it_apiweb", "sh", "-c", "tr a-z A-Z; exit 6")
	c.Stdin = strings.NewReader("piped\n")
	if out, err := c.Output(); string(out) != "PIPED\n" || c.ProcessState.ExitCode() != 6 {
		t.Errorf("docker exec -i: %q, %v; want PIPED and exit 6", out, err)
	}
	if r := docker(t, "rm", "it_apiweb"); r.code != 1 || !strings.Contains(r.stderr, "You cannot remove a running container") {
		t.Errorf("docker rm of a running container: exit %d, stderr %q", r.code, r.stderr)
	}
	if out := dockerOK(t, "stop", "it_apiweb"); out != "it_apiweb\n" {
		t.Errorf("docker stop printed %q", out)
	}
	if s := inspect(t, "it_apiweb").State.Status; s != "exited" {
		t.Errorf("after docker stop berth inspect says %s, want exited", s)
	}
	dockerOK(t, "rm", "it_apiweb")
	assertGone(t, id, "it_apiweb")
	evs := dockerOK(t, "events", "--since", strconv.FormatInt(began.Unix(), 10), "--until", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10),
		"--filter", "container=it_apiweb", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
	for _, want := range []string{"container create it_apiweb\ncontainer start it_apiweb\n", "container stop it_apiweb\n", "container destroy it_apiweb\n"} {
		if !strings.Contains(evs, want) {
			t.Errorf("docker events lacks %q:\n%s", want, evs)
		}
	}

	// Logs: stdout and stderr apart, through the multiplexed stream.
	if r := docker(t, "run", "--name", "it_apilogs", "busybox", "sh", "-c", "echo out; echo err >&2"); r.code != 0 {
		t.Fatalf("docker run it_apilogs: exit %d: %s", r.code, r.stderr)
	}
	if r := docker(t, "logs", "it_apilogs"); r.code != 0 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("docker logs: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if out := dockerOK(t, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(out, "it_apilogs Exited (0)") {
		t.Errorf("docker ps -a:\n%s", out)
	}
	if out := dockerOK(t, "wait", "it_apilogs"); out != "0\n" {
		t.Errorf("docker wait of an exited container: %q", out)
	}
	if out := dockerOK(t, "container", "prune", "-f"); !strings.Contains(out, "Deleted Containers:") {
		t.Errorf("docker container prune: %q", out)
	}
	if r := docker(t, "rm", "it_apilogs"); r.code != 1 || !strings.Contains(r.stderr, "No such container: it_apilogs") {
		t.Errorf("docker rm of a removed container: exit %d, stderr %q", r.code, r.stderr)
	}

	if out := dockerOK(t, "images"); !regexp.MustCompile(`(?m)^busybox\s+latest\s+[0-9a-f]{12}`).MatchString(out) {
		t.Errorf("docker images:\n%s", out)
	}
	if out := dockerOK(t, "network", "ls"); !regexp.MustCompile(`(?m)\sbridge\s+bridge\s+local$`).MatchString(out) {
		t.Errorf("docker network ls:\n%s", out)
	}
	dockerOK(t, "volume", "create", "it_apivol")
	if out := ok(t, "volume", "ls", "--format", "{{.Name}}"); !strings.Contains(out, "it_apivol") {
		t.Errorf("berth volume ls does not list the API's volume:\n%s", out)
	}
	if out := dockerOK(t, "volume", "ls"); !regexp.MustCompile(`(?m)^local\s+it_apivol$`).MatchString(out) {
		t.Errorf("docker volume ls:\n%s", out)
	}
	// docker system df: berth system df's measurements, counted alike.
	const dfFormat = "{{.Type}} {{.TotalCount}} {{.Active}}"
	if d, b := dockerOK(t, "system", "df", "--format", dfFormat), ok(t, "system", "df", "--format", dfFormat); d != b || !strings.Contains(d, "Local Volumes ") {
		t.Errorf("docker system df:\n%s\nberth system df:\n%s", d, b)
	}
	if out := dockerOK(t, "system", "df", "-v"); !regexp.MustCompile(`(?m)^it_apivol\s+0\s+0B$`).MatchString(out) {
		t.Errorf("docker system df -v, the empty unused volume it_apivol:\n%s", out)
	}
	dockerOK(t, "volume", "rm", "it_apivol")
	// API 1.41's prune takes unused named volumes too; from 1.42 on it
	// takes anonymous ones, and named ones with -a.
	dockerOK(t, "volume", "create", "it_apivol2")
	prune := []string{"volume", "prune", "-f"}
	if dockerCLIAPI(t) != "1.41" {
		if out := dockerOK(t, prune...); strings.Contains(out, "it_apivol2") {
			t.Errorf("docker volume prune without -a took the named volume: %q", out)
		}
		prune = append(prune, "-a")
	}
	if out := dockerOK(t, prune...); !strings.Contains(out, "Deleted Volumes:\nit_apivol2\n") {
		t.Errorf("docker %s: %q", strings.Join(prune, " "), out)
	}

	// Idle, the service exits; the next command starts it again through
	// the socket.
	waitFor(t, 20*time.Second, "berth.service to exit when idle", func() bool {
		return unitProp(t, "berth.service", "ActiveState") != "active"
	})
	if out := dockerOK(t, "ps", "-q"); out != "" {
		t.Errorf("docker ps -q after the restart: %q", out)
	}
	if s := unitProp(t, "berth.service", "ActiveState"); s != "active" {
		t.Errorf("berth.service is %s after a new connection, want active again", s)
	}

	// docker system prune: the prune endpoints one after the other.
	pruned := strings.TrimSpace(dockerOK(t, "create", "--name", "it_apiprune", "busybox", "true"))
	if r := docker(t, "system", "prune", "-f"); r.code != 0 || !strings.Contains(r.stdout, "Deleted Containers:\n") || !strings.Contains(r.stdout, "Total reclaimed space:") {
		t.Errorf("docker system prune -f: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	assertGone(t, pruned, "it_apiprune")
}

// TestDockerPullTagRmi: docker pull from the loopback registry through
// the API (Docker's JSON progress, which the CLI prints), tag and rmi,
// and docker run of an image no registry has.
func TestDockerPullTagRmi(t *testing.T) {
	busybox(t)
	startRegistry(t)
	installAPISocket(t)
	const ref = registryAddr + "/it/apibox:1"
	_, manifest := pushBusybox(t, ref)
	t.Cleanup(func() { run(t, "rmi", "-f", ref, "it-apibox:tagged") })

	out := dockerOK(t, "pull", ref)
	for _, want := range []string{"1: Pulling from it/apibox", "Pull complete", "Digest: " + manifest,
		"Status: Downloaded newer image for " + ref} {
		if !strings.Contains(out, want) {
			t.Errorf("docker pull output lacks %q:\n%s", want, out)
		}
	}
	if out := ok(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, ref) {
		t.Errorf("berth images does not list the image docker pulled:\n%s", out)
	}
	if out := dockerOK(t, "pull", ref); !strings.Contains(out, "Status: Image is up to date for "+ref) {
		t.Errorf("docker pull again:\n%s", out)
	}
	dockerOK(t, "tag", ref, "it-apibox:tagged")
	if out := dockerOK(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "it-apibox:tagged") {
		t.Errorf("docker images after docker tag:\n%s", out)
	}
	if out := dockerOK(t, "rmi", "it-apibox:tagged"); out != "Untagged: it-apibox:tagged\n" {
		t.Errorf("docker rmi of one of two names: %q", out)
	}
	if out := dockerOK(t, "rmi", ref); !strings.Contains(out, "Untagged: "+ref) || !strings.Contains(out, "Deleted: sha256:") {
		t.Errorf("docker rmi: %q", out)
	}
	if r := docker(t, "rmi", ref); r.code != 1 || !strings.Contains(r.stderr, "No such image: "+ref) {
		t.Errorf("docker rmi of a removed image: exit %d, stderr %q", r.code, r.stderr)
	}
	// push: berth's push, Docker's messages; the registry has it after.
	const pushed = registryAddr + "/it/apipushed:2"
	dockerOK(t, "tag", "busybox", pushed)
	t.Cleanup(func() { run(t, "rmi", "-f", pushed) })
	if out := dockerOK(t, "push", pushed); !strings.Contains(out, "The push refers to repository ["+registryAddr+"/it/apipushed]") ||
		!regexp.MustCompile(`2: digest: sha256:[0-9a-f]{64}`).MatchString(out) {
		t.Errorf("docker push:\n%s", out)
	}
	req, _ := http.NewRequest("HEAD", "http://"+registryAddr+"/v2/it/apipushed/manifests/2", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("the registry has no manifest for the pushed image: %v %v", resp, err)
	}
	// save | load round trip, through the API both ways.
	archive := filepath.Join(t.TempDir(), "bb.tar")
	dockerOK(t, "save", "-o", archive, pushed)
	run(t, "rmi", "-f", pushed)
	if out := dockerOK(t, "load", "-i", archive); !strings.Contains(out, "Loaded image: "+pushed) {
		t.Errorf("docker load: %q", out)
	}
	if out := ok(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, pushed) {
		t.Errorf("berth images after docker load:\n%s", out)
	}

	r := docker(t, "run", "--rm", registryAddr+"/it/nosuch:1", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "Unable to find image '"+registryAddr+"/it/nosuch:1' locally") {
		t.Errorf("docker run of an image no registry has: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestDockerLifecycle: create, start, restart, kill, wait, logs -f,
// ps --filter and rm -f through the docker CLI, checked with berth's own
// view of the container.
func TestDockerLifecycle(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apilife", "it_apifollow")

	id := strings.TrimSpace(dockerOK(t, "create", "--name", "it_apilife", "-e", "WHO=api", "-l", "tier=it", "-m", "64m",
		"busybox", "sh", "-c", "echo started $WHO; exec sleep 300"))
	if s := inspect(t, "it_apilife").State.Status; s != "created" {
		t.Errorf("after docker create berth says %s, want created", s)
	}
	if m := inspect(t, "it_apilife").HostConfig.Memory; m != 64<<20 {
		t.Errorf("docker create -m 64m: berth's record has memory %d", m)
	}
	dockerOK(t, "start", "it_apilife")
	if s := unitProp(t, "berth-it_apilife.service", "MemoryMax"); s != strconv.Itoa(64<<20) {
		t.Errorf("MemoryMax of the unit is %s, want 64M", s)
	}
	first := inspect(t, "it_apilife").State.Pid
	dockerOK(t, "restart", "-t", "1", "it_apilife")
	if st := inspect(t, "it_apilife").State; !st.Running || st.Pid == first {
		t.Errorf("after docker restart: running %v, PID %d (was %d)", st.Running, st.Pid, first)
	}
	if out := dockerOK(t, "ps", "--filter", "label=tier=it", "--format", "{{.Names}}"); out != "it_apilife\n" {
		t.Errorf("docker ps --filter label=tier=it: %q", out)
	}
	dockerOK(t, "pause", "it_apilife")
	if out := ok(t, "ps", "--filter", "name=it_apilife", "--format", "{{.Status}}"); !strings.Contains(out, "(Paused)") {
		t.Errorf("after docker pause berth ps says %q", out)
	}
	if r := docker(t, "pause", "it_apilife"); r.code != 1 || !strings.Contains(r.stderr, "is already paused") {
		t.Errorf("docker pause of a paused container: exit %d, stderr %q", r.code, r.stderr)
	}
	dockerOK(t, "unpause", "it_apilife")
	// top: the container's processes (the shell became sleep), ps's
	// options passed on, a stopped container refused.
	waitFor(t, 5*time.Second, "docker top to show the sleep alone", func() bool {
		lines := strings.Split(strings.TrimSpace(dockerOK(t, "top", "it_apilife")), "\n")
		return len(lines) == 2 && strings.HasPrefix(lines[0], "UID") && strings.HasSuffix(lines[1], "sleep 300")
	})
	if out := dockerOK(t, "top", "it_apilife", "-o", "pid,comm"); !regexp.MustCompile(`^PID\s+COMMAND\n\d+\s+sleep\n$`).MatchString(out) {
		t.Errorf("docker top -o pid,comm:\n%s", out)
	}
	if r := docker(t, "top", "it_apilife", "-o", "comm"); r.code != 1 || !strings.Contains(r.stderr, "couldn't find PID field") {
		t.Errorf("docker top without a PID column: exit %d, stderr %q", r.code, r.stderr)
	}
	if out := dockerOK(t, "ps", "-q", "--filter", "name=it_nosuch"); out != "" {
		t.Errorf("docker ps --filter name=it_nosuch: %q", out)
	}
	waitFor(t, 5*time.Second, "the output in the journal", func() bool {
		return docker(t, "logs", "it_apilife").stdout == "started api\nstarted api\n"
	})
	dockerOK(t, "kill", "it_apilife")
	if out := dockerOK(t, "wait", "it_apilife"); out != "137\n" {
		t.Errorf("docker wait after docker kill: %q, want 137", out)
	}
	if r := docker(t, "kill", "it_apilife"); r.code != 1 || !strings.Contains(r.stderr, "is not running") {
		t.Errorf("docker kill of a stopped container: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := docker(t, "top", "it_apilife"); r.code != 1 || !strings.Contains(r.stderr, "container it_apilife is not running") {
		t.Errorf("docker top of a stopped container: exit %d, stderr %q", r.code, r.stderr)
	}
	if out := ok(t, "ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(out, "it_apilife Exited (137)") {
		t.Errorf("berth ps -a: %q", out)
	}

	// logs -f ends with the container; wait --condition is next-exit
	// for docker run, tested by the foreground runs of TestDockerCLI.
	dockerOK(t, "run", "-d", "--name", "it_apifollow", "busybox", "sh", "-c", "echo one; sleep 1; echo two >&2")
	r := docker(t, "logs", "-f", "it_apifollow")
	if r.code != 0 || r.stdout != "one\n" || r.stderr != "two\n" {
		t.Errorf("docker logs -f: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	dockerOK(t, "start", "it_apilife")
	dockerOK(t, "rm", "-f", "it_apilife", "it_apifollow")
	assertGone(t, id, "it_apilife")

	// An attach to a container removed before it ran ends too (else it
	// would keep the service from ever being idle).
	dockerOK(t, "create", "--name", "it_apigone", "busybox", "true")
	conn, err := net.Dial("unix", apiSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /v1.41/containers/it_apigone/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 101") {
		t.Fatalf("attach answered %q, %v", line, err)
	}
	dockerOK(t, "rm", "it_apigone")
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Errorf("the attach to a removed container did not end: %v", err)
	}
}

// TestDockerEventsFollow: docker events without --until follows the
// journal and systemd's unit signals until the client leaves: a
// container's start, its unit becoming active, its die.
func TestDockerEventsFollow(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apifollowev")
	c := dockerCmd(t, "events", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}",
		"--filter", "type=container", "--filter", "type=unit", "--filter", "type=volume")
	var out syncBuffer
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	// The stream is live once a marker's event comes through it: only
	// then may the container start, or its events could come before.
	defer run(t, "volume", "rm", "it_apievmark")
	waitFor(t, 10*time.Second, "docker events to be following", func() bool {
		run(t, "volume", "rm", "it_apievmark")
		ok(t, "volume", "create", "it_apievmark")
		time.Sleep(200 * time.Millisecond) // the event's way through the journal, polled
		return strings.Contains(out.String(), "volume create it_apievmark")
	})
	dockerOK(t, "run", "--name", "it_apifollowev", "busybox", "sh", "-c", "sleep 1")
	waitFor(t, 10*time.Second, "start, the unit's active state and die in the stream", func() bool {
		s := out.String()
		return strings.Contains(s, "container start ") && strings.Contains(s, " it_apifollowev\n") &&
			strings.Contains(s, "unit active berth-it_apifollowev.service") && strings.Contains(s, "container die ")
	})
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDockerMountsCommit: docker run's --mount (a volume, a tmpfs),
// anonymous -v and --volumes-from through the API; docker commit of the
// container's changes with -c, its EXPOSE published by docker run -P;
// docker rm -v takes the anonymous volume and leaves the named one.
func TestDockerMountsCommit(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "volume", "rm", "it_apimntvol")
	defer run(t, "rmi", "it/apicommit:1")
	defer run(t, "rm", "-f", "-v", "it_apimnt", "it_apipub")

	dockerOK(t, "run", "-d", "--name", "it_apimnt", "--mount", "type=volume,source=it_apimntvol,target=/data",
		"--mount", "type=tmpfs,target=/scratch,tmpfs-size=1m", "-v", "/anon", "busybox",
		"sh", "-c", "echo kept > /data/f; echo mine > /anon/g; echo changed > /etc/committed; exec sleep 300")
	waitFor(t, 5*time.Second, "the container's files", func() bool {
		return docker(t, "exec", "it_apimnt", "cat", "/data/f", "/anon/g", "/etc/committed").stdout == "kept\nmine\nchanged\n"
	})
	// docker ps -s: the writable layer has /etc/committed at least.
	if out := dockerOK(t, "ps", "-s", "--filter", "name=it_apimnt", "--format", "{{.Size}}"); out == "0B\n" || !regexp.MustCompile(`^[0-9.]+[kMG]?B\n$`).MatchString(out) {
		t.Errorf("docker ps -s of a container that wrote a file: %q", out)
	}
	// (stat -f: in a berth exec /proc/self/mounts reads empty.)
	if out := dockerOK(t, "exec", "it_apimnt", "stat", "-f", "-c", "%T %b %S", "/scratch"); out != "tmpfs 256 4096\n" {
		t.Errorf("--mount type=tmpfs,tmpfs-size=1m: %q", out)
	}
	if r := docker(t, "run", "--rm", "--volumes-from", "it_apimnt:ro", "busybox", "sh", "-c", "cat /data/f /anon/g; touch /data/x"); r.stdout != "kept\nmine\n" || r.code == 0 {
		t.Errorf("docker run --volumes-from it_apimnt:ro: exit %d, %q %q; want both files, read-only", r.code, r.stdout, r.stderr)
	}
	mounts := dockerOK(t, "inspect", "-f", `{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}};{{end}}`, "it_apimnt")
	anon := regexp.MustCompile(`volume ([0-9a-f]{64}) /anon;`).FindStringSubmatch(mounts)
	if anon == nil || !strings.Contains(mounts, "volume it_apimntvol /data;") {
		t.Fatalf("docker inspect's mounts: %q", mounts)
	}

	id := strings.TrimSpace(dockerOK(t, "commit", "-m", "through the API", "-c", "EXPOSE 80/tcp",
		"-c", `CMD ["httpd", "-f", "-p", "80", "-h", "/var/www"]`, "it_apimnt", "it/apicommit:1"))
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(id) {
		t.Errorf("docker commit printed %q, want an image ID", id)
	}
	if st, paused := pausedState(t, "it_apimnt"); st != "running" || paused {
		t.Errorf("after docker commit (paused while it read) the container is %s, paused %v", st, paused)
	}
	if out := dockerOK(t, "history", "--no-trunc", "it/apicommit:1"); !strings.Contains(out, "through the API") || !strings.Contains(out, id) {
		t.Errorf("docker history of the committed image:\n%s", out)
	}
	if out := ok(t, "run", "--rm", "it/apicommit:1", "cat", "/etc/committed"); out != "changed\n" {
		t.Errorf("the committed image's /etc/committed: %q", out)
	}
	if r := docker(t, "commit", "-c", "RUN true", "it_apimnt", "it/apicommit:bad"); r.code != 1 || !strings.Contains(r.stderr, "RUN is not a change commit accepts") {
		t.Errorf("docker commit -c RUN: exit %d, %q", r.code, r.stderr)
	}

	dockerOK(t, "run", "-d", "--name", "it_apipub", "-P", "it/apicommit:1")
	hostPort := strings.TrimSpace(dockerOK(t, "port", "it_apipub", "80"))
	if !regexp.MustCompile(`^0\.0\.0\.0:\d+$`).MatchString(hostPort) {
		t.Fatalf("docker port it_apipub 80 after -P: %q", hostPort)
	}
	waitFor(t, 5*time.Second, "the -P port to answer", func() bool {
		out, err := exec.Command("busybox", "wget", "-qO-", "http://127.0.0.1:"+strings.TrimPrefix(hostPort, "0.0.0.0:")+"/").Output()
		return err == nil && strings.Contains(string(out), "Hello from a berth container")
	})

	// -p [IP::]CONTAINER: a free host port, through the API and berth run.
	defer run(t, "rm", "-f", "it_apirand", "it_apirand2")
	dockerOK(t, "run", "-d", "--name", "it_apirand", "-p", "127.0.0.1::80", "busybox", "httpd", "-f", "-p", "80", "-h", "/var/www")
	ok(t, "run", "-d", "--name", "it_apirand2", "-p", "80", "busybox", "httpd", "-f", "-p", "80", "-h", "/var/www")
	p1 := strings.TrimSpace(dockerOK(t, "port", "it_apirand", "80"))
	p2 := strings.TrimSpace(ok(t, "port", "it_apirand2", "80"))
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(p1) || !regexp.MustCompile(`^0\.0\.0\.0:\d+$`).MatchString(p2) ||
		strings.TrimPrefix(p1, "127.0.0.1:") == strings.TrimPrefix(p2, "0.0.0.0:") {
		t.Fatalf("free host ports: docker -p 127.0.0.1::80 got %q, berth -p 80 got %q", p1, p2)
	}
	for _, addr := range []string{p1, "127.0.0.1:" + strings.TrimPrefix(p2, "0.0.0.0:")} {
		waitFor(t, 5*time.Second, "the free port "+addr+" to answer", func() bool {
			out, err := exec.Command("busybox", "wget", "-qO-", "http://"+addr+"/").Output()
			return err == nil && strings.Contains(string(out), "Hello from a berth container")
		})
	}

	// A commit without a name is a dangling image: docker image prune's.
	dangling := strings.TrimSpace(dockerOK(t, "commit", "it_apipub"))
	if out := dockerOK(t, "image", "prune", "-f"); !strings.Contains(out, "deleted: "+dangling+"\n") {
		t.Errorf("docker image prune after a commit without a name (%s): %q", dangling, out)
	}
	if r := run(t, "image", "inspect", dangling); r.code == 0 {
		t.Errorf("the pruned image %s is still there", dangling)
	}

	dockerOK(t, "rm", "-f", "-v", "it_apimnt")
	vols := ok(t, "volume", "ls", "-q")
	if strings.Contains(vols, anon[1]) || !strings.Contains(vols, "it_apimntvol") {
		t.Errorf("after docker rm -v: volumes %q; want it_apimntvol kept, %s gone", vols, anon[1][:12])
	}
}

// TestDockerNetworkConnect: docker network connect puts a running
// container on a user network at once (eth1, its alias in the network's
// DNS), disconnect takes it off; the errors come back as the CLI's.
func TestDockerNetworkConnect(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "network", "rm", "it_apinet")
	defer run(t, "rm", "-f", "it_apinsrv", "it_apincli")

	dockerOK(t, "network", "create", "it_apinet")
	dockerOK(t, "run", "-d", "--name", "it_apinsrv", "--network", "it_apinet", "busybox", "httpd", "-f", "-p", "80", "-h", "/var/www")
	dockerOK(t, "run", "-d", "--name", "it_apincli", "busybox", "sleep", "300")
	// By address: it_apincli's resolver is bridge's (the host's), not
	// it_apinet's.
	srv := strings.TrimSpace(dockerOK(t, "inspect", "-f", "{{.NetworkSettings.Networks.it_apinet.IPAddress}}", "it_apinsrv"))
	fetch := func() result {
		return docker(t, "exec", "it_apincli", "sh", "-c", "timeout -s KILL 3 wget -qO- http://"+srv+"/; exit $?")
	}
	if r := fetch(); r.code == 0 {
		t.Fatalf("it_apincli on bridge reached it_apinsrv on it_apinet before connect: %q", r.stdout)
	}

	dockerOK(t, "network", "connect", "--alias", "cli", "it_apinet", "it_apincli")
	if out := dockerOK(t, "exec", "it_apincli", "ip", "-4", "-o", "addr", "show", "eth1"); !strings.Contains(out, "inet 10.89.") {
		t.Errorf("after docker network connect, eth1: %q", out)
	}
	waitFor(t, 5*time.Second, "it_apinsrv on it_apinet", func() bool {
		r := fetch()
		return r.code == 0 && strings.Contains(r.stdout, "Hello from a berth container")
	})
	if out := dockerOK(t, "exec", "it_apinsrv", "nslookup", "cli"); !strings.Contains(out, "Address: 10.89.") {
		t.Errorf("the alias on it_apinet: %q", out)
	}
	if r := docker(t, "network", "connect", "it_apinet", "it_apincli"); r.code != 1 || !strings.Contains(r.stderr, "already connected") {
		t.Errorf("a second docker network connect: exit %d, %q", r.code, r.stderr)
	}
	if r := docker(t, "network", "connect", "it_apinet", "it_nosuch"); r.code != 1 || !strings.Contains(r.stderr, "No such container: it_nosuch") {
		t.Errorf("docker network connect of a missing container: exit %d, %q", r.code, r.stderr)
	}

	dockerOK(t, "network", "disconnect", "it_apinet", "it_apincli")
	if r := fetch(); r.code == 0 {
		t.Errorf("after docker network disconnect it_apincli still reaches it_apinsrv: %q", r.stdout)
	}
	if r := docker(t, "network", "disconnect", "it_apinet", "it_apinsrv"); r.code != 1 || !strings.Contains(r.stderr, "own network") {
		t.Errorf("docker network disconnect from the container's own network: exit %d, %q", r.code, r.stderr)
	}
	dockerOK(t, "network", "disconnect", "--force", "it_apinet", "it_apincli")
	if out := dockerOK(t, "network", "prune", "-f"); strings.Contains(out, "it_apinet") {
		t.Errorf("docker network prune removed it_apinet, which it_apinsrv uses: %q", out)
	}
	dockerOK(t, "rm", "-f", "it_apinsrv", "it_apincli")
	if out := dockerOK(t, "network", "prune", "-f"); !strings.Contains(out, "Deleted Networks:\nit_apinet\n") {
		t.Errorf("docker network prune of an unused network: %q", out)
	}
}

// TestDockerCp: docker cp both ways through the archive endpoints, with
// Docker's rules for where things land (the CLI plans them from the
// stat), -L, -a, stdin's tar, a stopped container, and a symlink in the
// container that points at / and must not lead the copy to the host.
func TestDockerCp(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apicp")
	dockerOK(t, "run", "-d", "--name", "it_apicp", "busybox", "sh", "-c",
		"mkdir -p /srv/d; echo inside > /srv/d/f; ln -s d/f /srv/link; ln -s / /srv/hostroot; exec sleep 300")
	waitFor(t, 5*time.Second, "the container's files", func() bool {
		return docker(t, "exec", "it_apicp", "readlink", "/srv/hostroot").stdout == "/\n"
	})
	local := t.TempDir()
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(local, p))
		if err != nil {
			return err.Error()
		}
		return string(b)
	}

	// Out of the container.
	dockerOK(t, "cp", "it_apicp:/srv/d/f", filepath.Join(local, "f"))
	dockerOK(t, "cp", "it_apicp:/srv/d", local)
	os.Mkdir(filepath.Join(local, "content"), 0o755)
	dockerOK(t, "cp", "it_apicp:/srv/d/.", filepath.Join(local, "content"))
	dockerOK(t, "cp", "-L", "it_apicp:/srv/link", filepath.Join(local, "followed"))
	dockerOK(t, "cp", "it_apicp:/srv/link", filepath.Join(local, "link"))
	if got := [...]string{read("f"), read("d/f"), read("content/f"), read("followed")}; got != [...]string{"inside\n", "inside\n", "inside\n", "inside\n"} {
		t.Errorf("docker cp out of the container: file, dir, dir/., -L: %q", got)
	}
	if target, err := os.Readlink(filepath.Join(local, "link")); err != nil || target != "d/f" {
		t.Errorf("docker cp of a symlink without -L: %q, %v; want the link d/f", target, err)
	}
	// (The 20.10 CLI words the HEAD's 404 itself; the 28 CLI prints the
	// GET's message, dockerd's words.)
	if r := docker(t, "cp", "it_apicp:/nosuch", local); r.code != 1 || !strings.Contains(r.stderr, "No such container:path: it_apicp:/nosuch") &&
		!strings.Contains(r.stderr, "Could not find the file /nosuch in container it_apicp") {
		t.Errorf("docker cp of a missing path: exit %d, %q", r.code, r.stderr)
	}

	// Into the container: a file, a directory to a new name, stdin's tar;
	// ownership is the container's root's unless -a.
	os.WriteFile(filepath.Join(local, "in.txt"), []byte("from the host\n"), 0o644)
	os.Chown(filepath.Join(local, "in.txt"), 1234, 5678)
	os.MkdirAll(filepath.Join(local, "tree", "sub"), 0o755)
	os.WriteFile(filepath.Join(local, "tree", "sub", "leaf"), []byte("leaf\n"), 0o644)
	dockerOK(t, "cp", filepath.Join(local, "in.txt"), "it_apicp:/srv/d/")
	dockerOK(t, "cp", "-a", filepath.Join(local, "in.txt"), "it_apicp:/srv/kept.txt")
	dockerOK(t, "cp", filepath.Join(local, "tree"), "it_apicp:/srv/newtree")
	c := dockerCmd(t, "cp", "-", "it_apicp:/srv")
	c.Stdin = tarOfFiles(t, map[string]string{"streamed": "through stdin\n"})
	if out, err := c.CombinedOutput(); err != nil {
		t.Errorf("docker cp - it_apicp:/srv: %v: %s", err, out)
	}
	out := dockerOK(t, "exec", "it_apicp", "sh", "-c", "cat /srv/d/in.txt /srv/newtree/sub/leaf /srv/streamed; stat -c %u:%g /srv/d/in.txt /srv/kept.txt")
	if out != "from the host\nleaf\nthrough stdin\n0:0\n1234:5678\n" {
		t.Errorf("after docker cp into the container: %q", out)
	}

	// The container's /srv/hostroot -> / stays inside the container.
	marker := "it_apicp_marker_" + strconv.Itoa(os.Getpid())
	os.WriteFile(filepath.Join(local, marker), []byte("x"), 0o644)
	dockerOK(t, "cp", filepath.Join(local, marker), "it_apicp:/srv/hostroot/tmp/")
	if _, err := os.Lstat("/tmp/" + marker); err == nil {
		os.Remove("/tmp/" + marker)
		t.Errorf("docker cp through the container's symlink to / wrote the host's /tmp/%s", marker)
	}
	if r := docker(t, "exec", "it_apicp", "cat", "/tmp/"+marker); r.stdout != "x" {
		t.Errorf("docker cp through /srv/hostroot: the container's /tmp has %q (exit %d)", r.stdout, r.code)
	}

	// A stopped container: its overlay, mounted for the copy.
	dockerOK(t, "stop", "-t", "0", "it_apicp")
	dockerOK(t, "cp", "it_apicp:/srv/kept.txt", filepath.Join(local, "fromstopped"))
	if got := read("fromstopped"); got != "from the host\n" {
		t.Errorf("docker cp out of a stopped container: %q", got)
	}
}

// TestDockerStats: docker stats --no-stream shows a busy container's
// CPU, its memory limit and tasks from the unit's cgroup; the stream
// sends a new reading every second.
func TestDockerStats(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apistats")
	dockerOK(t, "run", "-d", "--name", "it_apistats", "-m", "64m", "busybox", "sh", "-c", "sleep 1001 & while :; do :; done")
	waitFor(t, 5*time.Second, "the sleep", func() bool { return strings.Contains(dockerOK(t, "top", "it_apistats"), "sleep 1001") })

	out := dockerOK(t, "stats", "--no-stream", "it_apistats")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID   NAME") {
		t.Fatalf("docker stats --no-stream:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if cpu, _ := strconv.ParseFloat(strings.TrimSuffix(f[2], "%"), 64); f[1] != "it_apistats" || cpu < 10 || f[5] != "64MiB" || f[len(f)-1] != "2" {
		t.Errorf("docker stats of a busy loop and a sleep in 64m: %q (want its name, CPU %% > 10, limit 64MiB, 2 PIDs)", lines[1])
	}

	// Without names: the running containers (the CLI lists them).
	if out := dockerOK(t, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"); !strings.Contains(out, "it_apistats 2\n") {
		t.Errorf("docker stats --no-stream without names:\n%s", out)
	}

	// docker stats without names streams: it follows the events, so a
	// container started while it runs shows up, one removed goes.
	defer run(t, "rm", "-f", "it_apistats2")
	sc := dockerCmd(t, "stats", "--format", "{{.Name}} {{.PIDs}}")
	var streamed syncBuffer
	sc.Stdout = &streamed
	if err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sc.Process.Kill(); sc.Wait() }()
	waitFor(t, 10*time.Second, "docker stats to show it_apistats", func() bool { return strings.Contains(streamed.String(), "it_apistats 2") })
	dockerOK(t, "run", "-d", "--name", "it_apistats2", "busybox", "sleep", "300")
	waitFor(t, 10*time.Second, "docker stats to show the container started after it", func() bool {
		return strings.Contains(streamed.String(), "it_apistats2 1")
	})
	sc.Process.Kill()
	sc.Wait()

	// The stream: two readings, a second apart, before we hang up.
	conn, err := net.Dial("unix", apiSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /v1.41/containers/it_apistats/stats HTTP/1.1\r\nHost: berth\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats stream: %v, %v", resp, err)
	}
	dec := json.NewDecoder(resp.Body)
	var reads []time.Time
	for len(reads) < 2 {
		var st struct {
			Read      time.Time             `json:"read"`
			PidsStats struct{ Current int } `json:"pids_stats"`
		}
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("stats stream after %d objects: %v", len(reads), err)
		}
		if st.PidsStats.Current != 2 {
			t.Errorf("stats stream: pids %d, want 2", st.PidsStats.Current)
		}
		reads = append(reads, st.Read)
	}
	if d := reads[1].Sub(reads[0]); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("stats stream: readings %v apart, want about a second", d)
	}
}

// tarOfFiles is a tar archive of regular files, name → content.
func tarOfFiles(t *testing.T, files map[string]string) io.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, content)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b
}

// TestDockerExecTty: docker exec -it gets a terminal of the service's:
// its size from the CLI (and again on a resize), Ctrl-C reaching the
// command as the terminal's, TERM set, the shell's exit code.
func TestDockerExecTty(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apiexect")
	dockerOK(t, "run", "-d", "--name", "it_apiexect", "busybox", "sleep", "300")

	term := onTerminalCmd(t, 24, 80, dockerCmd(t, "exec", "-it", "it_apiexect", "sh"))
	term.expect("/ # ")
	term.typeIn("stty size; [ -t 0 ] && echo is-a-tty; echo term=$TERM\r")
	term.expect("24 80")
	term.expect("is-a-tty")
	term.expect("term=xterm")
	console.SetSize(term.pty.Master, 40, 100) // the user resizes the window
	waitFor(t, 5*time.Second, "the exec's terminal to take the new size", func() bool {
		term.typeIn("stty size\r")
		time.Sleep(100 * time.Millisecond) // the answer's time, polled
		term.mu.Lock()
		defer term.mu.Unlock()
		return strings.Contains(term.seen.String()[term.from:], "40 100")
	})
	term.typeIn("sleep 100\r")
	waitFor(t, 5*time.Second, "the exec's sleep", func() bool { return strings.Contains(dockerOK(t, "top", "it_apiexect"), "sleep 100") })
	term.typeIn("\x03") // Ctrl-C
	term.typeIn("echo status=$?\r")
	term.expect("status=130")
	term.typeIn("exit 3\r")
	if code := term.exit(); code != 3 {
		t.Errorf("docker exec -it: exit %d, want the shell's 3", code)
	}
	if out := dockerOK(t, "top", "it_apiexect"); regexp.MustCompile(`(?m)\ssh$`).MatchString(out) {
		t.Errorf("the exec's shell is still running:\n%s", out)
	}
}

// TestDockerRunTty: docker run -it gets the container's terminal (its
// size from the CLI's resize, the shell's exit code), and docker run -i
// feeds the container's stdin.
//
// The service runs as a child of the test here, not under the testbed's
// systemd: systemd-nspawn's seccomp filter, which every unit in the
// testbed inherits (/proc/PID/status: Seccomp 2), fails pidfd_getfd
// with EPERM there, and with it the service
// takes the container's terminal from systemd's file descriptor store.
// On a host, berth.service has no such filter.
func TestDockerRunTty(t *testing.T) {
	busybox(t)
	sock := filepath.Join(t.TempDir(), "api.sock")
	svc := exec.Command(binary(t, "BERTH_BIN"), "system", "service", "-H", "unix://"+sock, "--idle-timeout", "0")
	svc.Stderr = os.Stderr
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { svc.Process.Kill(); svc.Wait() }()
	waitFor(t, 5*time.Second, "the service's socket", func() bool { _, err := os.Stat(sock); return err == nil })
	dockerCmd := func(t *testing.T, args ...string) *exec.Cmd {
		c := dockerCmd(t, args...)
		c.Env = append(c.Env, "DOCKER_HOST=unix://"+sock)
		return c
	}
	defer run(t, "rm", "-f", "it_apitty")
	term := onTerminalCmd(t, 24, 80, dockerCmd(t, "run", "-it", "--name", "it_apitty", "busybox", "sh"))
	term.expect("/ # ")
	term.typeIn("stty size; echo $((6*7))\r")
	term.expect("24 80")
	term.expect("42")
	term.typeIn("exit 5\r")
	if code := term.exit(); code != 5 {
		t.Errorf("docker run -it: exit %d, want the shell's 5", code)
	}
	if s := inspect(t, "it_apitty").State; s.Status != "exited" || s.ExitCode != 5 {
		t.Errorf("berth inspect after docker run -it: %s %d", s.Status, s.ExitCode)
	}
	// Its logs are its terminal's output, one raw stream (the relay's).
	waitFor(t, 5*time.Second, "the terminal's output in docker logs", func() bool {
		c := dockerCmd(t, "logs", "it_apitty")
		out, err := c.Output()
		return err == nil && strings.Contains(string(out), "24 80") && strings.Contains(string(out), "42") && !strings.Contains(string(out), "\x01\x00\x00\x00")
	})

	c := dockerCmd(t, "run", "-i", "--rm", "busybox", "sh", "-c", "tr a-z A-Z; exit 2")
	c.Stdin = strings.NewReader("hello\n")
	out, err := c.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || string(out) != "HELLO\n" {
		t.Errorf("docker run -i: %q, %v; want HELLO and exit 2", out, err)
	}
}
