package cgroupfs

import (
	"slices"
	"testing"
)

const hybridMountinfo = `25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
36 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
37 31 0:32 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,devices
38 31 0:33 /nested /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
39 31 0:34 / /mnt/my\040cpuset rw,relatime shared:18 - cgroup cgroup rw,cpuset,clone_children`

func TestDirs(t *testing.T) {
	for _, tc := range []struct {
		name, proc, mountinfo string
		want                  []Dir
	}{
		{"hybrid", "9:name=systemd:/machine.slice/berth-a.service\n" +
			"5:devices:/machine.slice/berth-a.service\n" +
			"2:cpu,cpuacct:/machine.slice/berth-a.service\n" +
			"0::/machine.slice/berth-a.service/payload\n", hybridMountinfo,
			[]Dir{
				{"/sys/fs/cgroup/systemd/machine.slice/berth-a.service", false},
				{"/sys/fs/cgroup/devices/machine.slice/berth-a.service", false},
				{"/sys/fs/cgroup/cpu,cpuacct/machine.slice/berth-a.service", false},
				{"/sys/fs/cgroup/unified/machine.slice/berth-a.service/payload", true},
			}},
		{"mount root not /", "4:memory:/nested/machine.slice/x\n4:memory:/elsewhere\n", hybridMountinfo,
			[]Dir{{"/sys/fs/cgroup/memory/machine.slice/x", false}}},
		{"root prefix is not a path prefix", "4:memory:/nestedother\n", hybridMountinfo, nil},
		{"escaped mount point, controller order", "3:cpuset:/a\n", hybridMountinfo,
			[]Dir{{"/mnt/my cpuset/a", false}}},
		{"unmounted hierarchy", "7:blkio:/a\n", hybridMountinfo, nil},
		{"unified", "0::/system.slice/x.service\n",
			"30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
			[]Dir{{"/sys/fs/cgroup/system.slice/x.service", true}}},
	} {
		got := Dirs(tc.proc, tc.mountinfo)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}
