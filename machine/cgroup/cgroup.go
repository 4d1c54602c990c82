package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoFreezer is Freeze's error on a host without a cgroup2 hierarchy.
var ErrNoFreezer = errors.New("this host has no cgroup v2 hierarchy, so no freezer for containers")

// FS is a cgroup file system mounted at Root.
type FS struct {
	Root string
}

// Host is the host's cgroup file system.
var Host = FS{Root: "/sys/fs/cgroup"}

// unified is the directory of cgroup (a path like
// /machine.slice/x.service) in the cgroup2 hierarchy, or "".
func (f FS) unified(cg string) string {
	if exists(filepath.Join(f.Root, "cgroup.controllers")) {
		return filepath.Join(f.Root, cg)
	}
	if exists(filepath.Join(f.Root, "unified", "cgroup.procs")) {
		return filepath.Join(f.Root, "unified", cg)
	}
	return ""
}

// v1 is the directory of cgroup in the v1 hierarchy of controller, or
// "" when the unit has none there.
func (f FS) v1(controller, cg string) string {
	d := filepath.Join(f.Root, controller, cg)
	if exists(filepath.Join(f.Root, "cgroup.controllers")) || !exists(d) {
		return ""
	}
	return d
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// PIDs lists the processes of cgroup and its descendants, sorted.
func (f FS) PIDs(cg string) ([]int, error) {
	dir := f.unified(cg)
	if dir == "" {
		dir = filepath.Join(f.Root, "systemd", cg) // legacy: systemd's own hierarchy
	}
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // a child cgroup went away meanwhile
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, l := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(l); err == nil {
				pids = append(pids, n)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("processes of cgroup %s: %w", cg, err)
	}
	slices.Sort(pids)
	return pids, nil
}

// Stats are a cgroup's counters at one moment. MemLimit is 0 when there
// is no limit.
type Stats struct {
	CPUNanos              uint64
	MemUsage, MemLimit    uint64
	PIDs                  uint64
	BlockRead, BlockWrite uint64
}

// noLimit is at or above what v1 reports for "no memory limit".
const noLimit = 1 << 62

// Stats reads cgroup's counters. Memory usage is Docker's: the
// charged memory less the inactive file cache, which the kernel would
// drop first. A counter the host does not keep reads as 0.
func (f FS) Stats(cg string) (Stats, error) {
	var s Stats
	u := f.unified(cg)
	if u != "" && !exists(u) {
		return s, fmt.Errorf("cgroup %s: %w", cg, fs.ErrNotExist)
	}
	// CPU: cpu.stat's usage_usec is cgroup2's core accounting.
	if d := f.v1("cpuacct", cg); d != "" {
		s.CPUNanos = readUint(filepath.Join(d, "cpuacct.usage"))
	} else if u != "" {
		s.CPUNanos = keyed(filepath.Join(u, "cpu.stat"), "usage_usec") * 1000
	}
	if d := f.v1("memory", cg); d != "" {
		s.MemUsage = sub(readUint(filepath.Join(d, "memory.usage_in_bytes")), keyed(filepath.Join(d, "memory.stat"), "total_inactive_file"))
		if l := readUint(filepath.Join(d, "memory.limit_in_bytes")); l < noLimit {
			s.MemLimit = l
		}
	} else if u != "" {
		s.MemUsage = sub(readUint(filepath.Join(u, "memory.current")), keyed(filepath.Join(u, "memory.stat"), "inactive_file"))
		s.MemLimit = readUint(filepath.Join(u, "memory.max")) // "max" reads as 0
	}
	if d := f.v1("pids", cg); d != "" {
		s.PIDs = readUint(filepath.Join(d, "pids.current"))
	} else if u != "" && exists(filepath.Join(u, "pids.current")) {
		s.PIDs = readUint(filepath.Join(u, "pids.current"))
	} else if pids, err := f.PIDs(cg); err == nil {
		s.PIDs = uint64(len(pids))
	}
	if d := f.v1("blkio", cg); d != "" {
		s.BlockRead, s.BlockWrite = blkioV1(filepath.Join(d, "blkio.throttle.io_service_bytes_recursive"))
	} else if u != "" {
		s.BlockRead, s.BlockWrite = ioStat(filepath.Join(u, "io.stat"))
	}
	return s, nil
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func readUint(p string) uint64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// keyed reads "key value" lines (cpu.stat, memory.stat).
func keyed(p, key string) uint64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), " "); ok && k == key {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	return 0
}

// blkioV1 sums "MAJ:MIN Read|Write N" lines.
func blkioV1(p string) (r, w uint64) {
	b, _ := os.ReadFile(p)
	for l := range strings.Lines(string(b)) {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		n, _ := strconv.ParseUint(f[2], 10, 64)
		switch f[1] {
		case "Read":
			r += n
		case "Write":
			w += n
		}
	}
	return r, w
}

// ioStat sums rbytes= and wbytes= over io.stat's devices.
func ioStat(p string) (r, w uint64) {
	b, _ := os.ReadFile(p)
	for _, f := range strings.Fields(string(b)) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "rbytes":
			r += n
		case "wbytes":
			w += n
		}
	}
	return r, w
}

// NetDev sums the received and sent bytes of /proc/PID/net/dev's
// interfaces but the loopback, as Docker's NET I/O.
func NetDev(r io.Reader) (rx, tx uint64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		a, _ := strconv.ParseUint(f[0], 10, 64)
		b, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+a, tx+b
	}
	return rx, tx, sc.Err()
}

// Freeze freezes (or thaws) cgroup with the cgroup2 freezer and waits
// until the kernel reports it so in cgroup.events, at most timeout.
func (f FS) Freeze(cg string, frozen bool, timeout time.Duration) error {
	u := f.unified(cg)
	if u == "" {
		return ErrNoFreezer
	}
	v, want := "0", "frozen 0"
	if frozen {
		v, want = "1", "frozen 1"
	}
	if err := os.WriteFile(filepath.Join(u, "cgroup.freeze"), []byte(v), 0); err != nil {
		return fmt.Errorf("freezer of cgroup %s: %w", cg, err)
	}
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(u, "cgroup.events"))
		if err != nil {
			return fmt.Errorf("freezer of cgroup %s: %w", cg, err)
		}
		if slices.Contains(strings.Split(string(b), "\n"), want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("freezer of cgroup %s: not %s after %v", cg, strings.Fields(want)[0]+"="+v, timeout)
		}
	}
}

// Frozen reports whether cgroup is frozen by the cgroup2 freezer.
func (f FS) Frozen(cg string) bool {
	u := f.unified(cg)
	return u != "" && readUint(filepath.Join(u, "cgroup.freeze")) == 1
}
