package main

import (
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/cgroup"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, in string
		nanos    uint64
		cpus     uint32
		bad      bool
	}{
		{"two cpus", "cpu  100 0 50 800 10 0 5 0 0 0\ncpu0 50 0 25 400 5 0 2 0 0 0\ncpu1 50 0 25 400 5 0 3 0 0 0\nintr 1 2\nctxt 5\n",
			965 * 10_000_000, 2, false},
		{"no cpu line", "intr 1\n", 0, 0, true},
		{"garbage", "cpu  1 x\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nanos, cpus, err := parseProcStat(strings.NewReader(tt.in))
			if (err != nil) != tt.bad || nanos != tt.nanos || cpus != tt.cpus {
				t.Errorf("parseProcStat = %d, %d, %v; want %d, %d, error %v", nanos, cpus, err, tt.nanos, tt.cpus, tt.bad)
			}
		})
	}
}

// TestStatsResponse: the fields the docker CLI reads for its table.
func TestStatsResponse(t *testing.T) {
	rec := &machine.Container{ID: "abc", Name: "web"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev := apiSample{sample: sample{at: t0, ok: true, st: cgroup.Stats{CPUNanos: 1e9}}, sysNanos: 100e9, cpus: 2}
	cur := apiSample{sample: sample{at: t0.Add(time.Second), ok: true, rx: 10, tx: 20,
		st: cgroup.Stats{CPUNanos: 2e9, MemUsage: 32 << 20, MemLimit: 64 << 20, PIDs: 3, BlockRead: 7, BlockWrite: 9}}, sysNanos: 102e9, cpus: 2}
	got := statsResponse(rec, prev, cur)
	// The CLI: (cpu delta / system delta) * CPUs * 100 = 100%.
	cpu := float64(got.CPUStats.CPUUsage.TotalUsage-got.PreCPUStats.CPUUsage.TotalUsage) /
		float64(got.CPUStats.SystemUsage-got.PreCPUStats.SystemUsage) * float64(got.CPUStats.OnlineCPUs) * 100
	if cpu != 100 || got.Name != "/web" || got.ID != "abc" || !got.PreRead.Equal(t0) {
		t.Errorf("cpu %.1f%%, name %q, id %q, preread %v", cpu, got.Name, got.ID, got.PreRead)
	}
	if m := got.MemoryStats; m.Usage != 32<<20 || m.Limit != 64<<20 || got.PidsStats.Current != 3 {
		t.Errorf("memory %+v, pids %d", m, got.PidsStats.Current)
	}
	if b := got.BlkioStats.IoServiceBytesRecursive; len(b) != 2 || b[0].Op != "read" || b[0].Value != 7 || b[1].Value != 9 {
		t.Errorf("block I/O %+v", b)
	}
	if n := got.Networks["eth0"]; n.RxBytes != 10 || n.TxBytes != 20 {
		t.Errorf("networks %+v", got.Networks)
	}
	// Not running: zeros, as Docker's for a stopped container.
	if z := statsResponse(rec, apiSample{}, apiSample{}); z.MemoryStats.Usage != 0 || z.PidsStats.Current != 0 || z.Networks != nil || z.CPUStats.OnlineCPUs != 0 {
		t.Errorf("stats of a stopped container: %+v", z)
	}
}

func TestHistoryItems(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	img := imagestore.Image{ID: digest.FromString("config"), Names: []string{"app:1"}}
	hist := []imagestore.HistoryEntry{
		{History: ocispec.History{Created: &created, CreatedBy: "COPY x /", Comment: "by hand"}, Size: 42},
		{History: ocispec.History{CreatedBy: "/bin/sh -c #(nop) CMD [\"sh\"]"}},
	}
	got := historyItems(img, hist)
	if len(got) != 2 || got[0].ID != img.ID.String() || got[0].Tags[0] != "app:1" || got[0].Created != created.Unix() ||
		got[0].Size != 42 || got[0].Comment != "by hand" || got[1].ID != "<missing>" || got[1].Tags != nil || got[1].Created != 0 {
		t.Errorf("historyItems = %+v", got)
	}
	if got := historyItems(img, nil); got == nil || len(got) != 0 {
		t.Errorf("historyItems of no history = %#v, want an empty list (JSON [])", got)
	}
}
