package main

import (
	"sort"
	"strings"
	"testing"
)

const hybridCgroup = `9:name=systemd:/
4:memory:/process_api/ba76
2:cpu,cpuacct:/
0::/
`

const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:38 /sub /mnt/cg\040bind rw,relatime - cgroup2 cgroup2 rw
`

func TestMatchHierarchies(t *testing.T) {
	procs, err := parseProcCgroup(strings.NewReader(hybridCgroup))
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := parseMountinfo(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range matchHierarchies(procs, mounts) {
		got = append(got, h.dir(h.Own+"/x"))
	}
	sort.Strings(got)
	want := []string{
		"/sys/fs/cgroup/cpu,cpuacct/x",
		"/sys/fs/cgroup/memory/process_api/ba76/x",
		"/sys/fs/cgroup/systemd/x",
		"/sys/fs/cgroup/unified/x",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name, line string
		want       mountEntry
		wantErr    bool
	}{
		{"escaped space", `50 31 0:38 /sub /mnt/cg\040bind rw,relatime - cgroup2 cgroup2 rw`,
			mountEntry{Root: "/sub", Point: "/mnt/cg bind", FSType: "cgroup2", Source: "cgroup2", SuperOpts: "rw"}, false},
		{"optional fields", `60 1 0:40 / /run/x rw shared:5 master:2 - tmpfs tmpfs rw,size=4k`,
			mountEntry{Root: "/", Point: "/run/x", FSType: "tmpfs", Source: "tmpfs", SuperOpts: "rw,size=4k"}, false},
		{"truncated", `60 1 0:40 / /run/x`, mountEntry{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := parseMountinfo(strings.NewReader(tt.line + "\n"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && ms[0] != tt.want {
				t.Errorf("got %+v, want %+v", ms[0], tt.want)
			}
		})
	}
}

func TestStatusFields(t *testing.T) {
	ppid, nspid := statusFields([]byte("Name:\tsystemd\nPPid:\t4642\nNSpid:\t4644\t1\n"))
	if ppid != 4642 || strings.Join(nspid, ",") != "4644,1" {
		t.Errorf("got ppid %d nspid %v", ppid, nspid)
	}
}
