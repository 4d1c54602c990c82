package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/machine"
)

// TestSecurityFlagErrors: bad security flags are usage errors (125)
// before anything is created or systemd is reached.
func TestSecurityFlagErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, nil, 0o644)
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte("{nope"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown security-opt", []string{"run", "--security-opt", "apparmor=x", "busybox"}, "invalid --security-opt"},
		{"missing profile", []string{"run", "--security-opt", "seccomp=/nonexistent.json", "busybox"}, "opening seccomp profile (/nonexistent.json) failed"},
		{"empty profile", []string{"run", "--security-opt", "seccomp=" + empty, "busybox"}, "is empty"},
		{"profile not JSON", []string{"run", "--security-opt", "seccomp=" + notJSON, "busybox"}, "seccomp profile"},
		{"empty seccomp=", []string{"run", "--security-opt", "seccomp=", "busybox"}, "invalid --security-opt"},
		{"bad device mode", []string{"run", "--device", "/dev/null:/dev/n:rwx", "busybox"}, "invalid device mode: rwx"},
		{"relative device", []string{"run", "--device", "dev/null", "busybox"}, "is not an absolute path"},
		{"missing device", []string{"run", "--device", "/dev/nonexistent", "busybox"}, "error gathering device information"},
		{"not a device", []string{"run", "--device", empty + ":/dev/x", "busybox"}, "not a device node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, t.TempDir(), tc.args...)
			if code != exitEngine || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("berth %q: exit %d, stdout %q, stderr %q; want 125 and %q", tc.args, code, stdout, stderr, tc.want)
			}
		})
	}
}

func TestSecurityOptions(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "p.json")
	text := `{"defaultAction":"SCMP_ACT_ALLOW"}`
	os.WriteFile(profile, []byte(text), 0o644)
	for _, tc := range []struct {
		args    []string
		check   func(o machine.RunOptions) bool
		inspect []string
	}{
		{[]string{"--security-opt", "seccomp=unconfined"}, func(o machine.RunOptions) bool { return o.Seccomp == machine.SeccompUnconfined }, []string{"seccomp=unconfined"}},
		{[]string{"--security-opt", "seccomp=" + profile}, func(o machine.RunOptions) bool { return o.Seccomp == text }, []string{"seccomp=" + text}},
		{[]string{"--security-opt", "no-new-privileges=false"}, func(o machine.RunOptions) bool { return o.NewPrivileges && !o.NoNewPrivileges }, []string{"no-new-privileges=false"}},
		{[]string{"--security-opt", "no-new-privileges=false", "--security-opt", "no-new-privileges"}, func(o machine.RunOptions) bool { return !o.NewPrivileges && o.NoNewPrivileges }, []string{"no-new-privileges"}},
		{[]string{"--privileged", "--group-add", "audio"}, func(o machine.RunOptions) bool { return o.Privileged && slices.Equal(o.GroupAdd, []string{"audio"}) }, []string{}},
		{[]string{"--device", "/dev/null:/dev/mynull:r"}, func(o machine.RunOptions) bool {
			return len(o.Devices) == 1 && o.Devices[0].ContainerPath == "/dev/mynull" && o.Devices[0].Type == "c" &&
				o.Devices[0].Major == 1 && o.Devices[0].Minor == 3 && o.Devices[0].Permissions == "r"
		}, []string{}},
	} {
		fl := &runFlags{}
		cc := newCreateCommand(&globalOptions{})
		cc.ResetFlags()
		addRunFlags(cc, fl)
		if err := cc.Flags().Parse(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		o, err := fl.options(cc, []string{"busybox"})
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if !tc.check(o) {
			t.Errorf("%q: options %+v", tc.args, o)
		}
		if got := securityOpts(o); !slices.Equal(got, tc.inspect) {
			t.Errorf("%q: inspect SecurityOpt %q, want %q", tc.args, got, tc.inspect)
		}
	}
}
