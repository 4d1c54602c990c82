package machine

import (
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	units "github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		code, status string
		want         int
	}{
		{"exited", "0", 0},
		{"exited", "1", 1},
		{"exited", "127", 127},
		{"exited", "255", 255},
		{"killed", "9", 137},
		{"killed", "15", 143},
		{"killed", "KILL", 137},
		{"killed", "TERM", 143},
		{"killed", "INT", 130},
		{"killed", "SIGHUP", 129},
		{"dumped", "SEGV", 139},
		{"dumped", "ABRT", 134},
		{"dumped", "11", 139},
		{"killed", "", 255},
		{"killed", "NOSUCHSIG", 255},
		{"exited", "", 255},
		{"exited", "KILL", 255},
		{"", "", 255},
		{"", "3", 255},
		{"whatever", "1", 255},
	} {
		s := ExitStatus{Result: "exit-code", Code: tc.code, Status: tc.status}
		if got := s.ExitCode(); got != tc.want {
			t.Errorf("ExitStatus{Code: %q, Status: %q}.ExitCode() = %d, want %d", tc.code, tc.status, got, tc.want)
		}
	}
}

func TestWillRestart(t *testing.T) {
	pol := func(name string, max int) RestartPolicy { return RestartPolicy{Name: name, MaximumRetryCount: max} }
	for _, tc := range []struct {
		p        RestartPolicy
		code, n  int
		stopping bool
		want     bool
	}{
		{pol("", 0), 1, 0, false, false},
		{pol(RestartNo, 0), 1, 0, false, false},
		{pol(RestartNo, 0), 0, 0, false, false},
		{pol(RestartAlways, 0), 0, 0, false, true},
		{pol(RestartAlways, 0), 1, 100, false, true},
		{pol(RestartAlways, 0), 1, 0, true, false},
		{pol(RestartUnlessStopped, 0), 0, 0, false, true},
		{pol(RestartUnlessStopped, 0), 137, 5, false, true},
		{pol(RestartUnlessStopped, 0), 137, 0, true, false},
		{pol(RestartOnFailure, 0), 0, 0, false, false},
		{pol(RestartOnFailure, 0), 1, 0, false, true},
		{pol(RestartOnFailure, 0), 1, 1000, false, true},
		{pol(RestartOnFailure, 0), 1, 0, true, false},
		{pol(RestartOnFailure, 3), 1, 0, false, true},
		{pol(RestartOnFailure, 3), 1, 2, false, true},
		{pol(RestartOnFailure, 3), 1, 3, false, false},
		{pol(RestartOnFailure, 3), 1, 4, false, false},
		{pol(RestartOnFailure, 3), 0, 0, false, false},
		{pol(RestartOnFailure, 1), 137, 0, false, true},
		{pol(RestartOnFailure, 1), 137, 1, false, false},
		{pol("bogus", 0), 1, 0, false, false},
	} {
		if got := WillRestart(tc.p, tc.code, tc.n, tc.stopping); got != tc.want {
			t.Errorf("WillRestart(%+v, code %d, n %d, stopping %v) = %v, want %v", tc.p, tc.code, tc.n, tc.stopping, got, tc.want)
		}
	}
}

func TestDisplayStatus(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		s    State
		want string
	}{
		{State{Status: StatusCreated}, "Created"},
		{State{}, "Created"},
		{State{Status: StatusRunning, StartedAt: ago(3 * time.Second)}, "Up 3 seconds"},
		{State{Status: StatusRunning, StartedAt: ago(3 * time.Second), Paused: true}, "Up 3 seconds (Paused)"},
		{State{Status: StatusRunning, StartedAt: ago(500 * time.Millisecond)}, "Up Less than a second"},
		{State{Status: StatusRunning, StartedAt: ago(2 * time.Hour), FinishedAt: ago(3 * time.Hour), ExitCode: 1}, "Up 2 hours"},
		{State{Status: StatusExited, ExitCode: 0, FinishedAt: ago(2 * time.Minute)}, "Exited (0) 2 minutes ago"},
		{State{Status: StatusExited, ExitCode: 137, FinishedAt: ago(1 * time.Hour)}, "Exited (137) About an hour ago"},
		{State{Status: StatusExited, ExitCode: 3}, "Exited (3)"},
		{State{Status: StatusRestarting, ExitCode: 1, FinishedAt: ago(5 * time.Second)}, "Restarting (1) 5 seconds ago"},
	} {
		if got := DisplayStatus(tc.s, now, units.HumanDuration); got != tc.want {
			t.Errorf("DisplayStatus(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestLayerDirs(t *testing.T) {
	d := []digest.Digest{digest.FromString("layer 0"), digest.FromString("layer 1"), digest.FromString("layer 2")}
	// The chain IDs by the image-spec's definition, bottom first.
	c1 := digest.FromString(d[0].String() + " " + d[1].String())
	c2 := digest.FromString(c1.String() + " " + d[2].String())
	path := func(c digest.Digest) string { return "/var/lib/berth/layers/" + c.Encoded() }
	img := func(ids ...digest.Digest) imagestore.Image {
		var i imagestore.Image
		i.Config.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: ids}
		return i
	}
	for _, tc := range []struct {
		name string
		img  imagestore.Image
		want []string
	}{
		{"three layers, top first", img(d...), []string{path(c2), path(c1), path(d[0])}},
		{"one layer", img(d[0]), []string{path(d[0])}},
		{"no layers", img(), nil},
	} {
		got := LayerDirs(tc.img.ChainIDs(), path)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: LayerDirs = %q, want %q", tc.name, got, tc.want)
		}
		chains := tc.img.ChainIDs()
		slices.Reverse(chains)
		for i, c := range chains {
			if got[i] != path(c) {
				t.Errorf("%s: dir %d = %s, want the chain ID %s", tc.name, i, got[i], c)
			}
		}
	}
}

// noSuchPid is larger than any pid_max (2^22).
const noSuchPid = 1 << 30

func TestProcStartTime(t *testing.T) {
	st, err := ProcStartTime(os.Getpid())
	if err != nil || st == 0 {
		t.Fatalf("ProcStartTime(self) = %d, %v", st, err)
	}
	if again, err := ProcStartTime(os.Getpid()); err != nil || again != st {
		t.Errorf("ProcStartTime(self) changed: %d then %d (%v)", st, again, err)
	}
	for _, pid := range []int{noSuchPid, -1} {
		if got, err := ProcStartTime(pid); err == nil {
			t.Errorf("ProcStartTime(%d) = %d, want an error", pid, got)
		}
	}
}

// TestProcStartTimeOddName checks the parse of a process whose name
// holds ") " and spaces: the start time is read after the last ')'.
func TestProcStartTimeOddName(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	odd := filepath.Join(t.TempDir(), "a) b c d e f")
	copyFile(t, sleep, odd, 0o755)
	cmd := exec.Command(odd, "10")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot run a copy of sleep from the temp dir: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil || !strings.Contains(string(stat), "(a) b c d e f)") {
		t.Skipf("the child's comm is not the odd name: %q %v", stat, err)
	}
	self, _ := ProcStartTime(os.Getpid())
	child, err := ProcStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatalf("ProcStartTime(child %q): %v", stat, err)
	}
	// The child started after this process, moments ago.
	if child < self || child > self+100*3600 {
		t.Errorf("ProcStartTime(child) = %d, this process started at %d (stat %q)", child, self, stat)
	}
}

func copyFile(t *testing.T, from, to string, perm os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIsRunning(t *testing.T) {
	self := os.Getpid()
	st, err := ProcStartTime(self)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		pid        int
		start      uint64
		want       bool
		statusOnly string
	}{
		{"this process", self, st, true, StatusRunning},
		{"this process, whatever the status says", self, st, true, StatusExited},
		{"a reused pid: wrong start time", self, st + 1, false, StatusRunning},
		{"start time unknown", self, 0, false, StatusRunning},
		{"pid 0", 0, st, false, StatusRunning},
		{"pid 0 and start 0", 0, 0, false, StatusRunning},
		{"negative pid", -1, st, false, StatusRunning},
		{"no such process", noSuchPid, st, false, StatusRunning},
	} {
		c := &Container{State: State{Status: tc.statusOnly, Pid: tc.pid, PidStart: tc.start}}
		if got := c.IsRunning(); got != tc.want {
			t.Errorf("%s: IsRunning = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// testLayers makes two unpacked layers, top first: the bottom one has
// /etc/passwd with a user app (1000:1001) and /etc/group.
func testLayers(t *testing.T) []string {
	t.Helper()
	top, bottom := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(bottom, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(bottom, "etc", "passwd"): "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
		filepath.Join(bottom, "etc", "group"):  "root:x:0:\napp:x:1001:\n",
		filepath.Join(top, "hello"):            "hi\n",
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return []string{top, bottom}
}

var generatedName = regexp.MustCompile(`^[a-z]+_[a-z]+$`)

func TestNewContainer(t *testing.T) {
	layers := testLayers(t)
	img := func(stopSignal string) imagestore.Image {
		var i imagestore.Image
		i.ID = digest.FromString("config")
		i.Config.Config = ocispec.ImageConfig{Cmd: []string{"sh"}, StopSignal: stopSignal}
		return i
	}
	intp := func(n int) *int { return &n }
	for _, tc := range []struct {
		name        string
		img         imagestore.Image
		layers      []string
		o           RunOptions
		wantName    string // "" for a generated name
		wantMachine string
		wantSignal  string
		wantTimeout time.Duration
		wantUID     uint32
		wantGID     uint32
		err         string
	}{
		{name: "defaults, generated name", img: img(""), layers: layers, o: RunOptions{Image: "busybox"},
			wantSignal: "SIGTERM", wantTimeout: 10 * time.Second},
		{name: "given name with '_'", img: img(""), layers: layers, o: RunOptions{Image: "busybox", Name: "my_app_1"},
			wantName: "my_app_1", wantMachine: "my-app-1", wantSignal: "SIGTERM", wantTimeout: 10 * time.Second},
		{name: "user from a lower layer", img: img(""), layers: layers, o: RunOptions{Image: "busybox", Name: "web", User: "app"},
			wantName: "web", wantMachine: "web", wantSignal: "SIGTERM", wantTimeout: 10 * time.Second, wantUID: 1000, wantGID: 1001},
		{name: "image stop signal", img: img("SIGUSR1"), layers: layers, o: RunOptions{Image: "busybox", Name: "web"},
			wantName: "web", wantMachine: "web", wantSignal: "SIGUSR1", wantTimeout: 10 * time.Second},
		{name: "image stop signal by number", img: img("2"), layers: layers, o: RunOptions{Image: "busybox", Name: "web"},
			wantName: "web", wantMachine: "web", wantSignal: "SIGINT", wantTimeout: 10 * time.Second},
		{name: "--stop-signal over the image's", img: img("SIGUSR1"), layers: layers,
			o:        RunOptions{Image: "busybox", Name: "web", StopSignal: "kill", StopTimeout: intp(3)},
			wantName: "web", wantMachine: "web", wantSignal: "SIGKILL", wantTimeout: 3 * time.Second},
		{name: "--stop-timeout -1", img: img(""), layers: layers, o: RunOptions{Image: "busybox", Name: "web", StopTimeout: intp(-1)},
			wantName: "web", wantMachine: "web", wantSignal: "SIGTERM", wantTimeout: -1},
		{name: "one layer", img: img(""), layers: layers[1:], o: RunOptions{Image: "busybox", Name: "web", User: "app"},
			wantName: "web", wantMachine: "web", wantSignal: "SIGTERM", wantTimeout: 10 * time.Second, wantUID: 1000, wantGID: 1001},
		{name: "no layers", img: img(""), layers: nil, o: RunOptions{Image: "busybox"}, err: "no layers"},
		{name: "empty layer list", img: img(""), layers: []string{}, o: RunOptions{Image: "busybox", Name: "web"}, err: "no layers"},
		{name: "missing layer dir", img: img(""), layers: []string{filepath.Join(t.TempDir(), "nope")}, o: RunOptions{Image: "busybox"},
			err: "no such file"},
		{name: "unknown user", img: img(""), layers: layers, o: RunOptions{Image: "busybox", User: "nobody-here"},
			err: "unable to find user nobody-here"},
		{name: "bad image stop signal", img: img("SIGNOPE"), layers: layers, o: RunOptions{Image: "busybox"}, err: "invalid signal"},
		{name: "bad name", img: img(""), layers: layers, o: RunOptions{Image: "busybox", Name: "../x"}, err: "Invalid container name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			taken := func(n string) bool { asked = append(asked, n); return len(asked) == 1 }
			before := time.Now().UTC()
			rec, spec, err := NewContainer(imageOf(tc.img), tc.layers, tc.o, taken, volPath)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("NewContainer: %v, want an error with %q", err, tc.err)
				}
				if rec != nil || spec != nil {
					t.Errorf("NewContainer returned a record or a spec with its error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name := tc.wantName
			if name == "" {
				// The first candidate was taken: the second is used.
				if len(asked) != 2 || rec.Name != asked[1] || !generatedName.MatchString(rec.Name) {
					t.Errorf("generated name %q, candidates %q", rec.Name, asked)
				}
				name = rec.Name
				tc.wantMachine = strings.ReplaceAll(name, "_", "-")
			} else if len(asked) != 0 {
				t.Errorf("taken was asked %q for a container with a name", asked)
			}
			if rec.Name != name || rec.Options.Name != name {
				t.Errorf("Name = %q, Options.Name = %q, want %q", rec.Name, rec.Options.Name, name)
			}
			if !isID(rec.ID) {
				t.Errorf("ID %q is not an ID", rec.ID)
			}
			if want := "berth-" + name + ".service"; rec.Unit != want {
				t.Errorf("Unit = %q, want %q", rec.Unit, want)
			}
			if rec.Machine != tc.wantMachine || strings.Contains(rec.Machine, "_") {
				t.Errorf("Machine = %q, want %q", rec.Machine, tc.wantMachine)
			}
			if rec.StopSignal != tc.wantSignal {
				t.Errorf("StopSignal = %q, want %q", rec.StopSignal, tc.wantSignal)
			}
			if rec.StopTimeout != tc.wantTimeout {
				t.Errorf("StopTimeout = %v, want %v", rec.StopTimeout, tc.wantTimeout)
			}
			if !slices.Equal(rec.LowerDirs, tc.layers) {
				t.Errorf("LowerDirs = %q, want %q", rec.LowerDirs, tc.layers)
			}
			if rec.Image != tc.o.Image || rec.ImageID != tc.img.ID.String() {
				t.Errorf("Image %q ImageID %q, want %q %q", rec.Image, rec.ImageID, tc.o.Image, tc.img.ID)
			}
			if rec.State.Status != StatusCreated || rec.State.Pid != 0 {
				t.Errorf("State = %+v, want created", rec.State)
			}
			if rec.Created.Before(before) || rec.Created.After(time.Now().UTC()) || rec.Created.Location() != time.UTC {
				t.Errorf("Created = %v, want now in UTC", rec.Created)
			}
			if !slices.Equal(spec.Process.Args, []string{"sh"}) {
				t.Errorf("args %q, want the image's Cmd", spec.Process.Args)
			}
			if spec.Process.User.UID != tc.wantUID || spec.Process.User.GID != tc.wantGID {
				t.Errorf("user %d:%d, want %d:%d", spec.Process.User.UID, spec.Process.User.GID, tc.wantUID, tc.wantGID)
			}
			if spec.Hostname != rec.ID[:12] {
				t.Errorf("hostname %q, want the short ID %q", spec.Hostname, rec.ID[:12])
			}
		})
	}
}

// TestNewContainerNoLayersIsInvalid checks the class of the error for an
// image without layers.
func TestNewContainerNoLayersIsInvalid(t *testing.T) {
	var img imagestore.Image
	img.Config.Config.Cmd = []string{"sh"}
	_, _, err := NewContainer(imageOf(img), nil, RunOptions{Image: "busybox", Name: "web"}, nil, volPath)
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("NewContainer without layers: %v, want ErrInvalid", err)
	}
}

// TestNewContainerStopSignalName checks that the record names the stop
// signal the same way every time: SIGABRT/SIGIOT, SIGCHLD/SIGCLD and
// SIGIO/SIGPOLL share numbers.
func TestNewContainerStopSignalName(t *testing.T) {
	layers := testLayers(t)
	for _, sig := range []string{"SIGABRT", "SIGCHLD", "SIGIO"} {
		var img imagestore.Image
		img.Config.Config = ocispec.ImageConfig{Cmd: []string{"sh"}}
		seen := map[string]bool{}
		for range 64 {
			rec, _, err := NewContainer(imageOf(img), layers, RunOptions{Image: "busybox", Name: "web", StopSignal: sig}, nil, volPath)
			if err != nil {
				t.Fatal(err)
			}
			seen[rec.StopSignal] = true
		}
		if len(seen) > 1 {
			t.Errorf("machine/lifecycle.go signalName ranges over the signalNames map, so --stop-signal %s is recorded as any of %v at random; it should give one canonical name per number", sig, slices.Sorted(maps.Keys(seen)))
		}
		if !seen[sig] {
			t.Errorf("--stop-signal %s recorded as %v", sig, seen)
		}
	}
}

func volPath(name string) string { return "/var/lib/berth/volumes/" + name + "/_data" }

// imageOf is what NewContainer takes from a stored image.
func imageOf(img imagestore.Image) Image {
	return Image{ID: img.ID.String(), Config: img.Config.Config}
}

// TestDefaultPath: a container's PATH is the one the image store gives
// images without one (Docker's).
func TestDefaultPath(t *testing.T) {
	if DefaultPath != imagestore.DefaultPath {
		t.Errorf("machine.DefaultPath %q, imagestore.DefaultPath %q", DefaultPath, imagestore.DefaultPath)
	}
}
