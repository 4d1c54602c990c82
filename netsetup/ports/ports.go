// Package ports keeps the claims on host ports that published container
// ports hold, so that two containers never publish the same one: a claim
// is a file DIR/<proto>-<ip>-<port> holding the owner (a container ID),
// made under an flock of DIR/.lock, as ipam keeps leases. berth publishes
// ports with nftables DNAT rather than a proxy holding a socket, so
// without these claims nothing would stop a second container from taking
// a port silently.
//
// 0.0.0.0 stands for every address: a claim on it conflicts with any
// claim on the same port, and the other way round.
//
// It imports only the standard library and internal packages.
package ports

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
)

// Port is one host port: protocol ("tcp", "udp"), address (unspecified
// for every address) and number.
type Port struct {
	Proto string
	IP    netip.Addr
	Num   uint16
}

func (p Port) ip() netip.Addr {
	if !p.IP.IsValid() {
		return netip.IPv4Unspecified()
	}
	return p.IP
}

// String is Docker's form, 0.0.0.0:8080/tcp.
func (p Port) String() string { return fmt.Sprintf("%s:%d/%s", p.ip(), p.Num, p.Proto) }

func (p Port) file() string { return fmt.Sprintf("%s-%s-%d", p.Proto, p.ip(), p.Num) }

func parseFile(name string) (Port, bool) {
	parts := strings.Split(name, "-")
	if len(parts) != 3 {
		return Port{}, false
	}
	ip, err := netip.ParseAddr(parts[1])
	n, err2 := strconv.ParseUint(parts[2], 10, 16)
	if err != nil || err2 != nil {
		return Port{}, false
	}
	return Port{Proto: parts[0], IP: ip, Num: uint16(n)}, true
}

// conflicts tells whether two ports cannot both be published.
func conflicts(a, b Port) bool {
	return a.Proto == b.Proto && a.Num == b.Num && (a.ip() == b.ip() || a.ip().IsUnspecified() || b.ip().IsUnspecified())
}

// ConflictError says which port is taken, and by whom.
type ConflictError struct {
	Port  Port
	Owner string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("Bind for %s failed: port is already allocated (by container %.12s)", e.Port, e.Owner)
}

func (e *ConflictError) Unwrap() error { return errdefs.ErrConflict }

// Store is the claims in a directory.
type Store struct{ dir string }

// NewStore returns the claims kept in dir (created on first use).
func NewStore(dir string) *Store { return &Store{dir: dir} }

func (s *Store) lock() (*fsutil.Lock, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	return fsutil.LockFile(filepath.Join(s.dir, ".lock"), true)
}

// Claim claims every port for owner, all or none. A port owner holds
// already is kept; a claim whose owner stale says is gone is taken over.
// A conflict is a *ConflictError (class errdefs.ErrConflict).
func (s *Store) Claim(owner string, want []Port, stale func(owner string) bool) error {
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	held, err := s.read()
	if err != nil {
		return err
	}
	for _, w := range want {
		for p, o := range held {
			if o != owner && conflicts(w, p) && !stale(o) {
				return &ConflictError{Port: w, Owner: o}
			}
		}
	}
	for _, w := range want {
		if err := fsutil.WriteFileAtomic(filepath.Join(s.dir, w.file()), []byte(owner), 0o600); err != nil {
			s.release(owner)
			return fmt.Errorf("claim %s: %w", w, err)
		}
	}
	// Stale claims that conflicted are gone with their owners.
	for p, o := range held {
		if o != owner && stale(o) {
			os.Remove(filepath.Join(s.dir, p.file()))
		}
	}
	return nil
}

// Release drops every claim of owner. Idempotent.
func (s *Store) Release(owner string) error {
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	return s.release(owner)
}

func (s *Store) release(owner string) error {
	held, err := s.read()
	if err != nil {
		return err
	}
	var errs []error
	for p, o := range held {
		if o == owner {
			if err := os.Remove(filepath.Join(s.dir, p.file())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Held returns every claim: port → owner.
func (s *Store) Held() (map[Port]string, error) { return s.read() }

func (s *Store) read() (map[Port]string, error) {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[Port]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[Port]string{}
	for _, e := range ents {
		p, ok := parseFile(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			continue
		}
		out[p] = string(b)
	}
	return out, nil
}
