package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
)

// TestLifecycle drives the real testbed binary: up, exec, a kill -9 of
// systemd-nspawn (a crashed run), up again over the debris, down, and
// checks that the host is left clean. It needs root and systemd-nspawn.
func TestLifecycle(t *testing.T) {
	testutil.RequiresRoot(t)
	if testutil.InTestbed() {
		t.Skip("runs on the host, not inside a testbed")
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		t.Fatal("systemd-nspawn is missing: run contrib/install-deps.sh")
	}
	bin := filepath.Join(t.TempDir(), "testbed")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v: %s", err, out)
	}
	name := fmt.Sprintf("lifecycle-%d", os.Getpid())
	tb := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { tb("down", name) })

	if out, err := tb("up", name); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	out, err := tb("exec", name, "--", "sh", "-c", "echo $BERTH_TESTBED; cat /proc/1/comm; exit 3")
	if code := exitCode(err); code != 3 || !strings.Contains(out, name+"\nsystemd\n") {
		t.Errorf("exec: exit %d, output %q; want exit 3, the testbed name and systemd as PID 1", code, out)
	}
	// A process started by exec is in the testbed's exec cgroup, so down
	// finds it even if it left the container's PID namespace.
	bg := exec.Command(bin, "exec", name, "--", "sleep", sleepArg)
	if err := bg.Start(); err != nil {
		t.Fatal(err)
	}
	go bg.Wait()
	var cg string
	for i := 0; i < 100 && cg == ""; i++ {
		time.Sleep(20 * time.Millisecond)
		for _, pid := range sleepers() {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			cg = string(b)
		}
	}
	if !strings.Contains(cg, "/berth-testbed-"+name+"/exec") {
		t.Errorf("a process run by exec is in cgroups\n%s\nwant berth-testbed-%s/exec", cg, name)
	}

	// Simulate a crashed run: kill -9 the supervisor, leave everything else.
	b, err := os.ReadFile(filepath.Join(stateRoot, name, "nspawn"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	syscall.Kill(pid, syscall.SIGKILL)
	time.Sleep(100 * time.Millisecond)
	if out, err := tb("up", name); err != nil {
		t.Fatalf("up over a killed testbed: %v\n%s", err, out)
	}
	if out, err := tb("status", name); err != nil || !strings.Contains(out, "systemd") {
		t.Errorf("status: %v: %s", err, out)
	}
	if out, err := tb("down", name); err != nil {
		t.Fatalf("down: %v: %s", err, out)
	}
	if out, err := tb("down", name); err != nil {
		t.Errorf("second down is not idempotent: %v: %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(stateRoot, name)); !os.IsNotExist(err) {
		t.Errorf("state directory left: %v", err)
	}
	if dirs := cgroupsNamed("berth-testbed-" + name); len(dirs) > 0 {
		t.Errorf("cgroups left: %v", dirs)
	}
	if pids := sleepers(); len(pids) > 0 {
		t.Errorf("'sleep %s' processes %v survived down", sleepArg, pids)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func cgroupsNamed(name string) []string {
	var out []string
	filepath.Walk("/sys/fs/cgroup", func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() && fi.Name() == name {
			out = append(out, p)
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// sleepers lists the host PIDs of "sleep 1000" processes.
// sleepArg is this test run's own `sleep` argument (1000 seconds and a
// fraction made of this process's PID), so that sleepers finds its own
// process and not another testbed's `sleep 1000`.
var sleepArg = fmt.Sprintf("1000.%d", os.Getpid())

// sleepers are the processes running `sleep sleepArg`, anywhere on the
// host.
func sleepers() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if pid, perr := strconv.Atoi(e.Name()); perr == nil && err == nil && string(b) == "sleep\x00"+sleepArg+"\x00" {
			pids = append(pids, pid)
		}
	}
	return pids
}
