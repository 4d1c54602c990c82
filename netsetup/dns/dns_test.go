package dns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var names = map[string][]netip.Addr{
	"web":      {netip.MustParseAddr("10.89.1.2")},
	"web.net1": {netip.MustParseAddr("10.89.1.2")},
	"db":       {netip.MustParseAddr("10.89.1.3"), netip.MustParseAddr("10.89.1.4")},
}

func lookup(n string, _ netip.Addr) []netip.Addr { return names[n] }

func query(t *testing.T, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 4242, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET})
	q, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func parse(t *testing.T, resp []byte) (dnsmessage.Header, []string) {
	t.Helper()
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		t.Fatal(err)
	}
	p.SkipAllQuestions()
	var addrs []string
	for {
		if _, err := p.AnswerHeader(); err != nil {
			break
		}
		a, err := p.AResource()
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, netip.AddrFrom4(a.A).String())
	}
	return h, addrs
}

func TestAnswer(t *testing.T) {
	ctx := context.Background()
	upstream := []byte("from upstream")
	fwdOK := func(context.Context, []byte, bool) ([]byte, error) { return upstream, nil }
	fwdFail := func(context.Context, []byte, bool) ([]byte, error) { return nil, errors.New("unreachable") }
	for _, tc := range []struct {
		desc     string
		name     string
		typ      dnsmessage.Type
		fwd      Forward
		rcode    dnsmessage.RCode
		addrs    []string
		upstream bool
	}{
		{"a name", "web.", dnsmessage.TypeA, fwdOK, dnsmessage.RCodeSuccess, []string{"10.89.1.2"}, false},
		{"any case", "WeB.", dnsmessage.TypeA, nil, dnsmessage.RCodeSuccess, []string{"10.89.1.2"}, false},
		{"name.network", "web.net1.", dnsmessage.TypeA, nil, dnsmessage.RCodeSuccess, []string{"10.89.1.2"}, false},
		{"two addresses", "db.", dnsmessage.TypeA, nil, dnsmessage.RCodeSuccess, []string{"10.89.1.3", "10.89.1.4"}, false},
		{"AAAA of a known name: no data, not upstream", "web.", dnsmessage.TypeAAAA, fwdOK, dnsmessage.RCodeSuccess, nil, false},
		{"unknown, no upstream", "nothere.", dnsmessage.TypeA, nil, dnsmessage.RCodeNameError, nil, false},
		{"unknown, upstream fails", "example.org.", dnsmessage.TypeA, fwdFail, dnsmessage.RCodeServerFailure, nil, false},
		{"unknown goes upstream", "example.org.", dnsmessage.TypeA, fwdOK, 0, nil, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, err := Answer(ctx, query(t, tc.name, tc.typ), netip.Addr{}, lookup, tc.fwd, false)
			if err != nil {
				t.Fatal(err)
			}
			if tc.upstream {
				if string(resp) != string(upstream) {
					t.Fatalf("response %q, want upstream's", resp)
				}
				return
			}
			h, addrs := parse(t, resp)
			if h.ID != 4242 || !h.Response || h.RCode != tc.rcode || !slices.Equal(addrs, tc.addrs) {
				t.Errorf("header %+v answers %q; want rcode %v answers %q", h, addrs, tc.rcode, tc.addrs)
			}
		})
	}
	if _, err := Answer(ctx, []byte{1, 2, 3}, netip.Addr{}, lookup, nil, false); err == nil {
		t.Error("a 3-byte query got an answer")
	}
}

// TestServe asks a real resolver (the standard library's, over UDP and
// TCP) through loopback sockets.
func TestServe(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Serve(ctx, pc, ln, lookup, nil, 0) }()
	for _, network := range []string{"udp", "tcp"} {
		addr := pc.LocalAddr().String()
		if network == "tcp" {
			addr = ln.Addr().String()
		}
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
		got, err := r.LookupHost(context.Background(), "db")
		if err != nil || !slices.Equal(got, []string{"10.89.1.3", "10.89.1.4"}) {
			t.Errorf("%s: LookupHost db: %q, %v", network, got, err)
		}
		if _, err := r.LookupHost(context.Background(), "nothere"); err == nil {
			t.Errorf("%s: nothere resolved", network)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	// Idle: Serve returns by itself.
	start := time.Now()
	if err := Serve(context.Background(), pc, ln, lookup, nil, 300*time.Millisecond); err != nil || time.Since(start) > 2*time.Second {
		t.Errorf("idle Serve: %v after %v", err, time.Since(start))
	}
}
