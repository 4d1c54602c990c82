package integration

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const stateDir = "/var/lib/berth/containers"

// checkClean fails t unless `berth system check` finds nothing.
func checkClean(t *testing.T, when string) {
	t.Helper()
	if r := run(t, "system", "check"); r.code != 0 || r.stdout != "no problems found\n" {
		t.Errorf("system check %s: exit %d, %q %q", when, r.code, r.stdout, r.stderr)
	}
}

// checkRepairs runs check (which must name each of want), then
// check --repair, then check again, which must find nothing.
func checkRepairs(t *testing.T, want ...string) {
	t.Helper()
	r := run(t, "system", "check")
	if r.code != 1 {
		t.Errorf("system check: exit %d, want 1: %q %q", r.code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("system check does not report %q:\n%s", w, r.stdout)
		}
	}
	rep := run(t, "system", "check", "--repair")
	if rep.code != 0 || !strings.Contains(rep.stdout, "repaired\n") {
		t.Errorf("system check --repair: exit %d: %q %q", rep.code, rep.stdout, rep.stderr)
	}
	checkClean(t, "after --repair")
}

// leftovers lists what a container id still holds on the host: its veth,
// nftables rules, leases and port claims.
func leftovers(t *testing.T, id string) []string {
	t.Helper()
	var out []string
	if l := sh(t, "ip -o link | grep -c 'vb"+id[:8]+"' || true"); l != "0" {
		out = append(out, "veth")
	}
	if r := sh(t, "nft list table ip berth 2>/dev/null | grep -c "+id+" || true"); r != "0" {
		out = append(out, "nft rules")
	}
	if l := sh(t, "grep -rl "+id+" /var/lib/berth/networks 2>/dev/null || true"); l != "" {
		out = append(out, "lease or claim: "+l)
	}
	return out
}

// TestSystemCheckRecordDeleted: a running container whose record is
// deleted by hand leaves, once its unit stops, a state directory without
// record, a name, its lease, port claim, rules and veth; check finds
// each and --repair removes all.
func TestSystemCheckRecordDeleted(t *testing.T) {
	busybox(t)
	checkClean(t, "at the start")
	id := strings.TrimSpace(ok(t, "run", "-d", "--name", "it_chk_rec", "-p", "18091:80", "busybox", "httpd", "-f", "-p", "80"))
	defer run(t, "rm", "-f", "it_chk_rec")
	if l := leftovers(t, id); len(l) != 3 {
		t.Fatalf("a running container with -p holds %v, want veth, rules and lease/claim", l)
	}
	if err := os.Remove(filepath.Join(stateDir, id, "container.json")); err != nil {
		t.Fatal(err)
	}
	checkRepairs(t, "container "+id[:12]+": state directory without a record",
		"unit berth-it_chk_rec.service: active, but no container has it",
		"lease 10.89.0.", "port claim 0.0.0.0:18091/tcp", "nftables port rules: tagged with container "+id[:12],
		"veth vb"+id[:8], "name it_chk_rec: points at container "+id[:12])
	if l := leftovers(t, id); len(l) != 0 {
		t.Errorf("after --repair the container still holds %v", l)
	}
	if _, err := os.Stat(filepath.Join(stateDir, id)); !os.IsNotExist(err) {
		t.Errorf("state directory left: %v", err)
	}
	// The name is free again.
	ok(t, "run", "--rm", "--name", "it_chk_rec", "busybox", "true")
}

// TestSystemCheckRunningRecord: a record that says running whose
// process and unit are gone (a crash before __cleanup) is marked exited
// (255, as Docker); an --rm one is removed.
func TestSystemCheckRunningRecord(t *testing.T) {
	busybox(t)
	ids := map[string]string{}
	for _, name := range []string{"it_chk_run", "it_chk_runrm"} {
		ids[name] = strings.TrimSpace(ok(t, "create", "--name", name, "busybox", "true"))
		defer run(t, "rm", "-f", name)
		p := filepath.Join(stateDir, ids[name], "container.json")
		b, _ := os.ReadFile(p)
		var rec map[string]any
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		st := rec["State"].(map[string]any)
		st["Status"], st["Pid"], st["PidStart"] = "running", 999999, 1
		if name == "it_chk_runrm" {
			rec["Options"].(map[string]any)["AutoRemove"] = true
		}
		b, _ = json.Marshal(rec)
		os.WriteFile(p, b, 0o600)
	}
	checkRepairs(t, "container "+ids["it_chk_run"][:12]+" (it_chk_run): recorded as running, but its process and unit berth-it_chk_run.service are gone",
		"(it_chk_runrm): recorded as running")
	if out := ok(t, "ps", "-a", "--filter", "name=it_chk_run", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(out, "it_chk_run Exited (255)") || strings.Contains(out, "it_chk_runrm") {
		t.Errorf("ps after --repair: %q, want it_chk_run Exited (255) and no it_chk_runrm", out)
	}
}

// TestSystemCheckDebris: the directories a creator or remover killed
// half way leaves are reported and removed.
func TestSystemCheckDebris(t *testing.T) {
	busybox(t)
	tmpID := strings.Repeat("ab", 32)
	rmID := strings.Repeat("cd", 32)
	for _, d := range []string{".tmp-" + tmpID, ".rm-" + rmID} {
		os.MkdirAll(filepath.Join(stateDir, d, "upper"), 0o700)
		os.WriteFile(filepath.Join(stateDir, d, "lock"), nil, 0o600)
		old := time.Now().Add(-2 * time.Minute)
		os.Chtimes(filepath.Join(stateDir, d), old, old)
	}
	os.Symlink(tmpID, filepath.Join(stateDir, "names", "it_chk_half"))
	checkRepairs(t, "container "+tmpID[:12]+": half created", "container "+rmID[:12]+": half removed", "name it_chk_half")
	for _, d := range []string{".tmp-" + tmpID, ".rm-" + rmID, "names/it_chk_half"} {
		if _, err := os.Lstat(filepath.Join(stateDir, d)); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", d, err)
		}
	}
}

// TestSystemCheckAfterKilledCLI kills `berth run -d`, `start` and `rm
// -f` with SIGKILL at random moments, 50 times; one check --repair then
// leaves nothing to repair, and once the containers are removed nothing
// of theirs is left.
func TestSystemCheckAfterKilledCLI(t *testing.T) {
	busybox(t)
	bin := binary(t, "BERTH_BIN")
	names := []string{}
	for i := range 50 {
		name := "it_chk_kill" + strconv.Itoa(i%10)
		args := [][]string{
			{"run", "-d", "--name", name, "-p", strconv.Itoa(18100+i%10) + ":80", "busybox", "httpd", "-f", "-p", "80"},
			{"start", name},
			{"rm", "-f", name},
		}[rand.IntN(3)]
		c := exec.Command(bin, args...)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		if i < 10 {
			names = append(names, name)
		}
	}
	time.Sleep(500 * time.Millisecond) // let units that were asked for finish starting
	rep := run(t, "system", "check", "--repair")
	t.Logf("check --repair after the kills:\n%s", rep.stdout)
	checkClean(t, "after one --repair")
	var ids []string
	for _, n := range names {
		if r := run(t, "inspect", "-f", "{{.Id}}", n); r.code == 0 {
			ids = append(ids, strings.TrimSpace(r.stdout))
		}
		run(t, "rm", "-f", n)
	}
	checkClean(t, "after rm -f")
	for _, id := range ids {
		if l := leftovers(t, id); len(l) != 0 {
			t.Errorf("container %s left %v", id[:12], l)
		}
	}
	if units := sh(t, "systemctl list-units --all --plain --no-legend 'berth-it_chk_kill*' | wc -l"); units != "0" {
		t.Errorf("%s units left", units)
	}
}

// TestStartStopCycles: 100 starts and stops of a container that
// publishes a port on a user network leave no veth, rule, lease or claim.
func TestStartStopCycles(t *testing.T) {
	busybox(t)
	ok(t, "network", "create", "it-cycles")
	defer run(t, "network", "rm", "it-cycles")
	id := strings.TrimSpace(ok(t, "create", "--name", "it_cycles", "--network", "it-cycles", "-p", "18200:80", "busybox", "httpd", "-f", "-p", "80"))
	defer run(t, "rm", "-f", "it_cycles")
	for i := range 100 {
		ok(t, "start", "it_cycles")
		ok(t, "stop", "-t", "0", "it_cycles")
		if i%25 == 0 {
			if l := leftovers(t, id); len(l) != 0 {
				t.Fatalf("after %d cycles: %v", i+1, l)
			}
		}
	}
	if l := leftovers(t, id); len(l) != 0 {
		t.Errorf("after 100 cycles: %v", l)
	}
	checkClean(t, "after 100 cycles")
}

// TestSystemPrune: stopped containers, unused user networks, unused
// anonymous volumes (--volumes) and dangling images go; a running
// container, its network and its image stay.
func TestSystemPrune(t *testing.T) {
	busybox(t)
	ok(t, "network", "create", "it-prune-used")
	defer run(t, "network", "rm", "it-prune-used")
	ok(t, "network", "create", "it-prune-unused")
	ok(t, "run", "-d", "--name", "it_prune_up", "--network", "it-prune-used", "busybox", "sleep", "1000")
	defer run(t, "rm", "-f", "it_prune_up")
	stopped := strings.TrimSpace(ok(t, "create", "--name", "it_prune_down", "-v", "/anon", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big"))
	ok(t, "start", "-a", "it_prune_down")
	vol := strings.TrimSpace(ok(t, "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "it_prune_down"))
	dangling := strings.TrimSpace(ok(t, "import", filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar")))

	r := run(t, "system", "prune")
	if r.code != 0 || !strings.Contains(r.stderr, "WARNING! This will remove:\n  - all stopped containers\n") || strings.Contains(r.stdout, "Deleted") {
		t.Errorf("prune without -f and no answer: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	out := ok(t, "system", "prune", "-f", "--volumes")
	for _, w := range []string{"Deleted Containers:\n" + stopped + "\n", "Deleted Networks:\nit-prune-unused\n", "Deleted Volumes:\n" + vol + "\n",
		"deleted: " + dangling, "Total reclaimed space: "} {
		if !strings.Contains(out, w) {
			t.Errorf("system prune output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "it_prune_up") || strings.Contains(out, "it-prune-used\n") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("system prune: %s", out)
	}
	if r := run(t, "inspect", "it_prune_down"); r.code == 0 {
		t.Error("the stopped container is still there")
	}
	ok(t, "inspect", "it_prune_up")
	ok(t, "network", "inspect", "it-prune-used")
	if r := run(t, "network", "inspect", "it-prune-unused"); r.code == 0 {
		t.Error("the unused network is still there")
	}
	if r := run(t, "volume", "inspect", vol); r.code == 0 {
		t.Error("the anonymous volume is still there")
	}
	if r := run(t, "image", "inspect", dangling); r.code == 0 {
		t.Error("the dangling image is still there")
	}
	ok(t, "image", "inspect", "busybox")
}

// TestSystemGC: `berth system gc` (what berth-gc.service runs) removes
// an --rm container that ended without being removed, and an unpacked
// layer no image uses; containers without --rm and images stay.
func TestSystemGC(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "create", "--rm", "--name", "it_gc_rm", "-v", "/anon", "busybox", "true"))
	defer run(t, "rm", "-f", "it_gc_rm")
	vol := strings.TrimSpace(ok(t, "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "it_gc_rm"))
	ok(t, "create", "--name", "it_gc_keep", "busybox", "true")
	defer run(t, "rm", "-f", "it_gc_keep")
	p := filepath.Join(stateDir, id, "container.json")
	b, _ := os.ReadFile(p)
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	rec["State"].(map[string]any)["Status"] = "exited"
	b, _ = json.Marshal(rec)
	os.WriteFile(p, b, 0o600)
	orphan := filepath.Join("/var/lib/berth/layers/sha256", strings.Repeat("ef", 32))
	os.MkdirAll(filepath.Join(orphan, "etc"), 0o755)
	os.WriteFile(filepath.Join(orphan, "etc", "x"), make([]byte, 4096), 0o644)

	out := ok(t, "system", "gc")
	if !strings.Contains(out, "removed exited --rm container "+id[:12]+" (it_gc_rm)") || !strings.Contains(out, "removed unused blobs and layers") {
		t.Errorf("system gc: %q", out)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the orphan layer is left: %v", err)
	}
	if r := run(t, "volume", "inspect", vol); r.code == 0 {
		t.Error("the --rm container's anonymous volume is left")
	}
	ok(t, "inspect", "it_gc_keep")
	ok(t, "image", "inspect", "busybox")
	if out := ok(t, "system", "gc"); out != "" {
		t.Errorf("a second gc: %q, want nothing", out)
	}
}

// TestRmWhileCleanupRuns: a container removed right after its command
// ended, while its unit's cleanup may still run, leaves no lease, claim,
// rule or veth (the removal waits for the cleanup).
func TestRmWhileCleanupRuns(t *testing.T) {
	busybox(t)
	for i := range 20 {
		id := strings.TrimSpace(ok(t, "run", "-d", "--name", "it_rmrace", "-p", "18300:80", "busybox", "true"))
		waitFor(t, 5*time.Second, "the command to end", func() bool {
			return run(t, "rm", "it_rmrace").code == 0
		})
		if l := leftovers(t, id); len(l) != 0 {
			t.Fatalf("round %d: removed at once, the container left %v", i, l)
		}
	}
	checkClean(t, "after the removals")
}

// TestSystemCheckDNSSocket: a network's DNS socket whose network
// definition is gone (removed by hand, or a removal that crashed half
// way) is reported and stopped.
func TestSystemCheckDNSSocket(t *testing.T) {
	busybox(t)
	ok(t, "network", "create", "it-chk-dns")
	ok(t, "run", "--rm", "--network", "it-chk-dns", "busybox", "true")
	if s := unitProp(t, "berth-dns-it-chk-dns.socket", "ActiveState"); s != "active" {
		t.Fatalf("the network's DNS socket is %s", s)
	}
	if err := os.Remove("/var/lib/berth/networks/defs/it-chk-dns.json"); err != nil {
		t.Fatal(err)
	}
	checkRepairs(t, "DNS socket berth-dns-it-chk-dns.socket: network it-chk-dns does not exist")
	if s := unitProp(t, "berth-dns-it-chk-dns.socket", "ActiveState"); s != "inactive" {
		t.Errorf("after --repair the DNS socket is %s", s)
	}
}
