package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/berth/berth"

// deps lists the packages pkg imports, directly or not (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestImportRules(t *testing.T) {
	tests := []struct {
		pkg    string
		forbid []string // import path prefixes pkg must not reach
	}{
		// Libraries never import the CLI.
		{"imagestore", []string{module + "/cmd", module + "/machine", module + "/netsetup", module + "/unitgen", "github.com/godbus", "github.com/coreos/go-systemd"}},
		{"imagestore/layer", []string{module + "/cmd", module + "/imagestore/", "github.com/godbus"}},
		{"machine", []string{module + "/cmd", module + "/unitgen", "github.com/godbus", "github.com/coreos/go-systemd"}},
		// Builds run containers through the CLI's Runner only: no D-Bus here,
		// and BuildKit's parser stays inside imagebuild.
		{"imagebuild", []string{module + "/cmd", module + "/netsetup", module + "/unitgen", "github.com/godbus", "github.com/coreos/go-systemd"}},
		{"machine", []string{"github.com/moby/buildkit"}},
		// Nor the image store (its registry client, net/http, TLS): the
		// programs a container's unit runs (cmd/berth-unit) import machine
		// and start on every container's path.
		{"machine", []string{module + "/imagestore", "github.com/google/go-containerregistry", "net/http"}},
		// What systemd runs for every container (berth-unit) stays small.
		{"cmd/internal/unitproc", []string{module + "/imagestore", module + "/imagebuild", module + "/unitgen", "github.com/google/go-containerregistry", "github.com/moby/buildkit", "github.com/spf13/cobra", "net/http"}},
		{"cmd/berth-unit", []string{module + "/imagestore", module + "/imagebuild", module + "/unitgen", "github.com/google/go-containerregistry", "github.com/moby/buildkit", "github.com/spf13/cobra", "net/http"}},
		{"netsetup", []string{module + "/cmd", module + "/machine", module + "/unitgen", module + "/imagestore"}},
		// The generator runs at early boot: no D-Bus, netlink or image store.
		{"unitgen", []string{module + "/cmd", module + "/machine", module + "/imagestore", module + "/netsetup", "github.com/godbus", "github.com/coreos/go-systemd/v22/dbus", "github.com/vishvananda"}},
		// The seccomp compiler is a leaf: spec types and its BPF library,
		// no profile data (that is machine's), no D-Bus.
		{"machine/seccomp", []string{module + "/", "github.com/moby", "github.com/godbus", "github.com/coreos"}},
		// Leaves import nothing of berth's but each other.
		{"machine/fscopy", []string{module + "/"}},
		{"internal/unitsyntax", []string{module + "/"}},
		{"machine/cgroup", []string{module + "/"}},
		// The reconciler of `berth system check` is pure: no D-Bus, netlink, nftables.
		{"machine/reconcile", []string{module + "/", "github.com/godbus", "github.com/coreos", "github.com/vishvananda", "github.com/google/nftables"}},
		{"internal/errdefs", []string{module + "/"}},
		// The CLI's first initialiser (startwarm) runs as soon as what it
		// imports has: nothing that Go initialises later than os (strings
		// and path/filepath take their turn late, by import path; fmt and
		// x/sys/unix later still).
		{"cmd/internal/startwarm", []string{"strings", "path/filepath", "fmt", "reflect", "golang.org/", "google.golang.org/",
			"github.com/spf13", "github.com/moby", "github.com/godbus", "github.com/coreos", "github.com/opencontainers",
			module + "/machine", module + "/cmd/internal/unitproc", module + "/internal/fsutil"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			for _, d := range deps(t, tt.pkg) {
				for _, f := range tt.forbid {
					if strings.HasPrefix(d, f) && d != module+"/"+tt.pkg {
						t.Errorf("%s imports %s, which the design forbids", tt.pkg, d)
					}
				}
			}
		})
	}
}
