package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/machine"
	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"
)

// apiSample is berth stats' sample with the host's CPU time beside it:
// the docker CLI computes CPU % as the container's share of the host's
// CPU time between two samples, times the number of CPUs.
type apiSample struct {
	sample
	sysNanos uint64
	cpus     uint32
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on Linux.
const clockTicks = 100

// parseProcStat reads /proc/stat: the host's CPU time (every state of
// the "cpu" line) in nanoseconds, and the number of CPUs (cpuN lines).
func parseProcStat(r io.Reader) (nanos uint64, cpus uint32, err error) {
	sc := bufio.NewScanner(r)
	found := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			cpus++
			continue
		}
		found = true
		var ticks uint64
		for _, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/stat: cpu line %q: %w", sc.Text(), err)
			}
			ticks += n
		}
		nanos = ticks * (1e9 / clockTicks)
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if !found {
		return 0, 0, fmt.Errorf("/proc/stat has no cpu line")
	}
	return nanos, cpus, nil
}

// apiTake samples rec (none if it does not run) and the host's CPU time.
func (h *host) apiTake(r *http.Request, rec *machine.Container) apiSample {
	s := apiSample{sample: h.sampleAll(r.Context(), []*machine.Container{rec})[0]}
	if f, err := os.Open("/proc/stat"); err == nil {
		s.sysNanos, s.cpus, _ = parseProcStat(f)
		f.Close()
	}
	return s
}

// statsResponse is Docker's stats object for cur, with prev as its
// "pre" sample (zero for none). Memory usage is berth stats' (without
// the inactive file cache) and no cache figure is given, so the CLI
// subtracts nothing more.
func statsResponse(rec *machine.Container, prev, cur apiSample) container.StatsResponse {
	out := container.StatsResponse{Name: "/" + rec.Name, ID: rec.ID, Read: cur.at, PreRead: prev.at}
	cpuStats := func(s apiSample) container.CPUStats {
		if !s.ok {
			return container.CPUStats{}
		}
		return container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: s.st.CPUNanos}, SystemUsage: s.sysNanos, OnlineCPUs: s.cpus}
	}
	out.CPUStats, out.PreCPUStats = cpuStats(cur), cpuStats(prev)
	if !cur.ok {
		return out
	}
	limit := cur.st.MemLimit
	if limit == 0 {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			limit = si.Totalram * uint64(si.Unit)
		}
	}
	out.MemoryStats = container.MemoryStats{Usage: cur.st.MemUsage, Limit: limit, Stats: map[string]uint64{}}
	out.PidsStats = container.PidsStats{Current: cur.st.PIDs}
	out.BlkioStats.IoServiceBytesRecursive = []container.BlkioStatEntry{{Op: "read", Value: cur.st.BlockRead}, {Op: "write", Value: cur.st.BlockWrite}}
	out.Networks = map[string]container.NetworkStats{"eth0": {RxBytes: cur.rx, TxBytes: cur.tx}}
	return out
}

// containerStats is GET /containers/{id}/stats (docker stats): with
// stream (the default) an object a second until the client leaves or
// the container is removed; without, one object whose "pre" sample is a
// second older (one-shot: no pre sample, no wait).
func (s *apiServer) containerStats(w http.ResponseWriter, r *http.Request) {
	s.withContainer(w, r, func(h *host, rec *machine.Container) error {
		stream := r.URL.Query().Get("stream") == "" || boolParam(r, "stream")
		oneShot := boolParam(r, "one-shot")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		var prev apiSample
		cur := h.apiTake(r, rec)
		if !stream && !oneShot {
			select {
			case <-r.Context().Done():
				return nil
			case <-time.After(time.Second):
			}
			prev, cur = cur, h.apiTake(r, rec)
		}
		for {
			if err := jsonLine(w, statsResponse(rec, prev, cur)); err != nil || !stream {
				return nil
			}
			select {
			case <-r.Context().Done():
				return nil
			case <-time.After(time.Second):
			}
			next, err := h.cs.Load(rec.ID)
			if err != nil {
				return nil // removed: Docker ends the stream too
			}
			rec = next
			prev, cur = cur, h.apiTake(r, rec)
		}
	})
}
