package cgroup

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tree writes files (path → content) under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const cg = "/machine.slice/berth-web.service"

func TestStats(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  Stats
	}{
		{"hybrid (this testbed)", map[string]string{
			"unified/cgroup.procs":                   "",
			"unified" + cg + "/cgroup.procs":         "7\n",
			"unified" + cg + "/cpu.stat":             "usage_usec 1500\nuser_usec 1000\n",
			"memory" + cg + "/memory.usage_in_bytes": "10000\n",
			"memory" + cg + "/memory.limit_in_bytes": "67108864\n",
			"memory" + cg + "/memory.stat":           "cache 5\ntotal_inactive_file 4000\n",
			"pids" + cg + "/pids.current":            "3\n",
		}, Stats{CPUNanos: 1500000, MemUsage: 6000, MemLimit: 67108864, PIDs: 3}},
		{"hybrid without a memory limit", map[string]string{
			"unified/cgroup.procs":                                      "",
			"unified" + cg + "/cgroup.procs":                            "7\n8\n",
			"memory" + cg + "/memory.usage_in_bytes":                    "100\n",
			"memory" + cg + "/memory.limit_in_bytes":                    "9223372036854771712\n",
			"blkio" + cg + "/blkio.throttle.io_service_bytes_recursive": "8:0 Read 10\n8:0 Write 20\n8:16 Read 1\nTotal 31\n",
		}, Stats{MemUsage: 100, PIDs: 2, BlockRead: 11, BlockWrite: 20}},
		{"unified", map[string]string{
			"cgroup.controllers":                     "cpu memory pids io",
			cg + "/cgroup.procs":                     "7\n",
			cg + "/cpu.stat":                         "usage_usec 2\n",
			cg + "/memory.current":                   "8192\n",
			cg + "/memory.max":                       "max\n",
			cg + "/memory.stat":                      "anon 1\ninactive_file 4096\n",
			cg + "/pids.current":                     "4\n",
			cg + "/io.stat":                          "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n",
			"memory" + cg + "/memory.usage_in_bytes": "666", // a directory named memory in v2: not v1
		}, Stats{CPUNanos: 2000, MemUsage: 4096, PIDs: 4, BlockRead: 101, BlockWrite: 202}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FS{Root: tree(t, tt.files)}.Stats(cg)
			if err != nil || got != tt.want {
				t.Errorf("Stats = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestPIDs(t *testing.T) {
	root := tree(t, map[string]string{
		"unified/cgroup.procs":                   "1\n",
		"unified" + cg + "/cgroup.procs":         "30\n4\n",
		"unified" + cg + "/payload/cgroup.procs": "12\n",
	})
	got, err := FS{Root: root}.PIDs(cg)
	if err != nil || !slices.Equal(got, []int{4, 12, 30}) {
		t.Errorf("PIDs = %v, %v; want [4 12 30]", got, err)
	}
	if _, err := (FS{Root: root}).PIDs("/machine.slice/gone.service"); err == nil {
		t.Error("PIDs of a missing cgroup: no error")
	}
}

func TestNetDev(t *testing.T) {
	in := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     999       5    0    0    0     0          0         0      999       5    0    0    0     0       0          0
  eth0:     486       5    0    0    0     0          0         0      426       5    0    0    0     0       0          0
  eth1:      14       5    0    0    0     0          0         0        4       5    0    0    0     0       0          0
`
	rx, tx, err := NetDev(strings.NewReader(in))
	if err != nil || rx != 500 || tx != 430 {
		t.Errorf("NetDev = %d, %d, %v; want 500, 430", rx, tx, err)
	}
}

// Freeze writes cgroup.freeze and waits for the kernel's answer in
// cgroup.events (here written by the test, as the kernel would).
func TestFreeze(t *testing.T) {
	root := tree(t, map[string]string{"unified/cgroup.procs": "", "unified" + cg + "/cgroup.events": "populated 1\nfrozen 1\n", "unified" + cg + "/cgroup.freeze": "0\n"})
	f := FS{Root: root}
	if err := f.Freeze(cg, true, time.Second); err != nil || !f.Frozen(cg) {
		t.Errorf("Freeze = %v, Frozen = %v", err, f.Frozen(cg))
	}
	if err := f.Freeze(cg, false, 50*time.Millisecond); err == nil {
		t.Error("thaw that the kernel never reports: no error")
	}
	if err := (FS{Root: tree(t, map[string]string{"memory/x": ""})}).Freeze(cg, true, time.Second); err != ErrNoFreezer {
		t.Errorf("Freeze on a v1-only host = %v, want ErrNoFreezer", err)
	}
}
