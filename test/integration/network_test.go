package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestNetworkBridge: a container on the default network gets an address
// on berth0, reaches another container by address, publishes a port the
// host reaches on 127.0.0.1 and other containers through a host address,
// and leaves no lease or rule behind.
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
	// And through the published port on a host address (the bridge's,
	// the one host address a container in the testbed can route to):
	// DNAT back into the bridge, and the hairpin masquerade so that the
	// answer comes back the same way.
	r := run(t, "run", "--rm", "busybox", "sh", "-c", "timeout -s KILL 5 wget -qO- http://10.89.0.1:18080/; exit $?")
	if r.code != 0 || !strings.Contains(r.stdout, "Hello from a berth container") {
		t.Errorf("another container through the host address 10.89.0.1:18080: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if out := ok(t, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "lo:") {
		t.Errorf("--network none: links %q", out)
	}
	if r := run(t, "run", "--rm", "--network", "none", "-p", "1:1", "busybox", "true"); r.code != 125 {
		t.Errorf("-p with --network none: exit %d, %q", r.code, r.stderr)
	}
	// `run --rm -p` returns with its port rule gone, as Docker's does
	// (the cleanup deletes it before it records the exit, and closes its
	// nftables socket only after).
	ok(t, "run", "--rm", "-p", "18096:80", "busybox", "true")
	if n := sh(t, "nft list ruleset | grep -c 'dport 18096' || true"); n != "0" {
		t.Errorf("run --rm -p returned with %s port rules of its container left", n)
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

// TestUserNetworks: containers on a user network find each other by
// name, alias and NAME.NETWORK (wget through the libc-less resolver of
// busybox and nslookup both ask the network's DNS responder), names
// follow containers as they stop, networks are isolated from each
// other, and network rm takes the bridge, its rules and its DNS socket
// away.
func TestUserNetworks(t *testing.T) {
	busybox(t)
	id := strings.TrimSpace(ok(t, "network", "create", "it_net1"))
	if len(id) != 64 {
		t.Fatalf("network create printed %q, want the ID", id)
	}
	defer run(t, "network", "rm", "it_net1")
	if r := run(t, "network", "create", "it_net1"); r.code != 125 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second create: exit %d, %q", r.code, r.stderr)
	}
	ls := ok(t, "network", "ls", "--format", "{{.Name}} {{.Driver}}")
	for _, want := range []string{"bridge bridge", "host host", "none null", "it_net1 bridge"} {
		if !strings.Contains(ls, want) {
			t.Errorf("network ls lacks %q:\n%s", want, ls)
		}
	}
	subnet := strings.TrimSpace(ok(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "it_net1"))
	gw := strings.TrimSpace(ok(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "it_net1"))
	bridge := strings.TrimSpace(ok(t, "network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.name"}}`, "it_net1"))
	if !strings.HasPrefix(subnet, "10.89.") || subnet == "10.89.0.0/24" || bridge == "berth0" {
		t.Fatalf("it_net1: subnet %q bridge %q", subnet, bridge)
	}
	fixed := strings.TrimSuffix(gw, ".1") + ".50"
	ok(t, "run", "-d", "--name", "it_uweb", "--network", "it_net1", "--network-alias", "www", "--ip", fixed,
		"busybox", "httpd", "-f", "-p", "80", "-h", "/var/www")
	defer run(t, "rm", "-f", "it_uweb")
	if ip := strings.TrimSpace(ok(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "it_uweb")); ip != fixed {
		t.Errorf("--ip %s: the container has %q", fixed, ip)
	}
	if cs := ok(t, "network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}", "it_net1"); !strings.Contains(cs, "it_uweb "+fixed+"/") {
		t.Errorf("network inspect's containers: %q", cs)
	}
	out := ok(t, "run", "--rm", "--network", "it_net1", "busybox", "sh", "-c",
		"cat /etc/resolv.conf; for n in it_uweb www it_uweb.it_net1; do wget -qO- http://$n/ | head -c 200; echo; done; nslookup www")
	for _, want := range []string{"nameserver " + gw, "Hello from a berth container", "Address: " + fixed} {
		if !strings.Contains(out, want) {
			t.Errorf("a client on it_net1 lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Hello from a berth container"); n != 3 {
		t.Errorf("the page came %d times by name, alias and name.network, want 3:\n%s", n, out)
	}
	// Another network and the default bridge cannot reach it.
	ok(t, "network", "create", "it_net2")
	defer run(t, "network", "rm", "it_net2")
	for _, netw := range []string{"it_net2", "bridge"} {
		// busybox-static's wget -T crashes, so timeout bounds it; under
		// sh, since PID 1 of a namespace ignores signals it has no
		// handler for.
		if r := run(t, "run", "--rm", "--network", netw, "busybox", "sh", "-c", "timeout -s KILL 2 wget -qO- http://"+fixed+"/; exit $?"); r.code == 0 {
			t.Errorf("a container on %s reached it_net1's container: %q", netw, r.stdout)
		}
	}
	// Names follow containers: once stopped, it_uweb is not found.
	ok(t, "stop", "-t", "1", "it_uweb")
	if r := run(t, "run", "--rm", "--network", "it_net1", "busybox", "nslookup", "it_uweb"); r.code == 0 || strings.Contains(r.stdout, fixed) {
		t.Errorf("it_uweb still resolves after stop: exit %d %q", r.code, r.stdout)
	}
	// In use (a stopped container counts): refused; then removed whole.
	if r := run(t, "network", "rm", "it_net1"); r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Errorf("network rm of a network in use: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "rm", "it_uweb")
	ok(t, "network", "rm", "it_net1", "it_net2")
	if out, err := exec.Command("ip", "link", "show", bridge).CombinedOutput(); err == nil {
		t.Errorf("bridge %s left after network rm: %s", bridge, out)
	}
	if n := sh(t, "nft list table ip berth | grep -c '"+bridge+"' || true"); n != "0" {
		t.Errorf("%s nftables lines of %s left after network rm", n, bridge)
	}
	if st, _ := exec.Command("systemctl", "is-active", "berth-dns-it_net1.socket").Output(); strings.TrimSpace(string(st)) == "active" {
		t.Error("the DNS socket is still active after network rm")
	}
	if r := run(t, "run", "--rm", "--network", "it_net1", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "network it_net1 not found") {
		t.Errorf("run on a removed network: exit %d, %q", r.code, r.stderr)
	}
}

// TestNetworkHostDNSAddHost: --network host shares the host's links;
// --dns and --add-host write resolv.conf and hosts; --ip needs a user
// network.
func TestNetworkHostDNSAddHost(t *testing.T) {
	busybox(t)
	host := sh(t, "busybox ip -o link | wc -l")
	if out := strings.TrimSpace(ok(t, "run", "--rm", "--network", "host", "busybox", "sh", "-c", "ip -o link | wc -l")); out != host {
		t.Errorf("--network host sees %s links, the host has %s", out, host)
	}
	out := ok(t, "run", "--rm", "--dns", "192.0.2.53", "--add-host", "db.example:192.0.2.7", "--add-host", "gw:host-gateway",
		"busybox", "sh", "-c", "cat /etc/resolv.conf /etc/hosts")
	for _, want := range []string{"nameserver 192.0.2.53", "192.0.2.7\tdb.example", "10.89.0.1\tgw"} {
		if !strings.Contains(out, want) {
			t.Errorf("resolv.conf and hosts lack %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{"--ip", "10.89.0.9"},
		{"--network-alias", "x"},
		{"--add-host", "bad"},
		{"--dns", "not-an-ip"},
		{"--network", "host", "-p", "80:80"},
	} {
		if r := run(t, append(append([]string{"run", "--rm"}, args...), "busybox", "true")...); r.code != 125 {
			t.Errorf("run %v: exit %d, want 125; %q", args, r.code, r.stderr)
		}
	}
}

// TestPublishedPortTaken: a host port another container publishes, or
// that a host process listens on, is refused with Docker's message
// before the command runs, and nothing is left published; the port is
// free again once its container is gone.
func TestPublishedPortTaken(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_porta", "-p", "18095:8080", "busybox", "httpd", "-f", "-p", "8080", "-h", "/var/www")
	defer run(t, "rm", "-f", "it_porta")
	r := run(t, "run", "--name", "it_portb", "-p", "127.0.0.1:18095:80", "busybox", "sh", "-c", "echo ran")
	defer run(t, "rm", "-f", "it_portb")
	if r.code != 125 || !strings.Contains(r.stderr, "Bind for 127.0.0.1:18095/tcp failed: port is already allocated") || strings.Contains(r.stdout, "ran") {
		t.Errorf("second container on a published port: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// A host process on a port.
	exec.Command("systemctl", "reset-failed", "it-hostport").Run()
	sh(t, "systemd-run --unit=it-hostport busybox nc -l -p 18096")
	defer exec.Command("systemctl", "stop", "it-hostport").Run()
	waitFor(t, 5*time.Second, "nc to listen", func() bool {
		return exec.Command("sh", "-c", "busybox netstat -ltn | grep -q ':18096 '").Run() == nil
	})
	r = run(t, "run", "--rm", "-p", "18096:80", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("a port a host process listens on: exit %d, %q", r.code, r.stderr)
	}
	// Once it_porta is gone, the port is free.
	ok(t, "rm", "-f", "it_porta", "it_portb")
	ok(t, "run", "--rm", "-p", "18095:80", "busybox", "true")
	if n := sh(t, "nft list ruleset | grep -c 'dport 18095' || true"); n != "0" {
		t.Errorf("%s rules for port 18095 left", n)
	}
}

// TestPublishAll: -P publishes every port the image exposes on a free
// host port of the ephemeral range; berth port shows them, and they
// answer.
func TestPublishAll(t *testing.T) {
	busybox(t)
	// busybox with EXPOSE 80/tcp and 53/udp, loaded from a docker archive.
	l, err := tarball.LayerFromFile(filepath.Join(binary(t, "BERTH_IMAGES"), "busybox.tar"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Cmd: []string{"httpd", "-f", "-p", "80", "-h", "/var/www"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "exposing.tar")
	if err := tarball.WriteToFile(archive, name.MustParseReference("it/exposing:1"), img); err != nil {
		t.Fatal(err)
	}
	ok(t, "load", "-i", archive)
	defer run(t, "rmi", "it/exposing:1")
	ok(t, "run", "-d", "--name", "it_puball", "-P", "it/exposing:1")
	defer run(t, "rm", "-f", "it_puball")
	ports := ok(t, "port", "it_puball")
	var web string
	for _, l := range strings.Split(strings.TrimSpace(ports), "\n") {
		ctr, host, _ := strings.Cut(l, " -> 0.0.0.0:")
		n, err := strconv.Atoi(host)
		if err != nil || n < 32768 {
			t.Errorf("berth port: %q is not on an ephemeral port", l)
		}
		if ctr == "80/tcp" {
			web = host
		}
	}
	if strings.Count(ports, "\n") != 2 || !strings.Contains(ports, "53/udp -> ") || web == "" {
		t.Fatalf("berth port after -P: %q", ports)
	}
	waitFor(t, 5*time.Second, "the -P port to answer", func() bool {
		out, err := exec.Command("busybox", "wget", "-qO-", "http://127.0.0.1:"+web+"/").Output()
		return err == nil && strings.Contains(string(out), "Hello from a berth container")
	})
	// A second -P container gets other ports.
	ok(t, "run", "-d", "--name", "it_puball2", "-P", "it/exposing:1")
	defer run(t, "rm", "-f", "it_puball2")
	if p2 := ok(t, "port", "it_puball2", "80/tcp"); strings.TrimSpace(p2) == "0.0.0.0:"+web || !strings.HasPrefix(p2, "0.0.0.0:") {
		t.Errorf("two -P containers share port %s", web)
	}
}

// TestNetworkContainer: --network container:OTHER shares OTHER's network
// namespace: the same address, and OTHER's server on localhost.
func TestNetworkContainer(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_netowner", "busybox", "httpd", "-f", "-p", "8080", "-h", "/var/www")
	defer run(t, "rm", "-f", "it_netowner")
	ip := strings.TrimSpace(ok(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "it_netowner"))
	var out string
	waitFor(t, 5*time.Second, "the owner's server on the shared localhost", func() bool {
		r := run(t, "run", "--rm", "--network", "container:it_netowner", "busybox", "sh", "-c", "ip -4 -o addr show eth0; wget -qO- http://127.0.0.1:8080/")
		out = r.stdout
		return r.code == 0
	})
	if !strings.Contains(out, "inet "+ip+"/") || !strings.Contains(out, "Hello from a berth container") {
		t.Errorf("in container:it_netowner's network: %q (owner has %s)", out, ip)
	}
	if mode := strings.TrimSpace(ok(t, "inspect", "-f", "{{.HostConfig.NetworkMode}}", "it_netowner")); mode != "bridge" {
		t.Errorf("owner's network mode %q", mode)
	}
	if r := run(t, "run", "--rm", "--network", "container:nosuch", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("container:nosuch: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, "run", "--rm", "--network", "container:it_netowner", "-p", "1:1", "busybox", "true"); r.code != 125 {
		t.Errorf("-p with container: network: exit %d, %q", r.code, r.stderr)
	}
	ok(t, "kill", "it_netowner")
	waitFor(t, 5*time.Second, "it_netowner to exit", func() bool { return inspect(t, "it_netowner").State.Status == "exited" })
	if r := run(t, "run", "--rm", "--network", "container:it_netowner", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "non running") {
		t.Errorf("joining a stopped container's network: exit %d, %q", r.code, r.stderr)
	}
}

// TestNetworkConnect: a running container connected to a second user
// network gets eth1 there and is found by name and alias on it, keeps
// it across a restart, and loses it on disconnect.
func TestNetworkConnect(t *testing.T) {
	busybox(t)
	ok(t, "network", "create", "it_cfront")
	defer run(t, "network", "rm", "it_cfront")
	ok(t, "network", "create", "it_cback")
	defer run(t, "network", "rm", "it_cback")
	ok(t, "run", "-d", "--name", "it_capi", "--network", "it_cback", "busybox", "httpd", "-f", "-p", "80", "-h", "/var/www")
	defer run(t, "rm", "-f", "it_capi")
	ok(t, "run", "-d", "--name", "it_cweb", "--network", "it_cfront", "busybox", "sleep", "1000")
	defer run(t, "rm", "-f", "it_cweb")
	fetch := func() result {
		return run(t, "exec", "it_cweb", "sh", "-c", "timeout -s KILL 3 wget -qO- http://it_capi/; exit $?")
	}
	if r := fetch(); r.code == 0 {
		t.Fatalf("it_cweb on it_cfront reached it_capi on it_cback before connect: %q", r.stdout)
	}
	ok(t, "network", "connect", "--alias", "api", "it_cback", "it_cweb")
	links := ok(t, "exec", "it_cweb", "sh", "-c", "ip -4 -o addr show eth1; ip route")
	if !strings.Contains(links, "eth1") || strings.Count(links, "default via") != 1 {
		t.Errorf("after connect: %q (want eth1, one default route)", links)
	}
	if r := fetch(); r.code != 0 || !strings.Contains(r.stdout, "Hello from a berth container") {
		t.Errorf("after connect, it_cweb cannot reach it_capi by name: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// it_capi finds it_cweb by its alias on it_cback.
	if out := ok(t, "exec", "it_capi", "nslookup", "api"); !strings.Contains(out, "Address: 10.89.") {
		t.Errorf("the alias on it_cback: %q", out)
	}
	if nets := ok(t, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}", "it_cweb"); !strings.Contains(nets, "it_cback=10.89.") || !strings.Contains(nets, "it_cfront=10.89.") {
		t.Errorf("inspect networks: %q", nets)
	}
	if r := run(t, "network", "connect", "it_cback", "it_cweb"); r.code == 0 || !strings.Contains(r.stderr, "already connected") {
		t.Errorf("second connect: exit %d %q", r.code, r.stderr)
	}
	if r := run(t, "network", "rm", "it_cback"); r.code == 0 {
		t.Error("network rm of a network a container is connected to succeeded")
	}
	// A restart keeps the connection.
	ok(t, "restart", "-t", "0", "it_cweb")
	if r := fetch(); r.code != 0 {
		t.Errorf("after restart: exit %d %q", r.code, r.stderr)
	}
	ok(t, "network", "disconnect", "it_cback", "it_cweb")
	if r := fetch(); r.code == 0 {
		t.Errorf("after disconnect it_cweb still reaches it_capi: %q", r.stdout)
	}
	if out, _ := exec.Command("sh", "-c", "ip -o link | grep -cE '^[0-9]+: vb[0-9a-f]{8}n' || true").Output(); strings.TrimSpace(string(out)) != "0" {
		t.Errorf("extra veths left after disconnect: %s", out)
	}
	if r := run(t, "network", "disconnect", "it_cfront", "it_cweb"); r.code != 125 {
		t.Errorf("disconnect from its own network: exit %d %q", r.code, r.stderr)
	}
}
