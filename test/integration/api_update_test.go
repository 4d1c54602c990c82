package integration

import (
	"strconv"
	"strings"
	"testing"
)

// TestDockerUpdateRename: docker update and berth update change a
// running container's unit limits at once (MemoryMax, CPU quota,
// TasksMax) and its record; the restart policy applies from the next
// start, with a warning. docker rename and berth rename rename a stopped
// container, its unit with it, and refuse a running one and a name in
// use with Docker's exit codes.
func TestDockerUpdateRename(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apiupd", "it_apiren", "it_apiren2", "it_apiother")
	dockerOK(t, "run", "-d", "--name", "it_apiupd", "-m", "64m", "busybox", "sleep", "300")
	const unit = "berth-it_apiupd.service"

	if out := dockerOK(t, "update", "-m", "128m", "--cpus", "0.5", "--pids-limit", "20", "it_apiupd"); out != "it_apiupd\n" {
		t.Errorf("docker update printed %q", out)
	}
	for prop, want := range map[string]string{"MemoryMax": strconv.Itoa(128 << 20), "CPUQuotaPerSecUSec": "500ms", "TasksMax": "20"} {
		if got := unitProp(t, unit, prop); got != want {
			t.Errorf("after docker update, %s of the running unit is %s, want %s", prop, got, want)
		}
	}
	if out := dockerOK(t, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", "it_apiupd"); out != strconv.Itoa(128<<20)+" 500000000\n" {
		t.Errorf("docker inspect after docker update: %q", out)
	}
	// berth update: the same function; -1 lifts the PIDs limit.
	if out := ok(t, "update", "--pids-limit", "-1", "--memory", "0", "it_apiupd"); out != "it_apiupd\n" {
		t.Errorf("berth update printed %q", out)
	}
	if m, p := unitProp(t, unit, "MemoryMax"), unitProp(t, unit, "TasksMax"); m != "infinity" || p != "infinity" {
		t.Errorf("after berth update --memory 0 --pids-limit -1: MemoryMax %s, TasksMax %s; want infinity", m, p)
	}
	// (The CLI prints the warnings where its version does: stdout for 28.)
	r := docker(t, "update", "--restart", "always", "it_apiupd")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "The restart policy of it_apiupd applies from its next start") {
		t.Errorf("docker update --restart of a running container: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if out := dockerOK(t, "inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "it_apiupd"); out != "always\n" {
		t.Errorf("docker inspect's restart policy after docker update: %q", out)
	}
	if r := docker(t, "update", "-m", "1m", "it_apiupd"); r.code != 1 || !strings.Contains(r.stderr, "Minimum memory limit allowed is 6MB") {
		t.Errorf("docker update -m 1m: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := docker(t, "update", "-m", "64m", "it_nosuch"); r.code != 1 || !strings.Contains(r.stderr, "No such container: it_nosuch") {
		t.Errorf("docker update of a missing container: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, "update", "it_apiupd"); r.code != 125 || !strings.Contains(r.stderr, "you must provide one or more flags") {
		t.Errorf("berth update without flags: exit %d, stderr %q", r.code, r.stderr)
	}

	// rename: not while it runs (its unit is named after it).
	if r := docker(t, "rename", "it_apiupd", "it_apiren"); r.code != 1 || !strings.Contains(r.stderr, "cannot rename container it_apiupd while it runs") {
		t.Errorf("docker rename of a running container: exit %d, stderr %q", r.code, r.stderr)
	}
	dockerOK(t, "stop", "-t", "0", "it_apiupd")
	dockerOK(t, "rename", "it_apiupd", "it_apiren")
	if out := dockerOK(t, "ps", "-a", "--filter", "name=it_apiren", "--format", "{{.Names}}"); out != "it_apiren\n" {
		t.Errorf("docker ps after docker rename: %q", out)
	}
	if r := docker(t, "inspect", "it_apiupd"); r.code != 1 {
		t.Errorf("the old name still finds the container: exit %d", r.code)
	}
	// It starts as the unit of its new name, with the new restart policy.
	dockerOK(t, "start", "it_apiren")
	if s := unitProp(t, "berth-it_apiren.service", "ActiveState"); s != "active" {
		t.Errorf("berth-it_apiren.service is %s after docker start of the renamed container", s)
	}
	if s := unitProp(t, "berth-it_apiren.service", "Restart"); s != "always" {
		t.Errorf("the renamed container's unit has Restart=%s, want always (docker update --restart)", s)
	}
	if m := unitProp(t, "berth-it_apiren.service", "MemoryMax"); m != "infinity" {
		t.Errorf("the restarted unit's MemoryMax is %s, want infinity (berth update --memory 0)", m)
	}
	dockerOK(t, "stop", "-t", "0", "it_apiren")
	dockerOK(t, "create", "--name", "it_apiother", "busybox", "true")
	if r := docker(t, "rename", "it_apiren", "it_apiother"); r.code != 1 || !strings.Contains(r.stderr, `Conflict. The container name "/it_apiother" is already in use`) {
		t.Errorf("docker rename to a name in use: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, "rename", "it_apiren", "it_apiren2"); r.code != 0 {
		t.Errorf("berth rename: exit %d, %s", r.code, r.stderr)
	}
	if out := dockerOK(t, "inspect", "-f", "{{.Name}}", "it_apiren2"); out != "/it_apiren2\n" {
		t.Errorf("docker inspect after berth rename: %q", out)
	}
}
