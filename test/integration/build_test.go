package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildContext writes files (name → content) into a fresh context
// directory and returns it.
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var imageIDLine = regexp.MustCompile(`(?m)^sha256:[0-9a-f]{64}$`)

// lastID is the image ID a build printed last.
func lastID(t *testing.T, out string) string {
	t.Helper()
	ids := imageIDLine.FindAllString(out, -1)
	if len(ids) == 0 {
		t.Fatalf("no image ID in build output:\n%s", out)
	}
	return ids[len(ids)-1]
}

const multiStage = `# a multi-stage build
ARG BASE=busybox
FROM ${BASE} AS gen
ARG GREETING=hello
RUN mkdir -p /out /junk && echo "$GREETING from gen" > /out/greeting && echo x > /junk/file && echo y > /etc/gone-later
RUN rm -rf /junk /etc/gone-later && rm /bin/vi
RUN <<EOF
echo heredoc > /out/heredoc
echo two >> /out/heredoc
EOF

FROM busybox
ENV APP_MODE=production \
    APP_HOME=/app
WORKDIR ${APP_HOME}
RUN echo "appuser:x:1234:1234::/app:/bin/sh" >> /etc/passwd && chown 1234 /app
COPY --from=gen /out/ ./
COPY --chown=appuser --chmod=750 app.sh ./
COPY conf/ /etc/app/
USER appuser
EXPOSE 8080
LABEL org.example.stage=final
CMD ["sh", "-c", "./app.sh"]
`

func TestBuildMultiStage(t *testing.T) {
	busybox(t)
	dir := buildContext(t, map[string]string{
		"Dockerfile":    multiStage,
		"app.sh":        "#!/bin/sh\necho \"app $APP_MODE in $(pwd) as $(id -u)\"; cat greeting heredoc; ls /etc/app\n",
		"conf/a.conf":   "a=1\n",
		"conf/b.conf":   "b=2\n",
		"conf/skip.tmp": "no\n",
		".dockerignore": "*.md\nconf/*.tmp\n",
		"README.md":     "ignored\n",
	})
	defer run(t, "rmi", "-f", "it_build:one", "it_build:gen")
	out := ok(t, "build", "-t", "it_build:one", "--build-arg", "GREETING=hi", dir)
	for _, want := range []string{"STEP 1/16: FROM ${BASE} AS gen", "STEP 16/16: CMD", "Successfully tagged it_build:one"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	id := lastID(t, out)

	// The image runs with its CMD, ENV, USER and WORKDIR; .dockerignore
	// kept conf/skip.tmp out.
	got := ok(t, "run", "--rm", "it_build:one")
	want := "app production in /app as 1234\nhi from gen\nheredoc\ntwo\na.conf\nb.conf\n"
	if got != want {
		t.Errorf("running the built image printed %q, want %q", got, want)
	}
	if got := ok(t, "run", "--rm", "it_build:one", "stat", "-c", "%u %a %n", "app.sh", "greeting", "/etc/app/a.conf"); got != "1234 750 app.sh\n0 644 greeting\n0 644 /etc/app/a.conf\n" {
		t.Errorf("COPY --chown/--chmod: %q", got)
	}
	// The gen stage's deletions are whiteouts in its own layers: the
	// files and /bin/vi are gone there.
	ok(t, "build", "-q", "--target", "gen", "-t", "it_build:gen", "--build-arg", "GREETING=hi", dir)
	if got := run(t, "run", "--rm", "it_build:gen", "sh", "-c", "ls /junk /etc/gone-later /bin/vi 2>&1; cat /out/greeting; ls /bin/ls"); !strings.Contains(got.stdout, "hi from gen\n/bin/ls") ||
		strings.Count(got.stdout, "No such file or directory") != 3 {
		t.Errorf("gen stage: whiteouts not honoured: %q", got.stdout)
	}
	// --target stops at that stage: the final stage's files are not there.
	if r := run(t, "run", "--rm", "it_build:gen", "ls", "/app"); r.code == 0 {
		t.Errorf("--target gen built the final stage too: %q", r.stdout)
	}

	// A second build is all cached and gives the same image.
	out2 := ok(t, "build", "-t", "it_build:one", "--build-arg", "GREETING=hi", dir)
	if n := strings.Count(out2, "CACHED"); n != 13 || lastID(t, out2) != id {
		t.Errorf("rebuild: %d CACHED steps (want 13), id %s (want %s):\n%s", n, lastID(t, out2), id, out2)
	}
	// An ignored file changed: still all cached.
	os.WriteFile(filepath.Join(dir, "conf", "skip.tmp"), []byte("changed\n"), 0o644)
	if out := ok(t, "build", "--build-arg", "GREETING=hi", dir); lastID(t, out) != id {
		t.Errorf("a change to a .dockerignore'd file rebuilt:\n%s", out)
	}
	// A changed context file re-runs its COPY and the steps after it only.
	os.WriteFile(filepath.Join(dir, "app.sh"), []byte("#!/bin/sh\necho changed\n"), 0o644)
	out3 := ok(t, "build", "-t", "it_build:one", "--build-arg", "GREETING=hi", dir)
	if n := strings.Count(out3, "CACHED"); n != 7 {
		t.Errorf("after changing app.sh: %d CACHED steps, want 7 (those before its COPY):\n%s", n, out3)
	}
	if strings.Contains(out3, "STEP 11/16: COPY --chown=appuser --chmod=750 app.sh ./\n--> CACHED") {
		t.Errorf("the COPY of the changed file did not re-run:\n%s", out3)
	}
	if got := ok(t, "run", "--rm", "it_build:one"); got != "changed\n" {
		t.Errorf("rebuilt image runs %q", got)
	}
	// Another build arg value re-runs the RUN steps that see it.
	out4 := ok(t, "build", "-t", "it_build:one", "--build-arg", "GREETING=bonjour", dir)
	if strings.Contains(out4, "STEP 3/16: RUN mkdir") && strings.Contains(out4, "echo y > /etc/gone-later\n--> CACHED") {
		t.Errorf("a new --build-arg value hit the cache:\n%s", out4)
	}
	if got := ok(t, "run", "--rm", "it_build:one", "cat", "greeting"); got != "bonjour from gen\n" {
		t.Errorf("--build-arg: %q", got)
	}
	// history shows each step.
	hist := ok(t, "image", "history", "--no-trunc", "it_build:one")
	for _, want := range []string{"USER appuser", "WORKDIR /app", "COPY --from=gen /out/ ./", "appuser:x:1234:1234"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	// Build steps' images are the cache: hidden from berth images, not
	// from berth images -a.
	m := regexp.MustCompile(`STEP 3/16: RUN mkdir[^\n]*\n--> ([0-9a-f]{12})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no image for step 3 in:\n%s", out)
	}
	if imgs := ok(t, "images"); strings.Contains(imgs, m[1]) {
		t.Errorf("berth images lists the build step %s:\n%s", m[1], imgs)
	}
	if imgs := ok(t, "images", "-a"); !strings.Contains(imgs, m[1]) {
		t.Errorf("berth images -a does not list the build step %s:\n%s", m[1], imgs)
	}
}

func TestBuildErrorsLeaveNothing(t *testing.T) {
	busybox(t)
	before := sh(t, "ls /var/lib/berth/containers | wc -l")
	cases := []struct {
		name, dockerfile string
		code             int
		msg              string
	}{
		{"unknown instruction", "FROM busybox\nRUN true\nFROBNICATE now\n", 125, "Dockerfile:3: unknown instruction: FROBNICATE"},
		{"bad flag", "FROM busybox\n\nCOPY --nope=1 a b\n", 125, "Dockerfile:3: unknown flag: --nope"},
		{"missing file", "FROM busybox\nCOPY missing.txt /\n", 125, "Dockerfile:2: COPY missing.txt: file not found"},
		{"missing image", "FROM nosuchimage\n", 125, "Dockerfile:1: FROM nosuchimage: no such image"},
		{"failing RUN", "FROM busybox\nRUN echo partial > /f\nRUN exit 3\n", 3, "Dockerfile:3: RUN /bin/sh -c exit 3: returned a non-zero code: 3"},
	}
	for _, c := range cases {
		dir := buildContext(t, map[string]string{"Dockerfile": c.dockerfile})
		r := run(t, "build", "-t", "it_broken", dir)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, r.code, r.stderr, c.code, c.msg)
		}
	}
	if r := run(t, "image", "inspect", "it_broken"); r.code == 0 {
		t.Errorf("a failed build left an image named it_broken")
	}
	if after := sh(t, "ls /var/lib/berth/containers | wc -l"); after != before {
		t.Errorf("failed builds left containers: %s entries before, %s after", before, after)
	}
	if u := sh(t, "systemctl list-units --all --no-legend 'berth-berth-build-*' || true"); u != "" {
		t.Errorf("failed builds left units: %s", u)
	}
	if m := sh(t, "grep -c /var/lib/berth/containers /proc/self/mountinfo || true"); m != "0" {
		t.Errorf("failed builds left mounts: %s", m)
	}
}

func TestCommit(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_commit", "busybox", "sh", "-c", "echo captured > /data.txt; rm /bin/vi; sleep 300")
	defer run(t, "rm", "-f", "it_commit")
	defer run(t, "rmi", "-f", "it_committed")
	waitFor(t, 10*time.Second, "the container's file", func() bool {
		return run(t, "exec", "it_commit", "cat", "/data.txt").stdout == "captured\n"
	})
	out := ok(t, "commit", "-m", "a test commit", "-c", `CMD ["cat", "/data.txt"]`, "-c", "ENV COMMITTED=yes", "it_commit", "it_committed")
	if !imageIDLine.MatchString(strings.TrimSpace(out)) {
		t.Errorf("commit printed %q, want an image ID", out)
	}
	// The commit paused the container only while it read its files.
	if st := inspect(t, "it_commit").State; !st.Running {
		t.Errorf("container after commit: %+v", st)
	}
	if r := run(t, "exec", "it_commit", "echo", "thawed"); r.stdout != "thawed\n" {
		t.Errorf("exec after commit: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if got := ok(t, "run", "--rm", "it_committed"); got != "captured\n" {
		t.Errorf("the committed image's CMD printed %q", got)
	}
	if r := run(t, "run", "--rm", "it_committed", "sh", "-c", "echo $COMMITTED; ls /bin/vi"); r.stdout != "yes\n" || r.code == 0 {
		t.Errorf("committed image: ENV or the deletion of /bin/vi lost: exit %d, %q", r.code, r.stdout)
	}
	if hist := ok(t, "image", "history", "--no-trunc", "it_committed"); !strings.Contains(hist, "a test commit") || !strings.Contains(hist, "sleep 300") {
		t.Errorf("history of the committed image:\n%s", hist)
	}
	if r := run(t, "commit", "-c", "RUN true", "it_commit", "it_committed:bad"); r.code != 125 || !strings.Contains(r.stderr, "RUN is not a change commit accepts") {
		t.Errorf("commit -c RUN: exit %d, %q", r.code, r.stderr)
	}
}

// TestBuildOptions: -f, -q, --label, --network none, ENTRYPOINT with CMD,
// SHELL, ADD of a tarball; then the image goes to a registry and back.
func TestBuildOptions(t *testing.T) {
	busybox(t)
	dir := buildContext(t, map[string]string{
		"build.Dockerfile": `FROM busybox
SHELL ["/bin/sh", "-e", "-c"]
RUN ls /sys/class/net > /netdevs
RUN --network=default echo default > /netmode
ENTRYPOINT ["echo", "entry"]
CMD ["default", "args"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo child
`,
	})
	const ref = registryAddr + "/it/built:1"
	defer run(t, "rmi", "-f", ref)
	out := ok(t, "build", "-q", "-f", filepath.Join(dir, "build.Dockerfile"), "--label", "team=infra", "--network", "none", "-t", ref, dir)
	if !imageIDLine.MatchString(out) || strings.Count(out, "\n") != 1 {
		t.Errorf("build -q printed %q, want only the image ID", out)
	}
	id := strings.TrimSpace(out)
	// --network none: the RUN container had loopback only.
	if got := ok(t, "run", "--rm", "--entrypoint", "cat", ref, "/netdevs"); got != "lo\n" {
		t.Errorf("RUN with --network none saw %q", got)
	}
	if got := ok(t, "run", "--rm", ref); got != "entry default args\n" {
		t.Errorf("ENTRYPOINT + CMD: %q", got)
	}
	if got := ok(t, "run", "--rm", ref, "other"); got != "entry other\n" {
		t.Errorf("ENTRYPOINT + arguments: %q", got)
	}
	insp := ok(t, "image", "inspect", ref)
	for _, want := range []string{`"team": "infra"`, `"StopSignal": "SIGQUIT"`} {
		if !strings.Contains(insp, want) {
			t.Errorf("image inspect lacks %s:\n%s", want, insp)
		}
	}
	// Built images push and pull like any other.
	startRegistry(t)
	ok(t, "push", ref)
	// skopeo reads it from the registry: the config berth built, with its
	// labels, and one layer per layer-making step.
	var sk struct {
		Labels map[string]string
		Layers []string
	}
	if err := json.Unmarshal([]byte(sh(t, "skopeo inspect --tls-verify=false docker://"+ref)), &sk); err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	if sk.Labels["team"] != "infra" || len(sk.Layers) < 2 {
		t.Errorf("skopeo inspect of the pushed build: labels %v, %d layers (want team=infra and the base's layer plus the build's)", sk.Labels, len(sk.Layers))
	}
	ok(t, "rmi", ref)
	ok(t, "pull", ref)
	if got := strings.TrimSpace(ok(t, "image", "inspect", "-f", "{{.Id}}", ref)); got != id {
		t.Errorf("pulled back as %s, built as %s", got, id)
	}
	if got := ok(t, "run", "--rm", "--entrypoint", "cat", ref, "/netmode"); got != "default\n" {
		t.Errorf("pulled image: %q", got)
	}
	// --pull fetches the base image from its registry first.
	ok(t, "rmi", ref)
	child := buildContext(t, map[string]string{"Dockerfile": "FROM " + ref + "\nCMD [\"from-pulled\"]\n"})
	if r := run(t, "build", "-t", "it_child", child); r.code != 125 || !strings.Contains(r.stderr, "Dockerfile:1: FROM "+ref+": no such image") {
		t.Errorf("build from an image not in the store without --pull: exit %d, %q", r.code, r.stderr)
	}
	defer run(t, "rmi", "-f", "it_child")
	out = ok(t, "build", "--pull", "-t", "it_child", child)
	if !strings.Contains(out, "Status: Downloaded newer image for "+ref) {
		t.Errorf("build --pull output:\n%s", out)
	}
	if got := ok(t, "run", "--rm", "it_child"); got != "entry from-pulled\n" {
		t.Errorf("image built on the pulled base: %q", got)
	}
}

// TestBuildRunMounts: RUN --mount=type=cache keeps a directory across
// builds (outside the image); type=tmpfs is scratch space.
func TestBuildRunMounts(t *testing.T) {
	busybox(t)
	dir := buildContext(t, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=cache,target=/var/cache/app sh -c 'echo run >> /var/cache/app/log; wc -l < /var/cache/app/log > /runs'
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo t > /scratch/f && grep -q "/scratch tmpfs" /proc/mounts && echo ok > /tmpfs-worked'
`})
	defer run(t, "rmi", "-f", "it_mounts")
	ok(t, "build", "--no-cache", "-q", "-t", "it_mounts", dir)
	ok(t, "build", "--no-cache", "-q", "-t", "it_mounts", dir)
	got := run(t, "run", "--rm", "it_mounts", "sh", "-c", "cat /runs /tmpfs-worked; ls /var/cache/app/log /scratch/f 2>&1")
	if !strings.HasPrefix(got.stdout, "2\nok\n") || strings.Count(got.stdout, "No such file or directory") != 2 {
		t.Errorf("RUN --mount: %q (want the cache seen twice, its files and the tmpfs's not in the image)", got.stdout)
	}
}
