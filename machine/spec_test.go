package machine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func strp(s string) *string { return &s }

// TestBuildSpecArgs is the table of Docker's "Understand how CMD and
// ENTRYPOINT interact" plus the run flags that override them.
func TestBuildSpecArgs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		entrypoint []string
		cmd        []string
		flagEntry  *string
		flagCmd    []string
		want       []string
		err        string
	}{
		{"no entrypoint, exec-form CMD", nil, []string{"exec_cmd", "p1_cmd"}, nil, nil,
			[]string{"exec_cmd", "p1_cmd"}, ""},
		{"no entrypoint, shell-form CMD", nil, []string{"/bin/sh", "-c", "exec_cmd p1_cmd"}, nil, nil,
			[]string{"/bin/sh", "-c", "exec_cmd p1_cmd"}, ""},
		{"exec-form ENTRYPOINT, no CMD", []string{"exec_entry", "p1_entry"}, nil, nil, nil,
			[]string{"exec_entry", "p1_entry"}, ""},
		{"exec-form ENTRYPOINT and CMD", []string{"exec_entry", "p1_entry"}, []string{"exec_cmd", "p1_cmd"}, nil, nil,
			[]string{"exec_entry", "p1_entry", "exec_cmd", "p1_cmd"}, ""},
		{"shell-form ENTRYPOINT and CMD", []string{"/bin/sh", "-c", "exec_entry p1_entry"}, []string{"exec_cmd", "p1_cmd"}, nil, nil,
			[]string{"/bin/sh", "-c", "exec_entry p1_entry", "exec_cmd", "p1_cmd"}, ""},
		{"args replace CMD, keep ENTRYPOINT", []string{"exec_entry"}, []string{"exec_cmd"}, nil, []string{"a", "b"},
			[]string{"exec_entry", "a", "b"}, ""},
		{"args replace CMD", nil, []string{"exec_cmd"}, nil, []string{"echo", "hi"},
			[]string{"echo", "hi"}, ""},
		{"--entrypoint drops image CMD", []string{"exec_entry"}, []string{"exec_cmd"}, strp("/bin/sh"), nil,
			[]string{"/bin/sh"}, ""},
		{"--entrypoint with args", []string{"exec_entry"}, []string{"exec_cmd"}, strp("/bin/sh"), []string{"-c", "id"},
			[]string{"/bin/sh", "-c", "id"}, ""},
		{"--entrypoint is one argument", nil, nil, strp("/bin/echo hello"), nil,
			[]string{"/bin/echo hello"}, ""},
		{`--entrypoint "" with args`, []string{"exec_entry"}, []string{"exec_cmd"}, strp(""), []string{"echo", "hi"},
			[]string{"echo", "hi"}, ""},
		{`--entrypoint "" alone`, []string{"exec_entry"}, []string{"exec_cmd"}, strp(""), nil,
			nil, "no command specified"},
		{"empty args are no args", []string{"exec_entry"}, []string{"exec_cmd"}, nil, []string{},
			[]string{"exec_entry", "exec_cmd"}, ""},
		{"nothing at all", nil, nil, nil, nil, nil, "no command specified"},
	} {
		img := ocispec.ImageConfig{Entrypoint: tc.entrypoint, Cmd: tc.cmd}
		s, err := BuildSpec(img, RunOptions{Image: "img", Entrypoint: tc.flagEntry, Cmd: tc.flagCmd}, testID, nil)
		wantErr(t, tc.name, err, tc.err)
		if err == nil && !slices.Equal(s.Process.Args, tc.want) {
			t.Errorf("%s: args %q, want %q", tc.name, s.Process.Args, tc.want)
		}
	}
}

func TestBuildSpecEnv(t *testing.T) {
	root := fstest.MapFS{"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:100:101::/home/app:/bin/sh\n")}}
	fileEnv, err := ParseEnvFile(strings.NewReader("FILE=1\nSHARED=file\nIMG_B=file\n"), "f.env", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		imageEnv []string
		env      []string
		user     string
		hostname string
		want     []string
	}{
		{"defaults", nil, nil, "", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "HOME=/root"}},
		{"image PATH replaces the default in place", []string{"PATH=/opt/bin", "IMG=1"}, nil, "", "",
			[]string{"PATH=/opt/bin", "HOSTNAME=0123456789ab", "IMG=1", "HOME=/root"}},
		{"env files then -e, later wins, first position kept",
			[]string{"IMG_A=img", "IMG_B=img", "SHARED=img"},
			append(slices.Clone(fileEnv), "SHARED=flag", "FLAG=1", "FILE=2"), "", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "IMG_A=img", "IMG_B=file", "SHARED=flag", "FILE=2", "FLAG=1", "HOME=/root"}},
		{"--hostname", nil, nil, "", "web",
			[]string{imagestore.DefaultPath, "HOSTNAME=web", "HOME=/root"}},
		{"-e HOSTNAME overrides", nil, []string{"HOSTNAME=mine"}, "", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=mine", "HOME=/root"}},
		{"HOME of the user", nil, nil, "app", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "HOME=/home/app"}},
		{"HOME of an unknown uid", nil, nil, "4242", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "HOME=/"}},
		{"HOME from the image wins", []string{"HOME=/data"}, nil, "app", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "HOME=/data"}},
		{"HOME from -e wins", []string{"HOME=/data"}, []string{"HOME=/x"}, "", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "HOME=/x"}},
		{"bare -e K unsets the image's K", []string{"A=1", "B=2"}, []string{"A"}, "", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "B=2", "HOME=/root"}},
		{"unset then set again", []string{"A=1", "B=2"}, []string{"A", "A=3"}, "", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "B=2", "A=3", "HOME=/root"}},
		{"values with =", nil, []string{"URL=a=b"}, "", "",
			[]string{imagestore.DefaultPath, "HOSTNAME=0123456789ab", "URL=a=b", "HOME=/root"}},
	} {
		o := RunOptions{Image: "img", Cmd: []string{"sh"}, Env: tc.env, User: tc.user, Hostname: tc.hostname}
		s, err := BuildSpec(ocispec.ImageConfig{Env: tc.imageEnv}, o, testID, root)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(s.Process.Env, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, s.Process.Env, tc.want)
		}
	}
}

func TestBuildSpecCwd(t *testing.T) {
	for _, tc := range []struct {
		image, flag, want, err string
	}{
		{"", "", "/", ""},
		{"/app", "", "/app", ""},
		{"/app", "/srv", "/srv", ""},
		{"", "/srv/../data/", "/data", ""},
		{"/app", "srv", "", "the working directory 'srv' is invalid, it needs to be an absolute path"},
		{"app", "", "", "the working directory 'app' is invalid"},
	} {
		s, err := BuildSpec(ocispec.ImageConfig{WorkingDir: tc.image, Cmd: []string{"sh"}},
			RunOptions{Image: "img", WorkingDir: tc.flag}, testID, nil)
		what := fmt.Sprintf("image %q, -w %q", tc.image, tc.flag)
		wantErr(t, what, err, tc.err)
		if err == nil && s.Process.Cwd != tc.want {
			t.Errorf("%s: cwd %q, want %q", what, s.Process.Cwd, tc.want)
		}
	}
}

func TestBuildSpecUser(t *testing.T) {
	img := ocispec.ImageConfig{Cmd: []string{"sh"}}
	s, err := BuildSpec(img, RunOptions{Image: "img", User: "alice"}, testID, testRoot())
	if err != nil {
		t.Fatal(err)
	}
	want := specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 999, 29}}
	if !reflect.DeepEqual(s.Process.User, want) {
		t.Errorf("user %+v, want %+v", s.Process.User, want)
	}
	_, err = BuildSpec(img, RunOptions{Image: "img", User: "mallory"}, testID, testRoot())
	wantErr(t, "unknown user", err, "unable to find user mallory: no matching entries in passwd file")
	// Without -u the image's USER applies; -u overrides it.
	withUser := ocispec.ImageConfig{Cmd: []string{"sh"}, User: "alice"}
	for _, tc := range []struct {
		flag string
		uid  uint32
	}{{"", 1000}, {"0", 0}} {
		s, err := BuildSpec(withUser, RunOptions{Image: "img", User: tc.flag}, testID, testRoot())
		if err != nil || s.Process.User.UID != tc.uid {
			t.Errorf("image USER alice, -u %q: %+v, %v; want UID %d", tc.flag, s.Process.User, err, tc.uid)
		}
	}
}

func TestBuildSpecDefaults(t *testing.T) {
	img := ocispec.ImageConfig{Cmd: []string{"sh"}, Labels: map[string]string{"maintainer": "img", "version": "1"}}
	o := RunOptions{Name: "web", Image: "busybox:latest", Labels: map[string]string{"version": "2", "tier": "front"}}
	s, err := BuildSpec(img, o, testID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != specs.Version || s.Hostname != "0123456789ab" {
		t.Errorf("version %q hostname %q", s.Version, s.Hostname)
	}
	if s.Root == nil || s.Root.Path != "rootfs" || s.Root.Readonly {
		t.Errorf("root %+v", s.Root)
	}
	p := s.Process
	if p.Terminal || !p.NoNewPrivileges || p.User.UID != 0 || p.User.GID != 0 {
		t.Errorf("process %+v", p)
	}
	c := p.Capabilities
	if len(DefaultCapabilities) != 14 || !slices.Equal(c.Bounding, DefaultCapabilities) ||
		!slices.Equal(c.Effective, DefaultCapabilities) || !slices.Equal(c.Permitted, DefaultCapabilities) ||
		c.Inheritable != nil || c.Ambient != nil {
		t.Errorf("capabilities %+v", c)
	}
	if !reflect.DeepEqual(p.Rlimits, []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1048576, Soft: 1048576}}) {
		t.Errorf("rlimits %+v", p.Rlimits)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		if n.Path != "" {
			t.Errorf("namespace %s joins %s, want a new one", n.Type, n.Path)
		}
		ns = append(ns, n.Type)
	}
	if want := []specs.LinuxNamespaceType{"pid", "mount", "uts", "ipc", "cgroup", "network"}; !slices.Equal(ns, want) {
		t.Errorf("namespaces %v, want %v", ns, want)
	}
	mounts := map[string]specs.Mount{}
	var dests []string
	for _, m := range s.Mounts {
		mounts[m.Destination] = m
		dests = append(dests, m.Destination)
	}
	if want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}; !slices.Equal(dests, want) {
		t.Errorf("mounts %v, want %v", dests, want)
	}
	for dest, want := range map[string]struct {
		typ  string
		opts []string
	}{
		"/proc":          {"proc", nil},
		"/dev":           {"tmpfs", []string{"mode=755", "size=65536k", "nosuid", "strictatime"}},
		"/dev/pts":       {"devpts", []string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		"/dev/shm":       {"tmpfs", []string{"size=65536k", "nosuid", "noexec", "nodev"}},
		"/dev/mqueue":    {"mqueue", nil},
		"/sys":           {"sysfs", []string{"ro", "nosuid", "noexec", "nodev"}},
		"/sys/fs/cgroup": {"cgroup", []string{"ro"}},
	} {
		m := mounts[dest]
		if m.Type != want.typ {
			t.Errorf("%s: type %q, want %q", dest, m.Type, want.typ)
		}
		for _, o := range want.opts {
			if !slices.Contains(m.Options, o) {
				t.Errorf("%s: options %v lack %q", dest, m.Options, o)
			}
		}
	}
	if r := s.Linux.Resources; r.Memory != nil || r.CPU != nil || r.Pids != nil {
		t.Errorf("unlimited container has resources %+v", r)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	want := map[string]string{
		"berth.name": "web", "berth.image": "busybox:latest",
		"maintainer": "img", "version": "2", "tier": "front",
	}
	if !reflect.DeepEqual(s.Annotations, want) {
		t.Errorf("annotations %v, want %v", s.Annotations, want)
	}
	// The spec is what goes to disk: it must marshal.
	if _, err := json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	// The defaults are fresh copies: changing one spec leaves the next alone.
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	if DefaultCapabilities[0] != "CAP_CHOWN" {
		t.Errorf("BuildSpec shares DefaultCapabilities with the spec")
	}
}

func TestBuildSpecResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		name string
		o    RunOptions
		want specs.LinuxResources
	}{
		{"memory", RunOptions{Memory: 64 << 20},
			specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(128 << 20)}}},
		{"cpus", RunOptions{CPUs: 0.5},
			specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}}},
		{"fine cpus", RunOptions{CPUs: 0.015},
			specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(1500), Period: u64(100000)}}},
		{"pids", RunOptions{PidsLimit: 100},
			specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(100))}}},
		{"pids -1 is unlimited", RunOptions{PidsLimit: -1}, specs.LinuxResources{}},
	} {
		tc.o.Image, tc.o.Cmd = "img", []string{"sh"}
		s, err := BuildSpec(ocispec.ImageConfig{}, tc.o, testID, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		tc.want.Devices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
		if !reflect.DeepEqual(*s.Linux.Resources, tc.want) {
			got, _ := json.Marshal(s.Linux.Resources)
			want, _ := json.Marshal(tc.want)
			t.Errorf("%s: resources %s, want %s", tc.name, got, want)
		}
	}
}

func TestBuildSpecRefuses(t *testing.T) {
	img := ocispec.ImageConfig{Cmd: []string{"sh"}}
	for _, tc := range []struct {
		name string
		o    RunOptions
		id   string
		err  string
	}{
		{"bad id", RunOptions{Image: "img"}, "abc", "invalid container ID"},
		{"upper-case id", RunOptions{Image: "img"}, strings.ToUpper(testID), "invalid container ID"},
		{"invalid options", RunOptions{Image: "img", Name: "x"}, testID, "Invalid container name (x)"},
		{"rm with restart", RunOptions{Image: "img", AutoRemove: true, Restart: RestartPolicy{Name: "always"}}, testID,
			"conflicting options: cannot specify both --restart and --rm"},
	} {
		_, err := BuildSpec(img, tc.o, tc.id, nil)
		wantErr(t, tc.name, err, tc.err)
	}
}

func TestBuildSpecSecurityOptions(t *testing.T) {
	for _, tc := range []struct {
		name        string
		add, drop   []string
		has, hasNot []string
		count       int
		wantErr     bool
	}{
		{"drop one", nil, []string{"net_raw"}, nil, []string{"CAP_NET_RAW"}, 13, false},
		{"add one", []string{"NET_ADMIN"}, nil, []string{"CAP_NET_ADMIN", "CAP_CHOWN"}, nil, 15, false},
		{"drop all", nil, []string{"ALL"}, nil, []string{"CAP_CHOWN"}, 0, false},
		{"drop all, add one", []string{"CAP_KILL"}, []string{"all"}, []string{"CAP_KILL"}, []string{"CAP_CHOWN"}, 1, false},
		{"add all", []string{"ALL"}, nil, []string{"CAP_SYS_ADMIN"}, nil, len(AllCapabilities), false},
		{"unknown", []string{"CAP_NOPE"}, nil, nil, nil, 0, true},
	} {
		o := RunOptions{Image: "busybox", Cmd: []string{"true"}, CapAdd: tc.add, CapDrop: tc.drop, ReadOnly: true, NoNewPrivileges: true}
		s, err := BuildSpec(ocispec.ImageConfig{}, o, testID, nil)
		if tc.wantErr {
			if !errdefs.IsInvalid(err) {
				t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b := s.Process.Capabilities.Bounding
		if len(b) != tc.count {
			t.Errorf("%s: %d capabilities %v, want %d", tc.name, len(b), b, tc.count)
		}
		for _, c := range tc.has {
			if !slices.Contains(b, c) {
				t.Errorf("%s: %s missing from %v", tc.name, c, b)
			}
		}
		for _, c := range tc.hasNot {
			if slices.Contains(b, c) {
				t.Errorf("%s: %s present in %v", tc.name, c, b)
			}
		}
		if !s.Root.Readonly || !s.Process.NoNewPrivileges {
			t.Errorf("%s: read-only %v, no_new_privs %v", tc.name, s.Root.Readonly, s.Process.NoNewPrivileges)
		}
	}
}

func ptr[T any](v T) *T { return &v }
