package ipam

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berth/berth/internal/fsutil"
)

// DiskStore keeps leases as files: DIR/<network>/<addr> holds the owner.
// Writes are atomic (temp file, fsync, rename, fsync dir), so a crash
// leaves either no lease or a whole one, plus at most a hidden temp file
// (".<addr>.tmp-*") that Leases ignores. Lock is an flock of
// DIR/<network>/.lock, so it holds across processes; it is released when
// the process dies.
type DiskStore struct {
	dir string
}

// NewDiskStore returns a store rooted at dir (for berth,
// /var/lib/berth/networks/leases); directories are created on first use.
func NewDiskStore(dir string) *DiskStore { return &DiskStore{dir: dir} }

func (s *DiskStore) netDir(network string) string { return filepath.Join(s.dir, network) }

// Lock implements Store.
func (s *DiskStore) Lock(network string) (func() error, error) {
	d := s.netDir(network)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, err
	}
	l, err := fsutil.LockFile(filepath.Join(d, ".lock"), true)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// Leases implements Store. Files whose name is not an IPv4 address (the
// lock, temp files left by a crash) are ignored.
func (s *DiskStore) Leases(network string) (map[netip.Addr]string, error) {
	entries, err := os.ReadDir(s.netDir(network))
	if errors.Is(err, fs.ErrNotExist) {
		return map[netip.Addr]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Addr]string, len(entries))
	for _, e := range entries {
		addr, err := netip.ParseAddr(e.Name())
		if err != nil || !addr.Is4() || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.netDir(network), e.Name()))
		if err != nil {
			return nil, err
		}
		out[addr] = strings.TrimSpace(string(b))
	}
	return out, nil
}

// Put implements Store.
func (s *DiskStore) Put(network string, addr netip.Addr, owner string) error {
	if err := os.MkdirAll(s.netDir(network), 0o700); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(s.netDir(network), addr.String()), []byte(owner+"\n"), 0o600)
}

// Delete implements Store.
func (s *DiskStore) Delete(network string, addr netip.Addr) error {
	err := os.Remove(filepath.Join(s.netDir(network), addr.String()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return fsutil.SyncDir(s.netDir(network))
}

// MemStore is an in-memory Store: a fake for tests, and for callers that
// need no persistence. Its lock holds within one process only.
type MemStore struct {
	mu     sync.Mutex
	locks  map[string]*sync.Mutex
	leases map[string]map[netip.Addr]string
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{locks: map[string]*sync.Mutex{}, leases: map[string]map[netip.Addr]string{}}
}

// Lock implements Store.
func (s *MemStore) Lock(network string) (func() error, error) {
	s.mu.Lock()
	l := s.locks[network]
	if l == nil {
		l = new(sync.Mutex)
		s.locks[network] = l
	}
	s.mu.Unlock()
	l.Lock()
	return func() error { l.Unlock(); return nil }, nil
}

// Leases implements Store.
func (s *MemStore) Leases(network string) (map[netip.Addr]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.leases[network]), nil
}

// Put implements Store.
func (s *MemStore) Put(network string, addr netip.Addr, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases[network] == nil {
		s.leases[network] = map[netip.Addr]string{}
	}
	if o, ok := s.leases[network][addr]; ok {
		return fmt.Errorf("address %s already leased to %s", addr, o)
	}
	s.leases[network][addr] = owner
	return nil
}

// Delete implements Store.
func (s *MemStore) Delete(network string, addr netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.leases[network], addr)
	return nil
}
