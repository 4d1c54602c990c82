package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkGenerator100 is a whole generator run over one app of 100
// services: read the file, parse, render, write 100 service units and
// their oneshots and WantedBy= links into a fresh directory (goal, issue
// 7: under 50 ms). Run by hand: go test -run - -bench Generator ./cmd/berth
func BenchmarkGenerator100(b *testing.B) {
	var app strings.Builder
	app.WriteString("[network.back]\n[volume.data]\n")
	for i := range 100 {
		fmt.Fprintf(&app, "[service.s%d]\nimage = \"busybox\"\nports = [\"%d:8080\"]\nvolumes = [\"data:/data\"]\nnetworks = [\"back\"]\nrestart = \"always\"\nmemory = \"64m\"\n", i, 20000+i)
		if i > 0 {
			fmt.Fprintf(&app, "depends_on = [\"s%d\"]\n", i-1)
		}
	}
	// At boot the generator writes to a tmpfs (/run/systemd/generator):
	// so does the benchmark where it can.
	dir, err := os.MkdirTemp("/dev/shm", "berth-genbench-")
	if err != nil {
		dir = b.TempDir()
	} else {
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	file := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(file, []byte(app.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		out := filepath.Join(dir, fmt.Sprint("out", n))
		n++
		if err := os.Mkdir(out, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := generateApp(file, out, "/usr/bin/berth", "/var/lib/berth"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	units, _ := filepath.Glob(filepath.Join(dir, "out0", "*.service"))
	if len(units) != 100+1+1+1 { // services, network, volume, one pull for the one image
		b.Errorf("the generator wrote %d units", len(units))
	}
}
