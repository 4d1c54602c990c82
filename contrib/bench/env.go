package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// environment is what the numbers were measured on and with.
type environment struct {
	Date                  time.Time
	OS, Kernel, CPU, Virt string
	CPUs                  int
	MemGiB                float64
	LoadStart, LoadEnd    string
	Go, Systemd           string
	Podman, Conmon, Crun  string
	Buildah, Compose      string
	PodmanSetup           string // storage driver, cgroup manager, cgroup version
	Berth, Rev            string
	Docker                string // the docker CLI's version, for docker run through berth's API
	Runs, Warmup          int
}

func collectEnvironment(ctx context.Context) *environment {
	e := &environment{Date: time.Now().UTC(), CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadavg()}
	e.OS = osRelease()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	e.CPU = procField("/proc/cpuinfo", "model name")
	var kb int64
	fmt.Sscan(procField("/proc/meminfo", "MemTotal"), &kb)
	e.MemGiB = float64(kb) / (1 << 20)
	// Exits 1 and prints "none" on bare metal.
	out, _ := exec.CommandContext(ctx, "systemd-detect-virt", "--vm").Output()
	e.Virt = strings.TrimSpace(string(out))
	e.Systemd = firstLine(ctx, "systemctl", "--version")
	e.Podman = strings.TrimPrefix(firstLine(ctx, "podman", "--version"), "podman version ")
	e.Conmon = strings.TrimPrefix(firstLine(ctx, "conmon", "--version"), "conmon version ")
	e.Crun = strings.TrimPrefix(firstLine(ctx, "crun", "--version"), "crun version ")
	e.Buildah = firstLine(ctx, "buildah", "--version")
	e.Compose = "podman-compose " + strings.TrimPrefix(firstLine(ctx, "dpkg-query", "-W", "-f=${Version}", "podman-compose"), "podman-compose ")
	return e
}

// firstLine is the first line argv prints, or "?" when it fails.
func firstLine(ctx context.Context, argv ...string) string {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		return "?"
	}
	l, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(l)
}

// procField returns the value of the first "key: value" line of file.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func osRelease() string {
	name := "?"
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				name = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		name += " " + strings.TrimSpace(string(b))
	}
	return name
}

// loadavg is the 1-minute load average: other work on the machine
// skews the numbers.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
