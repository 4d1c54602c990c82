package integration

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNetworkBridge: a container on the default network gets an address
// on berth0, reaches another container by address, publishes a port the
// host reaches on 127.0.0.1, and leaves no lease or rule behind.
func TestNetworkBridge(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "run", "-d", "--name", "it_netweb", "-p", "18080:8080", "busybox", "httpd", "-f", "-p", "8080", "-h", "/var/www"))
	defer run(t, "rm", "-f", "it_netweb")
	ip := strings.TrimSpace(ok(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "it_netweb"))
	if !strings.HasPrefix(ip, "10.89.0.") {
		t.Fatalf("address %q is not on berth0's subnet", ip)
	}
	if ps := ok(t, "ps", "--format", "{{.Names}} {{.Ports}}"); !strings.Contains(ps, "it_netweb 0.0.0.0:18080->8080/tcp") {
		t.Errorf("ps: %q", ps)
	}
	if p := ok(t, "port", "it_netweb"); p != "8080/tcp -> 0.0.0.0:18080\n" {
		t.Errorf("port: %q", p)
	}
	var page []byte
	waitFor(t, 5*time.Second, "the published port to answer", func() bool {
		out, err := exec.Command("busybox", "wget", "-qO-", "http://127.0.0.1:18080/").Output()
		page = out
		return err == nil
	})
	if !strings.Contains(string(page), "Hello from a berth container") {
		t.Errorf("page on 127.0.0.1:18080: %q", page)
	}
	// Another container reaches it by address; it has its own eth0,
	// a default route through the bridge, and its address in /etc/hosts.
	out := ok(t, "run", "--rm", "--hostname", "client", "busybox", "sh", "-c",
		"ip -4 addr show eth0; ip route; grep client /etc/hosts; wget -qO- http://"+ip+":8080/")
	for _, want := range []string{"inet 10.89.0.", "default via 10.89.0.1 dev eth0", "Hello from a berth container"} {
		if !strings.Contains(out, want) {
			t.Errorf("second container lacks %q:\n%s", want, out)
		}
	}
	if out := ok(t, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "lo:") {
		t.Errorf("--network none: links %q", out)
	}
	if r := run(t, "run", "--rm", "--network", "none", "-p", "1:1", "busybox", "true"); r.code != 125 {
		t.Errorf("-p with --network none: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "rm", "-f", "it_netweb")
	if ents, _ := os.ReadDir("/var/lib/berth/networks/berth0"); len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if strings.Join(names, " ") != ".lock" {
			t.Errorf("leases left after rm: %v", names)
		}
	}
	if n := sh(t, "nft list ruleset | grep -c 'berth container "+id+"' || true"); n != "0" {
		t.Errorf("%s nftables rules of the removed container left", n)
	}
	if _, err := exec.Command("busybox", "wget", "-qO-", "-T", "1", "http://127.0.0.1:18080/").Output(); err == nil {
		t.Error("the port still answers after rm")
	}
}
