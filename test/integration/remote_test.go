package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNetworkRemoteHost: another host, made as a network namespace
// joined to the testbed by a veth pair on a network of its own
// (192.0.2.0/24, TEST-NET-1: the testbed's host address there is
// 192.0.2.1), reaches a container's published port on the host's
// address, and a container reaches that host: its traffic leaves through
// the host, masqueraded, since the other host has no route back to
// berth0's subnet.
func TestNetworkRemoteHost(t *testing.T) {
	busybox(t)
	const ns, hostIf = "itremote", "itrmt0"
	t.Cleanup(func() {
		exec.Command("sh", "-c", "ip netns pids "+ns+" | xargs -r kill -9; ip netns del "+ns+"; ip link del "+hostIf).Run()
	})
	sh(t, "ip netns add "+ns+" && ip link add "+hostIf+" type veth peer name eth0 netns "+ns+
		" && ip addr add 192.0.2.1/24 dev "+hostIf+" && ip link set "+hostIf+" up"+
		" && ip -n "+ns+" addr add 192.0.2.2/24 dev eth0 && ip -n "+ns+" link set eth0 up && ip -n "+ns+" link set lo up")

	ok(t, "run", "-d", "--name", "it_remoteweb", "-p", "18090:8080", "busybox", "httpd", "-f", "-p", "8080", "-h", "/var/www")
	defer run(t, "rm", "-f", "it_remoteweb")
	var page []byte
	waitFor(t, 5*time.Second, "the published port to answer the other host", func() bool {
		// curl: busybox-static 1.35's wget crashes (SIGSEGV) with -T.
		out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-sf", "-m", "2", "http://192.0.2.1:18090/").Output()
		page = out
		return err == nil
	})
	if !strings.Contains(string(page), "Hello from a berth container") {
		t.Errorf("the other host got %q from 192.0.2.1:18090", page)
	}

	// The other host serves a page; a container fetches it.
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("page of the other host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command("ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "8099", "-h", www)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	var r result
	waitFor(t, 5*time.Second, "a container to reach the other host", func() bool {
		r = run(t, "run", "--rm", "busybox", "timeout", "-s", "KILL", "3", "wget", "-qO-", "http://192.0.2.2:8099/")
		return r.code == 0
	})
	if r.stdout != "page of the other host\n" {
		t.Errorf("a container fetching from the other host: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if n := sh(t, "ip link show "+hostIf+" >/dev/null && echo up"); n != "up" {
		t.Errorf("the other host's link went away: %q", n)
	}
}
