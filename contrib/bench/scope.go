package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// inScopeEnv marks the bench re-executed in a scope of its own.
const inScopeEnv = "BERTH_BENCH_IN_SCOPE"

// enterScope re-executes the bench in a transient scope of the testbed's
// systemd (systemd-run --scope), unless it runs in one already, and
// does not return then. `testbed exec` leaves a command in a cgroup
// outside the testbed's cgroup namespace ("0::/../../exec"), where no
// process on a systemd host lives: a user's shell is in a session's
// scope, a script in its service's cgroup. Every command measured
// (berth, podman, systemd-run and crun alike) starts from this scope.
// It matters to berth, whose client starts its unit's cgroup migration
// early from its own cgroup (cgroupfs.WarmAttach), which it cannot name
// from outside the namespace.
func enterScope() error {
	if os.Getenv(inScopeEnv) != "" {
		return nil
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if lines := "\n" + string(cg); err == nil && strings.Contains(lines, "\n0::/") && !strings.Contains(lines, "\n0::/..") {
		return nil
	}
	sr, err := exec.LookPath("systemd-run")
	if err != nil {
		return fmt.Errorf("run the bench in a scope: %w", err)
	}
	argv := append([]string{sr, "--scope", "--quiet", "--collect", "--unit", fmt.Sprintf("berth-bench-%d", os.Getpid()), "--"}, os.Args...)
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("run the bench in a scope: %w", err)
	}
	argv[len(argv)-len(os.Args)] = exe
	err = syscall.Exec(sr, argv, append(os.Environ(), inScopeEnv+"=1"))
	return fmt.Errorf("run the bench in a scope: exec %s: %w", sr, err)
}
