package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

var subnet = netip.MustParsePrefix("10.88.0.0/29") // hosts .1 (gateway) .. .6; .7 broadcast

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// stores runs f against both stores, so each behaviour is checked on the
// fake and on disk alike.
func stores(t *testing.T, f func(t *testing.T, a *Allocator)) {
	t.Run("mem", func(t *testing.T) { f(t, New(NewMemStore())) })
	t.Run("disk", func(t *testing.T) { f(t, New(NewDiskStore(t.TempDir()))) })
}

func TestAllocationOrder(t *testing.T) {
	stores(t, func(t *testing.T, a *Allocator) {
		var got []string
		for i := range 5 {
			addr, err := a.Allocate("berth", fmt.Sprintf("c%d", i), subnet, netip.Addr{})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, addr.String())
		}
		want := "10.88.0.2 10.88.0.3 10.88.0.4 10.88.0.5 10.88.0.6"
		if s := strings.Join(got, " "); s != want {
			t.Fatalf("got %s, want %s (never .0, .1 gateway, .7 broadcast)", s, want)
		}
		_, err := a.Allocate("berth", "c5", subnet, netip.Addr{})
		if !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("exhausted subnet: got %v, want ErrUnavailable", err)
		}
		// Release frees the address, and the lowest free one comes next.
		if err := a.Release("berth", "c1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Release("berth", "c1"); err != nil {
			t.Fatalf("second release: %v", err)
		}
		addr, err := a.Allocate("berth", "c6", subnet, netip.Addr{})
		if err != nil || addr != ip("10.88.0.3") {
			t.Fatalf("after release got %v, %v; want 10.88.0.3", addr, err)
		}
		// The same owner gets the same address again.
		again, err := a.Allocate("berth", "c6", subnet, netip.Addr{})
		if err != nil || again != addr {
			t.Fatalf("idempotent allocate got %v, %v; want %v", again, err, addr)
		}
		// Networks are independent.
		other, err := a.Allocate("other", "c0", subnet, netip.Addr{})
		if err != nil || other != ip("10.88.0.2") {
			t.Fatalf("other network got %v, %v", other, err)
		}
	})
}

func TestRequestedAddress(t *testing.T) {
	stores(t, func(t *testing.T, a *Allocator) {
		addr, err := a.Allocate("n", "web", subnet, ip("10.88.0.5"))
		if err != nil || addr != ip("10.88.0.5") {
			t.Fatalf("got %v, %v", addr, err)
		}
		if _, err := a.Allocate("n", "db", subnet, ip("10.88.0.5")); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "in use by web") {
			t.Fatalf("taken address: got %v", err)
		}
		if _, err := a.Allocate("n", "web", subnet, ip("10.88.0.4")); !errors.Is(err, errdefs.ErrConflict) {
			t.Fatalf("owner asking a second address: got %v", err)
		}
		for _, bad := range []string{"10.88.0.0", "10.88.0.1", "10.88.0.7", "10.88.1.2", "192.168.0.2", "fd00::2"} {
			_, err := a.Allocate("n", "db", subnet, ip(bad))
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Errorf("%s: got %v, want ErrInvalid", bad, err)
			}
		}
		// Any address skips the requested one.
		next, err := a.Allocate("n", "db", subnet, netip.Addr{})
		if err != nil || next != ip("10.88.0.2") {
			t.Fatalf("got %v, %v", next, err)
		}
		if o, err := a.Owner("n", ip("10.88.0.5")); err != nil || o != "web" {
			t.Fatalf("Owner: %q, %v", o, err)
		}
		if _, err := a.Owner("n", ip("10.88.0.6")); !errors.Is(err, errdefs.ErrNotFound) {
			t.Fatalf("Owner of free address: %v", err)
		}
		l, err := a.List("n")
		if err != nil || fmt.Sprint(l) != "[{10.88.0.2 db} {10.88.0.5 web}]" {
			t.Fatalf("List: %v, %v", l, err)
		}
	})
}

func TestInvalidInput(t *testing.T) {
	a := New(NewMemStore())
	for _, tc := range []struct {
		network, owner, subnet string
	}{
		{"n", "c", "fd00::/64"},
		{"n", "c", "10.0.0.0/31"},
		{"n", "", "10.0.0.0/24"},
		{"../x", "c", "10.0.0.0/24"},
		{".lock", "c", "10.0.0.0/24"},
		{"", "c", "10.0.0.0/24"},
	} {
		if _, err := a.Allocate(tc.network, tc.owner, netip.MustParsePrefix(tc.subnet), netip.Addr{}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%+v: got %v, want ErrInvalid", tc, err)
		}
	}
}

func TestReclaim(t *testing.T) {
	stores(t, func(t *testing.T, a *Allocator) {
		for _, o := range []string{"alive1", "dead1", "alive2", "dead2"} {
			if _, err := a.Allocate("n", o, subnet, netip.Addr{}); err != nil {
				t.Fatal(err)
			}
		}
		freed, err := a.Reclaim("n", func(o string) bool { return strings.HasPrefix(o, "alive") })
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(freed) != "[{10.88.0.3 dead1} {10.88.0.5 dead2}]" {
			t.Fatalf("freed %v", freed)
		}
		l, _ := a.List("n")
		if fmt.Sprint(l) != "[{10.88.0.2 alive1} {10.88.0.4 alive2}]" {
			t.Fatalf("left %v", l)
		}
	})
}

func TestConcurrentGoroutines(t *testing.T) {
	stores(t, func(t *testing.T, a *Allocator) {
		big := netip.MustParsePrefix("10.89.0.0/24")
		var wg sync.WaitGroup
		addrs := make([]netip.Addr, 64)
		errs := make([]error, 64)
		for i := range addrs {
			wg.Go(func() {
				addrs[i], errs[i] = a.Allocate("n", fmt.Sprintf("c%d", i), big, netip.Addr{})
			})
		}
		wg.Wait()
		seen := map[netip.Addr]int{}
		for i, ad := range addrs {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if j, dup := seen[ad]; dup {
				t.Fatalf("%s handed to c%d and c%d", ad, j, i)
			}
			seen[ad] = i
		}
		l, _ := a.List("n")
		if len(l) != 64 {
			t.Fatalf("%d leases, want 64", len(l))
		}
	})
}

// TestTwoProcesses runs allocators in separate processes (this test
// binary re-executed as a helper) on one disk store: the flock must keep
// them from handing out an address twice.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("re-execs the test binary")
	}
	dir := t.TempDir()
	const procs, each = 3, 20
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAllocate$")
		cmd.Env = append(os.Environ(), "IPAM_HELPER_DIR="+dir, fmt.Sprintf("IPAM_HELPER_ID=p%d", p), fmt.Sprintf("IPAM_HELPER_N=%d", each))
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		outs = append(outs, out)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
	}
	seen := map[string]string{}
	for _, out := range outs {
		for _, line := range strings.Split(out.String(), "\n") {
			owner, addr, ok := strings.Cut(line, " got ")
			if !ok {
				continue
			}
			if prev, dup := seen[addr]; dup {
				t.Fatalf("%s handed to %s and %s", addr, prev, owner)
			}
			seen[addr] = owner
		}
	}
	if len(seen) != procs*each {
		t.Fatalf("%d addresses handed out, want %d", len(seen), procs*each)
	}
	l, err := New(NewDiskStore(dir)).List("n")
	if err != nil || len(l) != procs*each {
		t.Fatalf("%d leases on disk (%v), want %d", len(l), err, procs*each)
	}
}

// TestHelperAllocate is the helper process of TestTwoProcesses; it does
// nothing in a normal run.
func TestHelperAllocate(t *testing.T) {
	dir := os.Getenv("IPAM_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestTwoProcesses")
	}
	var n int
	fmt.Sscan(os.Getenv("IPAM_HELPER_N"), &n)
	a := New(NewDiskStore(dir))
	for i := range n {
		owner := fmt.Sprintf("%s-%d", os.Getenv("IPAM_HELPER_ID"), i)
		addr, err := a.Allocate("n", owner, netip.MustParsePrefix("10.90.0.0/24"), netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%s got %s\n", owner, addr)
	}
}

func TestDiskFormat(t *testing.T) {
	dir := t.TempDir()
	a := New(NewDiskStore(dir))
	id := strings.Repeat("ab", 32)
	addr, err := a.Allocate("berth", id, subnet, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "berth", "10.88.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != id+"\n" {
		t.Fatalf("lease file holds %q, want the owner and a newline", b)
	}
	fi, _ := os.Stat(filepath.Join(dir, "berth", addr.String()))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("lease mode %v", fi.Mode())
	}
	// A crash half way through a write leaves a temp file: it is not a
	// lease, does not block its address, and does not break listing.
	if err := os.WriteFile(filepath.Join(dir, "berth", ".10.88.0.3.tmp-12345"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	next, err := a.Allocate("berth", "c2", subnet, netip.Addr{})
	if err != nil || next != ip("10.88.0.3") {
		t.Fatalf("after crash debris got %v, %v; want 10.88.0.3", next, err)
	}
	l, err := a.List("berth")
	if err != nil || len(l) != 2 {
		t.Fatalf("List: %v, %v", l, err)
	}
	if err := a.Release("berth", id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "berth", "10.88.0.2")); !os.IsNotExist(err) {
		t.Fatalf("lease file still there after release: %v", err)
	}
}
