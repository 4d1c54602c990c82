package machine

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/berth/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseDevice(t *testing.T) {
	tests := []struct {
		in      string
		want    Device
		wantErr bool
	}{
		{"/dev/fuse", Device{HostPath: "/dev/fuse", ContainerPath: "/dev/fuse", Permissions: "rwm"}, false},
		{"/dev/fuse:r", Device{HostPath: "/dev/fuse", ContainerPath: "/dev/fuse", Permissions: "r"}, false},
		{"/dev/sdb:/dev/xvdb", Device{HostPath: "/dev/sdb", ContainerPath: "/dev/xvdb", Permissions: "rwm"}, false},
		{"/dev/sdb:/dev/xvdb:rw", Device{HostPath: "/dev/sdb", ContainerPath: "/dev/xvdb", Permissions: "rw"}, false},
		{"/dev/sdb:/dev/xvdb:rwx", Device{}, true},
		{"/dev/sdb:/dev/xvdb:rr", Device{}, true},
		{"dev/sdb", Device{}, true},
		{"/dev/sdb:/etc/passwd", Device{}, true},
		{"/dev/sdb:/dev/../etc/x", Device{}, true},
		{"/dev/sdb:/dev", Device{}, true},
		{"/a:/dev/b:r:x", Device{}, true},
	}
	for _, tt := range tests {
		got, err := ParseDevice(tt.in)
		if tt.wantErr {
			if !errdefs.IsInvalid(err) {
				t.Errorf("ParseDevice(%q) = %+v, %v; want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDevice(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestDeviceProperties(t *testing.T) {
	tun := Device{HostPath: "/dev/net/tun", ContainerPath: "/dev/net/tun", Permissions: "rw", Type: "c", Major: 10, Minor: 200, Mode: 0o600}
	tests := []struct {
		name       string
		o          RunOptions
		policy     string
		allow      []DeviceRule
		unitFile   []string
		notAllowed string
	}{
		{"default", RunOptions{}, "closed", DefaultDeviceAllow,
			[]string{"DevicePolicy=closed", "DeviceAllow=char-* m", "DeviceAllow=block-* m", "DeviceAllow=char-pts rwm", "DeviceAllow=/dev/tty rwm"}, "/dev/net/tun"},
		{"device", RunOptions{Devices: []Device{tun}}, "closed", append(slices.Clone(DefaultDeviceAllow), DeviceRule{"/dev/net/tun", "rw"}),
			[]string{"DevicePolicy=closed", "DeviceAllow=/dev/net/tun rw"}, ""},
		{"privileged", RunOptions{Privileged: true}, "auto", nil, []string{"DevicePolicy=auto"}, "DeviceAllow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := UnitProperties(unitRecord(tt.o), testExe, testStateRoot)
			got := propMap(t, props)
			if got["DevicePolicy"] != tt.policy {
				t.Errorf("DevicePolicy = %v, want %s", got["DevicePolicy"], tt.policy)
			}
			allow, _ := got["DeviceAllow"].([]DeviceRule)
			if !slices.Equal(allow, tt.allow) {
				t.Errorf("DeviceAllow = %v, want %v", allow, tt.allow)
			}
			file, err := RenderUnitFile(props, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.unitFile {
				if !strings.Contains(file, "\n"+l+"\n") {
					t.Errorf("unit file lacks %q:\n%s", l, file)
				}
			}
			if tt.notAllowed != "" && strings.Contains(file, tt.notAllowed) {
				t.Errorf("unit file has %q:\n%s", tt.notAllowed, file)
			}
		})
	}
	if _, err := RenderUnitFile([]Property{{"DeviceAllow", []DeviceRule{{"/dev/a b", "rw"}}}}, nil); err == nil {
		t.Error("a device path with a space was written")
	}
}

func TestBuildSpecPrivilegedAndDevices(t *testing.T) {
	tun := Device{HostPath: "/dev/net/tun", ContainerPath: "/dev/tun0", Permissions: "rw", Type: "c", Major: 10, Minor: 200, Mode: 0o600}
	for _, tc := range []struct {
		name string
		o    RunOptions
		nnp  bool
	}{
		{"privileged", RunOptions{Privileged: true, CapDrop: []string{"ALL"}, Seccomp: `{"defaultAction":"SCMP_ACT_ERRNO"}`}, false},
		{"privileged, no-new-privileges", RunOptions{Privileged: true, NoNewPrivileges: true}, true},
	} {
		o := tc.o
		o.Image, o.Cmd = "busybox", []string{"true"}
		s, err := BuildSpec(ocispec.ImageConfig{}, o, testID, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(s.Process.Capabilities.Bounding, AllCapabilities) {
			t.Errorf("%s: capabilities %v, want all", tc.name, s.Process.Capabilities.Bounding)
		}
		if s.Linux.Seccomp != nil || len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
			t.Errorf("%s: seccomp %v, masked %v, read-only %v; want none", tc.name, s.Linux.Seccomp != nil, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
		}
		if s.Process.NoNewPrivileges != tc.nnp {
			t.Errorf("%s: no_new_privs %v, want %v", tc.name, s.Process.NoNewPrivileges, tc.nnp)
		}
		for _, m := range s.Mounts {
			if strings.HasPrefix(m.Destination, "/sys") && slices.Contains(m.Options, "ro") {
				t.Errorf("%s: %s is read-only", tc.name, m.Destination)
			}
		}
		if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Access != "rwm" {
			t.Errorf("%s: device rules %+v, want allow all", tc.name, d)
		}
	}

	s, err := BuildSpec(ocispec.ImageConfig{}, RunOptions{Image: "busybox", Cmd: []string{"true"}, Devices: []Device{tun}}, testID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/tun0" || s.Linux.Devices[0].Major != 10 || s.Linux.Devices[0].Minor != 200 ||
		s.Linux.Devices[0].Type != "c" || *s.Linux.Devices[0].FileMode != 0o600 {
		t.Errorf("devices %+v", s.Linux.Devices)
	}
	rules := s.Linux.Resources.Devices
	if len(rules) != 2 || rules[0].Allow || !rules[1].Allow || *rules[1].Major != 10 || rules[1].Access != "rw" {
		t.Errorf("device rules %+v, want deny all then allow 10:200 rw", rules)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys" && !slices.Contains(m.Options, "ro") {
			t.Errorf("/sys is writable without --privileged")
		}
	}
	if len(s.Linux.MaskedPaths) == 0 || s.Linux.Seccomp == nil || !s.Process.NoNewPrivileges {
		t.Errorf("defaults lost: masked %v, seccomp %v, nnp %v", s.Linux.MaskedPaths, s.Linux.Seccomp != nil, s.Process.NoNewPrivileges)
	}
}

func TestGroupAdd(t *testing.T) {
	root := fstest.MapFS{
		"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:100:101::/home/app:/bin/sh\n")},
		"etc/group":  {Data: []byte("root:x:0:\napp:x:101:\naudio:x:29:app\nvideo:x:44:\n")},
	}
	tests := []struct {
		user    string
		add     []string
		want    []uint32
		wantErr string
	}{
		{"app", nil, []uint32{29}, ""},
		{"app", []string{"video", "1234"}, []uint32{29, 44, 1234}, ""},
		{"app", []string{"audio"}, []uint32{29}, ""},
		{"", []string{"44"}, []uint32{44}, ""},
		{"app", []string{"nosuch"}, nil, "unable to find group nosuch"},
		{"app", []string{"-1"}, nil, "invalid group"},
	}
	for _, tt := range tests {
		o := RunOptions{Image: "busybox", Cmd: []string{"true"}, User: tt.user, GroupAdd: tt.add}
		s, err := BuildSpec(ocispec.ImageConfig{}, o, testID, root)
		if tt.wantErr != "" {
			if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s %v: %v, want %q", tt.user, tt.add, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s %v: %v", tt.user, tt.add, err)
		}
		if got := s.Process.User.AdditionalGids; !slices.Equal(got, tt.want) {
			t.Errorf("%s %v: groups %v, want %v", tt.user, tt.add, got, tt.want)
		}
	}
}
