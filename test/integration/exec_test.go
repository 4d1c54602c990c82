package integration

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestExec runs commands in a running container: its PID namespace,
// file system, user and capabilities, stdin with -i, Docker's exit codes,
// and the unit's cgroups, from the exec'd process's start.
func TestExec(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_exec", "--hostname", "boxy", "busybox", "sh", "-c", "echo made > /tmp/marker; exec sleep 1000")
	defer run(t, "rm", "-f", "it_exec")
	waitFor(t, 5*time.Second, "the marker", func() bool { return run(t, "exec", "it_exec", "test", "-e", "/tmp/marker").code == 0 })
	out := ok(t, "exec", "it_exec", "sh", "-c", "cat /tmp/marker; hostname; ps -o comm | tr '\\n' ' '; echo; id -u; grep CapBnd /proc/self/status")
	for _, want := range []string{"made\n", "boxy\n", "sleep", "\n0\n", "CapBnd:\t00000000a80425fb"} {
		if !strings.Contains(out, want) {
			t.Errorf("exec output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "systemd") || strings.Contains(out, "integration") {
		t.Errorf("exec sees host processes:\n%s", out)
	}
	if out := ok(t, "exec", "-u", "nobody", "-w", "/tmp", "-e", "X=1", "it_exec", "sh", "-c", "id -u; pwd; echo $X"); out != "65534\n/tmp\n1\n" {
		t.Errorf("exec -u -w -e: %q", out)
	}
	c := exec.Command(binary(t, "BERTH_BIN"), "exec", "-i", "it_exec", "cat")
	c.Stdin = strings.NewReader("through stdin\n")
	if b, err := c.Output(); err != nil || string(b) != "through stdin\n" {
		t.Errorf("exec -i: %q, %v", b, err)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"exec", "it_exec", "sh", "-c", "exit 7"}, 7},
		{[]string{"exec", "it_exec", "nosuchcmd"}, 127},
		{[]string{"exec", "it_exec", "/etc/passwd"}, 126},
		{[]string{"exec", "it_nosuch", "true"}, 125},
	} {
		if r := run(t, tc.args...); r.code != tc.code {
			t.Errorf("berth %s: exit %d, want %d (%s)", strings.Join(tc.args, " "), r.code, tc.code, r.stderr)
		}
	}
	// An exec'd process is in the container's cgroups, in every
	// hierarchy, from its first instruction: what it reads at once is
	// the root of its cgroup namespace (the container's), never the path
	// of the cgroup berth was started in.
	for i := 0; i < 5; i++ {
		out := ok(t, "exec", "it_exec", "cat", "/proc/self/cgroup")
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasSuffix(l, ":/") {
				t.Errorf("exec'd process outside the container's cgroup: %s", l)
			}
		}
	}
	// A longer-lived exec'd process ends up in the container's unit.
	ok(t, "exec", "-d", "it_exec", "sleep", "30")
	waitFor(t, 5*time.Second, "the exec'd sleep in the unit's cgroup", func() bool {
		procs := sh(t, "cat /sys/fs/cgroup/systemd$(systemctl show -P ControlGroup berth-it_exec.service)/cgroup.procs")
		return strings.Count(procs, "\n") >= 1
	})
	ok(t, "stop", "-t", "1", "it_exec")
	if r := run(t, "exec", "it_exec", "true"); r.code != 125 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("exec in a stopped container: exit %d, %q", r.code, r.stderr)
	}
}
