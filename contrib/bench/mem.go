package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// proc is one process and its resident memory, in KiB.
type proc struct {
	PID            int
	Comm, Args     string
	RSS, Anon, PSS int64
	exe, pidNS     string
}

// readProc reads what the memory report needs of /proc/PID.
func readProc(pid int) (proc, error) {
	p := proc{PID: pid}
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return p, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch k {
		case "Name":
			p.Comm = strings.TrimSpace(v)
		case "VmRSS":
			p.RSS = kbField(v)
		case "RssAnon":
			p.Anon = kbField(v)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "smaps_rollup")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, _ := strings.Cut(sc.Text(), ":"); k == "Pss" {
				p.PSS = kbField(v)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Args = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	p.exe, _ = os.Readlink(filepath.Join(dir, "exe"))
	p.pidNS, _ = os.Readlink(filepath.Join(dir, "ns", "pid"))
	return p, nil
}

// kbField parses "   1234 kB".
func kbField(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n
}

// allPIDs lists the processes of this PID namespace.
func allPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procsNamed lists the processes whose comm is one of names.
func procsNamed(names ...string) []int {
	var out []int
	for _, pid := range allPIDs() {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		if err != nil {
			continue
		}
		comm := strings.TrimSpace(string(b))
		for _, n := range names {
			if comm == n {
				out = append(out, pid)
			}
		}
	}
	return out
}

// cgroupDir is where systemd's cgroup path cg is mounted: the named
// systemd hierarchy on a hybrid host, else the unified one.
func cgroupDir(cg string) (string, error) {
	for _, root := range []string{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		d := filepath.Join(root, cg)
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("cgroup %s is not mounted", cg)
}

// cgroupPIDs lists every process in dir and the cgroups below it.
func cgroupPIDs(dir string) []int {
	var pids []int
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		return nil
	})
	return pids
}

// idle is what one engine keeps resident for an idle container.
type idle struct {
	Engine    string
	Command   []string
	Container proc   // the container's own process (sleep)
	Extra     []proc // every process the engine keeps besides it
	Stray     []proc // processes of the engine's own binary still alive, if any
}

func (i idle) extraRSS() (rss, pss, anon int64) {
	for _, p := range i.Extra {
		rss, pss, anon = rss+p.RSS, pss+p.PSS, anon+p.Anon
	}
	return
}

// memory starts one idle container with each engine and reads what it
// keeps resident besides the container's own process.
func (b *bench) memory(ctx context.Context) ([]idle, error) {
	bi, err := b.berthIdle(ctx)
	if err != nil {
		return nil, err
	}
	pi, err := b.podmanIdle(ctx)
	if err != nil {
		return nil, err
	}
	return []idle{bi, pi}, nil
}

func (b *bench) berthIdle(ctx context.Context) (idle, error) {
	argv := []string{b.berth, "run", "-d", "--network", "none", "--name", idleName, "busybox", "sleep", "1000"}
	res := idle{Engine: "berth", Command: argv}
	if _, err := quiet(ctx, argv...); err != nil {
		return res, err
	}
	b.atExit(func() { bestEffort(b.berth, "rm", "-f", idleName) })
	unit := "berth-" + idleName + ".service"
	show, err := quiet(ctx, "systemctl", "show", "-p", "MainPID", "-p", "ControlGroup", "-p", "ActiveState", unit)
	if err != nil {
		return res, err
	}
	props := map[string]string{}
	for _, l := range strings.Split(show, "\n") {
		k, v, _ := strings.Cut(l, "=")
		props[k] = v
	}
	if props["ActiveState"] != "active" || props["ControlGroup"] == "" {
		return res, fmt.Errorf("%s: %s", unit, strings.ReplaceAll(show, "\n", ", "))
	}
	dir, err := cgroupDir(props["ControlGroup"])
	if err != nil {
		return res, err
	}
	self, _ := os.Readlink("/proc/self/ns/pid")
	// The unit's start job is done when `run -d` returns, but berth's
	// __init may take a moment more to exit: give it a second.
	deadline := time.Now().Add(time.Second)
	for {
		res.Extra, res.Container = nil, proc{}
		for _, pid := range cgroupPIDs(dir) {
			p, err := readProc(pid)
			if err != nil {
				continue // gone meanwhile
			}
			if p.pidNS == self {
				res.Extra = append(res.Extra, p)
			} else if p.Comm == "sleep" {
				res.Container = p
			}
		}
		if len(res.Extra) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res.Container.PID == 0 {
		return res, fmt.Errorf("no sleep process in %s", dir)
	}
	for _, pid := range allPIDs() {
		if p, err := readProc(pid); err == nil && p.exe == b.berth {
			res.Stray = append(res.Stray, p)
		}
	}
	return res, nil
}

func (b *bench) podmanIdle(ctx context.Context) (idle, error) {
	argv := []string{"podman", "run", "-d", "--name", idleName, "--runtime", "crun", "--network", "none", "localhost/busybox", "sleep", "1000"}
	res := idle{Engine: "podman", Command: argv}
	if _, err := quiet(ctx, argv...); err != nil {
		return res, err
	}
	b.atExit(func() { bestEffort("podman", "rm", "-f", "-t", "0", idleName) })
	pids, err := quiet(ctx, "podman", "inspect", "-f", "{{.State.ConmonPid}} {{.State.Pid}} {{.HostConfig.LogConfig.Type}}", idleName)
	if err != nil {
		return res, err
	}
	var conmon, pid int
	var logDriver string
	if _, err := fmt.Sscan(pids, &conmon, &pid, &logDriver); err != nil || conmon == 0 || pid == 0 {
		return res, fmt.Errorf("podman inspect: conmon and container PIDs %q", pids)
	}
	b.env.PodmanSetup += ", log driver " + logDriver
	// Let the podman client that started it exit.
	poll(ctx, "podman run -d", func() (bool, error) { return len(procsNamed("podman")) == 0, nil })
	c, err := readProc(conmon)
	if err != nil {
		return res, fmt.Errorf("conmon %d: %w", conmon, err)
	}
	res.Extra = []proc{c}
	if res.Container, err = readProc(pid); err != nil {
		return res, fmt.Errorf("container process %d: %w", pid, err)
	}
	for _, p := range procsNamed("podman") {
		if p, err := readProc(p); err == nil {
			res.Stray = append(res.Stray, p)
		}
	}
	return res, nil
}
