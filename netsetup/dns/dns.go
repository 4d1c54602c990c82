package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Lookup returns the addresses of a name (lower case, no trailing dot)
// for the client that asks; none when the network does not know it.
type Lookup func(name string, client netip.Addr) []netip.Addr

// Forward sends a query to the host's resolvers and returns their
// response; tcp says which transport the query came by.
type Forward func(ctx context.Context, query []byte, tcp bool) ([]byte, error)

// Answer returns the response to query. Names lookup knows get their A
// records, authoritative with TTL 0 (and an empty answer for other
// types, so that a resolver does not look further); other names go to
// forward when it is not nil: NXDOMAIN without one, SERVFAIL when it
// fails. A query that cannot be parsed gets FORMERR when its header can.
func Answer(ctx context.Context, query []byte, client netip.Addr, lookup Lookup, forward Forward, tcp bool) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err // not even a header: no answer
	}
	q, err := p.Question()
	if err != nil || h.Response || h.OpCode != 0 {
		return reply(h, nil, dnsmessage.RCodeFormatError, false, nil)
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	if addrs := lookup(name, client); len(addrs) > 0 && q.Class == dnsmessage.ClassINET {
		var rrs []dnsmessage.Resource
		if q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL {
			for _, a := range addrs {
				if a.Is4() {
					rrs = append(rrs, dnsmessage.Resource{
						Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 0},
						Body:   &dnsmessage.AResource{A: a.As4()},
					})
				}
			}
		}
		return reply(h, &q, dnsmessage.RCodeSuccess, true, rrs)
	}
	if forward == nil {
		return reply(h, &q, dnsmessage.RCodeNameError, false, nil)
	}
	resp, err := forward(ctx, query, tcp)
	if err != nil {
		return reply(h, &q, dnsmessage.RCodeServerFailure, false, nil)
	}
	return resp, nil
}

func reply(h dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, authoritative bool, answers []dnsmessage.Resource) ([]byte, error) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode, Authoritative: authoritative,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if q != nil {
		if err := b.StartQuestions(); err != nil {
			return nil, err
		}
		if err := b.Question(*q); err != nil {
			return nil, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, rr := range answers {
		if err := b.AResource(rr.Header, *rr.Body.(*dnsmessage.AResource)); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// Upstream returns a Forward that asks the servers in turn (each with
// timeout), over the transport the query came by.
func Upstream(servers []netip.AddrPort, timeout time.Duration) Forward {
	if len(servers) == 0 {
		return nil
	}
	return func(ctx context.Context, query []byte, tcp bool) ([]byte, error) {
		var last error
		for _, s := range servers {
			resp, err := exchange(ctx, s, query, tcp, timeout)
			if err == nil {
				return resp, nil
			}
			last = err
		}
		return nil, last
	}
}

func exchange(ctx context.Context, server netip.AddrPort, query []byte, tcp bool, timeout time.Duration) ([]byte, error) {
	network := "udp"
	if tcp {
		network = "tcp"
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, network, server.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if tcp {
		if err := writeTCP(c, query); err != nil {
			return nil, err
		}
		return readTCP(c)
	}
	if _, err := c.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func writeTCP(w io.Writer, msg []byte) error {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}

func readTCP(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	_, err := io.ReadFull(r, msg)
	return msg, err
}

// Serve answers queries on pc (UDP) and ln (TCP; either may be nil)
// until ctx ends or no query has come for idle (0: never), and returns
// nil then. It closes neither.
func Serve(ctx context.Context, pc net.PacketConn, ln net.Listener, lookup Lookup, forward Forward, idle time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	touch := func() { last.Store(time.Now().UnixNano()) }
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	if pc != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 65535)
			for {
				pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				n, from, err := pc.ReadFrom(buf)
				if ctx.Err() != nil {
					return
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				touch()
				q := append([]byte(nil), buf[:n]...)
				go func() {
					if resp, err := Answer(ctx, q, addrOf(from), lookup, forward, false); err == nil {
						pc.WriteTo(resp, from)
					}
				}()
			}
		}()
	}
	if ln != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type deadliner interface{ SetDeadline(time.Time) error }
			for {
				if d, ok := ln.(deadliner); ok {
					d.SetDeadline(time.Now().Add(200 * time.Millisecond))
				}
				c, err := ln.Accept()
				if ctx.Err() != nil {
					if c != nil {
						c.Close()
					}
					return
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				touch()
				go func() {
					defer c.Close()
					for {
						c.SetDeadline(time.Now().Add(5 * time.Second))
						q, err := readTCP(c)
						if err != nil {
							return
						}
						touch()
						resp, err := Answer(ctx, q, addrOf(c.RemoteAddr()), lookup, forward, true)
						if err != nil || writeTCP(c, resp) != nil {
							return
						}
					}
				}()
			}
		}()
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case err := <-errs:
			cancel()
			wg.Wait()
			return err
		case <-tick.C:
			if idle > 0 && time.Since(time.Unix(0, last.Load())) > idle {
				cancel()
				wg.Wait()
				return nil
			}
		}
	}
}

// addrOf is the IP address of a UDP or TCP peer (invalid otherwise).
func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch x := a.(type) {
	case *net.UDPAddr:
		ip = x.IP
	case *net.TCPAddr:
		ip = x.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}
