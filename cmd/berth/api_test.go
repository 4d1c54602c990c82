package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/machine"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
)

// apiDo sends one request to an API server over a fresh root and
// returns the status and body.
func apiDo(t *testing.T, s *apiServer, method, path, body string) (int, string, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func newTestAPI(t *testing.T) *apiServer {
	return newAPIServer(&globalOptions{root: t.TempDir()})
}

func TestAPIPingAndVersions(t *testing.T) {
	s := newTestAPI(t)
	tests := []struct {
		method, path string
		code         int
		body         string // a substring
	}{
		{"GET", "/_ping", 200, "OK"},
		{"HEAD", "/_ping", 200, ""},
		{"GET", "/v1.41/_ping", 200, "OK"},
		{"GET", "/v1.47/version", 200, `"ApiVersion":"1.51"`},
		{"GET", "/v1.50/version", 200, `"MinAPIVersion":"1.24"`},
		{"GET", "/version", 200, `"MinAPIVersion":"1.24"`},
		{"GET", "/v1.12/version", 400, `{"message":"client version 1.12 is too old. Minimum supported API version is 1.24`},
		{"GET", "/v1.52/version", 400, `{"message":"client version 1.52 is too new. Maximum supported API version is 1.51"}`},
		{"GET", "/v1.41/swarm", 404, `"message":"page not found`},
		{"GET", "/info", 200, `"CgroupDriver":"systemd"`},
		{"GET", "/info", 200, `"LocalNodeState":"inactive"`},
		{"GET", "/v1.50/system/df", 200, `{"LayersSize":0,"Images":[],"Containers":[],"Volumes":[],"BuildCache":[]}`},
		{"GET", "/info", 200, `"Plugins":{"Volume":["local"],"Network":["bridge","host","none"]`},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			code, body, hdr := apiDo(t, s, tt.method, tt.path, "")
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s = %d %q, want %d with %q", tt.method, tt.path, code, body, tt.code, tt.body)
			}
			if hdr.Get("Api-Version") != apiMaxVersion {
				t.Errorf("Api-Version header %q, want %s", hdr.Get("Api-Version"), apiMaxVersion)
			}
		})
	}
}

// TestAPIErrors: the status codes and messages the docker CLI turns into
// its usual errors, from berth's own error classes.
func TestAPIErrors(t *testing.T) {
	s := newTestAPI(t)
	tests := []struct {
		name, method, path, body string
		code                     int
		message                  string
	}{
		{"inspect missing", "GET", "/v1.41/containers/nosuch/json", "", 404, "No such container: nosuch"},
		{"rm missing", "DELETE", "/v1.41/containers/nosuch?force=1", "", 404, "No such container: nosuch"},
		{"start missing", "POST", "/v1.41/containers/nosuch/start", "", 404, "No such container: nosuch"},
		{"logs missing", "GET", "/v1.41/containers/nosuch/logs?stdout=1", "", 404, `No such container`},
		{"create no image", "POST", "/v1.41/containers/create", `{"Image":""}`, 400, "no image given"},
		{"create bad json", "POST", "/v1.41/containers/create", `{"Image":`, 400, "invalid JSON body"},
		{"create image missing", "POST", "/v1.41/containers/create?name=web", `{"Image":"nosuch"}`, 404, "No such image: nosuch"},
		{"create bad memory", "POST", "/v1.41/containers/create", `{"Image":"busybox","HostConfig":{"Memory":1}}`, 400, "Minimum memory limit"},
		{"create port range without host", "POST", "/v1.41/containers/create",
			`{"Image":"busybox","HostConfig":{"PortBindings":{"80-81/tcp":[{"HostPort":""}]}}}`, 400, "a container range needs a host range"},
		{"create mount type", "POST", "/v1.41/containers/create",
			`{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"image","Source":"busybox","Target":"/img"}]}}`, 400, `type "image" is not supported`},
		{"create mount no target", "POST", "/v1.41/containers/create",
			`{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"volume","Source":"v"}]}}`, 400, "target is missing"},
		{"wait bad condition", "POST", "/v1.41/containers/x/wait?condition=later", "", 400, `invalid condition: "later"`},
		{"exec missing container", "POST", "/v1.41/containers/nosuch/exec", `{"Cmd":["true"],"AttachStdout":true}`, 404, "No such container: nosuch"},
		{"exec resize missing", "POST", "/v1.41/exec/0123/resize?h=24&w=80", "", 404, "No such exec instance: 0123"},
		{"exec no command", "POST", "/v1.41/containers/nosuch/exec", `{}`, 400, "no exec command"},
		{"exec start missing", "POST", "/v1.41/exec/0123/start", `{}`, 404, "No such exec instance: 0123"},
		{"exec inspect missing", "GET", "/v1.41/exec/0123/json", "", 404, "No such exec instance: 0123"},
		{"events bad filter", "GET", `/v1.41/events?filters={"label":{"a":true}}`, "", 400, `invalid filter "label"`},
		{"events bad json", "GET", `/v1.41/events?filters={`, "", 400, "invalid filters"},
		{"ps bad filter", "GET", `/v1.41/containers/json?filters={"volume":{"x":true}}`, "", 400, "invalid filter 'volume'"},
		{"save missing", "GET", "/v1.41/images/get?names=nosuch", "", 404, "No such image: nosuch"},
		{"save none", "GET", "/v1.41/images/get", "", 400, "no image names"},
		{"push missing", "POST", "/v1.41/images/registry.example/nosuch/push?tag=1", "", 404, "No such image: registry.example/nosuch:1"},
		{"load not an archive", "POST", "/v1.41/images/load", "not a tar", 400, ""},
		{"pause missing", "POST", "/v1.41/containers/nosuch/pause", "", 404, "No such container: nosuch"},
		{"update missing", "POST", "/v1.41/containers/nosuch/update", `{"Memory":67108864}`, 404, "No such container: nosuch"},
		{"update nothing", "POST", "/v1.41/containers/nosuch/update", `{}`, 400, "you must provide one or more flags"},
		{"update cpuset", "POST", "/v1.41/containers/nosuch/update", `{"CpusetCpus":"0"}`, 400, "berth update changes --memory, --cpus, --pids-limit and --restart only"},
		{"update small memory", "POST", "/v1.41/containers/nosuch/update", `{"Memory":1024}`, 400, "Minimum memory limit allowed is 6MB"},
		{"update bad restart", "POST", "/v1.41/containers/nosuch/update", `{"RestartPolicy":{"Name":"sometimes"}}`, 400, "unknown policy 'sometimes'"},
		{"rename missing", "POST", "/v1.41/containers/nosuch/rename?name=other", "", 404, "No such container: nosuch"},
		{"build remote", "POST", "/v1.41/build?remote=https://example.com/ctx.tar", "", 400, "not from a remote URL"},
		{"build buildkit", "POST", "/v1.41/build?version=2", "", 400, "berth has no BuildKit"},
		{"build bad tag", "POST", "/v1.41/build?t=UPPER", "", 400, `invalid tag "UPPER"`},
		{"build not a tar", "POST", "/v1.41/build", "not a tar", 400, "build context"},
		{"build no Dockerfile", "POST", "/v1.41/build", "", 400, "Cannot locate specified Dockerfile: Dockerfile"},
		// Names from requests never reach outside berth's directories.
		{"container name with dots", "GET", "/v1.41/containers/..%2F..%2Fetc/json", "", 404, "No such container"},
		{"volume name with dots", "DELETE", "/v1.41/volumes/..%2F..%2Fetc", "", 404, "no such volume"},
		{"network name with dots", "GET", "/v1.41/networks/..%2F..%2Fetc%2Fpasswd", "", 404, ""},
		{"image name with dots", "GET", "/v1.41/images/..%2F..%2Fetc/json", "", 404, "No such image"},
		{"unversioned name with dots", "GET", "/containers/..%2F..%2Fetc/json", "", 404, "No such container"},
		{"image missing", "GET", "/v1.41/images/nosuch/json", "", 404, "No such image: nosuch"},
		{"images bad filter", "GET", `/v1.41/images/json?filters={"before":{"busybox":true}}`, "", 400, "invalid filter 'before'"},
		{"rmi missing", "DELETE", "/v1.41/images/nosuch", "", 404, "No such image: nosuch"},
		{"history missing", "GET", "/v1.41/images/nosuch/history", "", 404, "No such image: nosuch"},
		{"image prune by label", "POST", `/v1.41/images/prune?filters={"label":{"a":true}}`, "", 400, `invalid filter "label"`},
		{"volume prune bad filters", "POST", "/v1.41/volumes/prune?filters={", "", 400, "invalid filters"},
		{"tag missing", "POST", "/v1.41/images/nosuch/tag?repo=other", "", 404, "No such image: nosuch"},
		{"pull without image", "POST", "/v1.41/images/create", "", 400, "no image to pull (fromImage) or import (fromSrc=-)"},
		{"import from a URL", "POST", "/v1.41/images/create?fromSrc=http://example.com/x.tar", "", 400, "berth imports the tarball sent with the request only"},
		{"import with a digest", "POST", "/v1.41/images/create?fromSrc=-&repo=x@sha256:" + strings.Repeat("0", 64), "", 400, "a digest cannot be given"},
		{"import with a bad change", "POST", "/v1.41/images/create?fromSrc=-&repo=x&changes=RUN+true", "", 400, "RUN"},
		{"network missing", "GET", "/v1.41/networks/nosuch", "", 404, "nosuch"},
		{"network driver", "POST", "/v1.41/networks/create", `{"Name":"n","Driver":"overlay"}`, 400, `network driver "overlay" is not supported`},
		{"archive missing container", "GET", "/v1.41/containers/nosuch/archive?path=/etc", "", 404, "No such container: nosuch"},
		{"archive put missing container", "PUT", "/v1.41/containers/nosuch/archive?path=/etc", "not a tar", 404, "No such container: nosuch"},
		{"network connect missing", "POST", "/v1.41/networks/nosuch/connect", `{"Container":"nosuch"}`, 404, "No such container: nosuch"},
		{"network connect ipv6", "POST", "/v1.41/networks/n/connect", `{"Container":"c","EndpointConfig":{"IPAMConfig":{"IPv6Address":"fd00::2"}}}`, 400, "IPv4 only"},
		{"network disconnect missing", "POST", "/v1.41/networks/nosuch/disconnect", `{"Container":"nosuch"}`, 404, "No such container: nosuch"},
		{"volume missing", "GET", "/v1.41/volumes/nosuch", "", 404, "nosuch"},
		{"volume rm missing", "DELETE", "/v1.41/volumes/nosuch", "", 404, "nosuch"},
		{"volume bad name", "POST", "/v1.41/volumes/create", `{"Name":"../etc"}`, 400, `invalid volume name "../etc"`},
		{"body too large", "POST", "/v1.41/containers/create", `{"Image":"` + strings.Repeat("a", apiMaxBody) + `"}`, 400, "invalid JSON body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := apiDo(t, s, tt.method, tt.path, tt.body)
			var e struct{ Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("%s %s: body %q is not Docker's error JSON: %v", tt.method, tt.path, body, err)
			}
			if code != tt.code || !strings.Contains(e.Message, tt.message) {
				t.Errorf("%s %s = %d %q, want %d with %q", tt.method, tt.path, code, e.Message, tt.code, tt.message)
			}
			for _, class := range []string{": not found", ": invalid argument", ": conflict"} {
				if strings.HasSuffix(e.Message, class) {
					t.Errorf("message %q ends in berth's class %q", e.Message, class)
				}
			}
		})
	}
}

// TestAPIVolumesAndNetworks: docker volume create/ls/inspect/rm and
// network ls over the same store berth volume uses.
func TestAPIVolumesAndNetworks(t *testing.T) {
	s := newTestAPI(t)
	if code, body, _ := apiDo(t, s, "POST", "/v1.41/volumes/create", `{"Name":"data","Labels":{"a":"b"}}`); code != 201 || !strings.Contains(body, `"Name":"data"`) {
		t.Fatalf("volume create = %d %s", code, body)
	}
	code, body, _ := apiDo(t, s, "GET", "/v1.41/volumes", "")
	var list struct {
		Volumes []struct{ Name, Driver string }
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 || len(list.Volumes) != 1 || list.Volumes[0].Name != "data" || list.Volumes[0].Driver != "local" {
		t.Fatalf("volume ls = %d %s (%v)", code, body, err)
	}
	vols, _ := machine.OpenVolumes(s.g.root)
	if _, err := vols.Get("data"); err != nil {
		t.Fatalf("the API's volume is not in berth's store: %v", err)
	}
	if code, body, _ := apiDo(t, s, "GET", "/v1.41/volumes/data", ""); code != 200 || !strings.Contains(body, `"Labels":{"a":"b"}`) {
		t.Errorf("volume inspect = %d %s", code, body)
	}
	if code, body, _ := apiDo(t, s, "DELETE", "/v1.41/volumes/data", ""); code != 204 {
		t.Errorf("volume rm = %d %s", code, body)
	}
	if code, _, _ := apiDo(t, s, "DELETE", "/v1.41/volumes/data?force=1", ""); code != 204 {
		t.Errorf("volume rm -f of a missing volume = %d, want 204", code)
	}
	code, body, _ = apiDo(t, s, "GET", "/v1.41/networks", "")
	var nets []struct{ Name, Driver, Scope string }
	if err := json.Unmarshal([]byte(body), &nets); err != nil || code != 200 {
		t.Fatalf("network ls = %d %s", code, body)
	}
	var names []string
	for _, n := range nets {
		names = append(names, n.Name+"/"+n.Driver)
	}
	if got := strings.Join(names, " "); got != "bridge/bridge host/host none/null" {
		t.Errorf("networks %q, want bridge, host and none", got)
	}
	if code, body, _ := apiDo(t, s, "GET", "/v1.41/containers/json?all=1", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("ps -a of no containers = %d %s, want []", code, body)
	}
	if code, body, _ := apiDo(t, s, "POST", "/v1.41/containers/prune", ""); code != 200 || !strings.Contains(body, `"ContainersDeleted":[]`) {
		t.Errorf("container prune of no containers = %d %s", code, body)
	}
	if code, body, _ := apiDo(t, s, "GET", "/v1.41/images/json", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("images of an empty store = %d %s, want []", code, body)
	}
}

func TestCreateOptions(t *testing.T) {
	ten, pids := 10, int64(50)
	tests := []struct {
		name string
		req  container.CreateRequest
		want func(*machine.RunOptions)
	}{
		{"minimal", container.CreateRequest{Config: &container.Config{Image: "busybox", Cmd: []string{"echo", "hi"}}},
			func(o *machine.RunOptions) { o.Cmd = []string{"echo", "hi"} }},
		{"entrypoint list", container.CreateRequest{Config: &container.Config{Image: "busybox", Entrypoint: []string{"sh", "-c"}, Cmd: []string{"echo hi"}}},
			func(o *machine.RunOptions) { ep := "sh"; o.Entrypoint = &ep; o.Cmd = []string{"-c", "echo hi"} }},
		{"entrypoint reset", container.CreateRequest{Config: &container.Config{Image: "busybox", Entrypoint: []string{}}},
			func(o *machine.RunOptions) { ep := ""; o.Entrypoint = &ep }},
		{"config", container.CreateRequest{Config: &container.Config{Image: "busybox", Env: []string{"A=1"}, Labels: map[string]string{"l": "v"},
			WorkingDir: "/w", User: "1:2", Hostname: "h", StopSignal: "SIGINT", StopTimeout: &ten}},
			func(o *machine.RunOptions) {
				o.Env, o.Labels, o.WorkingDir, o.User, o.Hostname = []string{"A=1"}, map[string]string{"l": "v"}, "/w", "1:2", "h"
				o.StopSignal, o.StopTimeout = "SIGINT", &ten
			}},
		{"host config", container.CreateRequest{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{
			Resources:     container.Resources{Memory: 64 << 20, NanoCPUs: 500_000_000, PidsLimit: &pids},
			RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3},
			PortBindings:  nat.PortMap{"80/tcp": []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: "8080"}}},
			Binds:         []string{"/srv:/data:ro"}}},
			func(o *machine.RunOptions) {
				o.Memory, o.CPUs, o.PidsLimit = 64<<20, 0.5, 50
				o.Restart = machine.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}
				o.Publish = []machine.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Count: 1, Proto: "tcp"}}
				o.Mounts = []machine.Mount{{Type: machine.MountBind, Source: "/srv", Target: "/data", ReadOnly: true}}
			}},
		{"free host port", container.CreateRequest{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{
			PortBindings: nat.PortMap{"53/udp": []nat.PortBinding{{HostIP: "127.0.0.1"}}}}},
			func(o *machine.RunOptions) {
				o.Publish = []machine.PortMapping{{HostIP: "127.0.0.1", ContainerPort: 53, Count: 1, Proto: "udp"}}
			}},
		{"rm, host network", container.CreateRequest{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{AutoRemove: true, NetworkMode: "host"}},
			func(o *machine.RunOptions) { o.AutoRemove, o.Network = true, "host" }},
		{"mounts, anonymous volume, volumes-from", container.CreateRequest{Config: &container.Config{Image: "busybox", Volumes: map[string]struct{}{"/cache": {}}},
			HostConfig: &container.HostConfig{VolumesFrom: []string{"db:ro"}, Mounts: []mount.Mount{
				{Type: mount.TypeVolume, Source: "data", Target: "/data", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
				{Type: mount.TypeVolume, Target: "/anon"},
				{Type: mount.TypeBind, Source: "/srv", Target: "/srv", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave}},
				{Type: mount.TypeBind, Source: "/new", Target: "/new", BindOptions: &mount.BindOptions{CreateMountpoint: true}},
				{Type: mount.TypeTmpfs, Target: "/tmp", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20, Mode: 0o1777}},
			}}},
			func(o *machine.RunOptions) {
				o.Mounts = []machine.Mount{
					{Type: machine.MountVolume, Target: "/cache", Anonymous: true},
					{Type: machine.MountVolume, Source: "data", Target: "/data", NoCopy: true},
					{Type: machine.MountVolume, Target: "/anon", Anonymous: true},
					{Type: machine.MountBind, Source: "/srv", Target: "/srv", ReadOnly: true, Propagation: "rslave", MustExist: true},
					{Type: machine.MountBind, Source: "/new", Target: "/new"},
					{Type: machine.MountTmpfs, Target: "/tmp", Options: "size=67108864,mode=1777"},
				}
				o.VolumesFrom = []string{"db:ro"}
			}},
		{"default network", container.CreateRequest{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{NetworkMode: "default"}},
			func(o *machine.RunOptions) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createOptions("web", tt.req)
			if err != nil {
				t.Fatal(err)
			}
			want := machine.RunOptions{Name: "web", Image: "busybox", Network: "bridge", Restart: machine.RestartPolicy{Name: "no"}}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("createOptions =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestMuxWriter(t *testing.T) {
	var b strings.Builder
	m := &muxWriter{w: &b}
	streamWriter(m, streamStdout, false).Write([]byte("hi\n"))
	streamWriter(m, streamStderr, false).Write([]byte("oops"))
	streamWriter(m, streamStdout, false).Write(nil) // no empty frames
	want := "\x01\x00\x00\x00\x00\x00\x00\x03hi\n\x02\x00\x00\x00\x00\x00\x00\x04oops"
	if b.String() != want {
		t.Errorf("frames %q, want %q", b.String(), want)
	}
}

// TestServeAPIIdle: the service listens 0660 and exits after its idle
// time, a request in progress keeping it up.
func TestServeAPIIdle(t *testing.T) {
	dir, err := os.MkdirTemp("/var/tmp", "berth-api-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "api.sock")
	if _, err := apiListeners("unix://"+sock, "no-such-group-berth"); err == nil || !strings.Contains(err.Error(), "--group") {
		t.Errorf("an unknown --group: %v", err)
	}
	if g, err := user.LookupGroup("daemon"); err == nil && os.Geteuid() == 0 {
		gsock := filepath.Join(dir, "group.sock")
		gl, err := apiListeners("unix://"+gsock, "daemon")
		if err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(gsock, &st); err != nil || strconv.Itoa(int(st.Gid)) != g.Gid {
			t.Errorf("--group daemon: socket group %d (%v), want %s", st.Gid, err, g.Gid)
		}
		gl[0].Close()
	}
	ls, err := apiListeners("unix://"+sock, "")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v (%v), want 0660", fi.Mode().Perm(), err)
	}
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		w.Write([]byte("OK"))
	})
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- serveAPI(context.Background(), h, ls, 1500*time.Millisecond) }()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	slow := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://berth/slow")
		if err == nil {
			resp.Body.Close()
		}
		slow <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the service exited during a request: %v", err)
	case <-time.After(3 * time.Second):
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 4*time.Second {
			t.Errorf("exited %v after start, before the idle time after the last request", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not exit when idle")
	}
}

func TestParseFilters(t *testing.T) {
	tests := []struct {
		in   string
		want map[string][]string
	}{
		{"", map[string][]string{}},
		{`{"type":{"container":true},"event":{"die":true,"start":false}}`, map[string][]string{"type": {"container"}, "event": {"die"}}},
		{`{"container":["web"]}`, map[string][]string{"container": {"web"}}},
	}
	for _, tt := range tests {
		got, err := parseFilters(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseFilters(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
