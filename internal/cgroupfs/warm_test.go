package cgroupfs

import (
	"errors"
	"os"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

const warmMountinfo = `25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
36 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct`

const v1Mountinfo = `31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
36 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct`

func TestWarmDir(t *testing.T) {
	for _, tc := range []struct {
		name, proc, mountinfo, want string
	}{
		{"hybrid: the unified hierarchy", "2:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n",
			warmMountinfo, "/sys/fs/cgroup/unified/user.slice/session-1.scope"},
		{"v1 only: the first hierarchy", "2:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/session-1.scope\n",
			v1Mountinfo, "/sys/fs/cgroup/cpu,cpuacct/user.slice"},
		{"outside the cgroup namespace", "1:name=systemd:/../../exec\n0::/../../exec\n", warmMountinfo, ""},
		{"a v1 hierarchy outside it", "2:cpu,cpuacct:/../exec\n0::/user.slice\n", warmMountinfo, "/sys/fs/cgroup/unified/user.slice"},
		{"the unified one outside it", "2:cpu,cpuacct:/user.slice\n0::/../exec\n", warmMountinfo, "/sys/fs/cgroup/cpu,cpuacct/user.slice"},
		{"no cgroup mounts", "0::/user.slice\n", "25 30 0:22 / /sys rw - sysfs sysfs rw", ""},
		{"the root cgroup", "0::/\n", warmMountinfo, "/sys/fs/cgroup/unified"},
	} {
		if got := warmDir(tc.proc, tc.mountinfo); got != tc.want {
			t.Errorf("%s: warmDir = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The migration moves nothing: the process is in the same cgroups
// afterwards, and the write succeeds wherever its cgroup can be named.
// Needs root (cgroup.procs is root's).
func TestWarmAttachMovesNothing(t *testing.T) {
	testutil.RequiresRoot(t)
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	err = warmAttach()
	if err != nil && !errors.Is(err, errNoCgroup) {
		t.Fatalf("warmAttach: %v", err)
	}
	after, _ := os.ReadFile("/proc/self/cgroup")
	if string(after) != string(before) {
		t.Fatalf("warmAttach moved the process:\nbefore: %s\nafter:  %s", before, after)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if dir := warmDir(string(before), string(mi)); (dir == "") != errors.Is(err, errNoCgroup) {
		t.Fatalf("cgroup %q, warmAttach error %v", dir, err)
	}
}
