package network

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/fsutil"
)

// The networks every host has, as Docker names them.
const (
	Bridge = "bridge" // the default bridge network, on DefaultBridge
	Host   = "host"   // the host's own network namespace
	None   = "none"   // loopback only
)

// DefaultBridge is the default network's bridge, and DefaultSubnet its
// subnet; user networks get the next free 10.89.N.0/24.
const DefaultBridge = "berth0"

// DefaultSubnet is the default network's subnet.
var DefaultSubnet = netip.MustParsePrefix("10.89.0.0/24")

// Network is one network's definition.
type Network struct {
	Name     string            `json:"Name"`
	ID       string            `json:"Id"`
	Driver   string            `json:"Driver"` // "bridge", "host" or "null", as Docker
	Bridge   string            `json:"Bridge,omitempty"`
	Subnet   netip.Prefix      `json:"Subnet,omitzero"`
	Gateway  netip.Addr        `json:"Gateway,omitzero"`
	Internal bool              `json:"Internal"`
	Created  time.Time         `json:"Created"`
	Labels   map[string]string `json:"Labels,omitempty"`
}

// IsUser tells whether n is a user network: one with names resolved by
// berth's DNS responder (the default bridge has none, as Docker's).
func (n Network) IsUser() bool { return n.Driver == "bridge" && n.Name != Bridge }

// Builtin returns the networks every host has, with stable IDs, the
// default bridge network on DefaultSubnet.
func Builtin() []Network { return BuiltinWith(DefaultSubnet) }

// BuiltinWith is Builtin with the default bridge network on subnet (the
// default_subnet of /etc/berth/berth.toml).
func BuiltinWith(subnet netip.Prefix) []Network {
	id := func(s string) string {
		sum := sha256.Sum256([]byte("berth network " + s))
		return hex.EncodeToString(sum[:])
	}
	return []Network{
		{Name: Bridge, ID: id(Bridge), Driver: "bridge", Bridge: DefaultBridge, Subnet: subnet, Gateway: subnet.Addr().Next()},
		{Name: Host, ID: id(Host), Driver: "host"},
		{Name: None, ID: id(None), Driver: "null"},
	}
}

// CreateOptions are `berth network create`'s flags.
type CreateOptions struct {
	Subnet   netip.Prefix // zero: the next free 10.89.N.0/24
	Gateway  netip.Addr   // zero: the subnet's first host address
	Internal bool
	Labels   map[string]string
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// CheckName refuses a name Docker would refuse, or one of the built-in
// networks'.
func CheckName(name string) error {
	if !validName.MatchString(name) || len(name) > 64 {
		return fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", name, errdefs.ErrInvalid)
	}
	for _, b := range Builtin() {
		if name == b.Name {
			return fmt.Errorf("network %s is built in: %w", name, errdefs.ErrAlreadyExists)
		}
	}
	return nil
}

// Plan chooses a new network's bridge and subnet, given the networks
// that exist and the host's routes (whose subnets a new one must not
// overlap). It is pure.
func Plan(name string, o CreateOptions, existing []Network, hostRoutes []netip.Prefix) (Network, error) {
	if err := CheckName(name); err != nil {
		return Network{}, err
	}
	for _, n := range existing {
		if n.Name == name {
			return Network{}, fmt.Errorf("network with name %s already exists: %w", name, errdefs.ErrAlreadyExists)
		}
	}
	n := Network{Name: name, Driver: "bridge", Internal: o.Internal, Labels: o.Labels}
	used := map[string]bool{}
	for _, e := range existing {
		used[e.Bridge] = true
	}
	for i := 1; ; i++ {
		if b := fmt.Sprintf("berth%d", i); !used[b] {
			n.Bridge = b
			break
		}
	}
	overlaps := func(p netip.Prefix) string {
		for _, e := range existing {
			if e.Subnet.IsValid() && e.Subnet.Overlaps(p) {
				return "network " + e.Name + "'s " + e.Subnet.String()
			}
		}
		for _, r := range hostRoutes {
			if r.Bits() > 0 && r.Overlaps(p) {
				return "the host's route to " + r.String()
			}
		}
		return ""
	}
	if o.Subnet.IsValid() {
		if !o.Subnet.Addr().Is4() || o.Subnet.Bits() > 30 || o.Subnet.Bits() < 8 {
			return Network{}, fmt.Errorf("subnet %s: want an IPv4 subnet from /8 to /30: %w", o.Subnet, errdefs.ErrInvalid)
		}
		if o.Subnet.Masked() != o.Subnet {
			return Network{}, fmt.Errorf("subnet %s: host bits are set (did you mean %s?): %w", o.Subnet, o.Subnet.Masked(), errdefs.ErrInvalid)
		}
		if why := overlaps(o.Subnet); why != "" {
			return Network{}, fmt.Errorf("subnet %s overlaps %s: %w", o.Subnet, why, errdefs.ErrInvalid)
		}
		n.Subnet = o.Subnet
	} else {
		for i := 1; i < 256 && !n.Subnet.IsValid(); i++ {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 89, byte(i), 0}), 24)
			if overlaps(p) == "" {
				n.Subnet = p
			}
		}
		if !n.Subnet.IsValid() {
			return Network{}, fmt.Errorf("no free subnet in 10.89.0.0/16 for network %s: give one with --subnet: %w", name, errdefs.ErrUnavailable)
		}
	}
	n.Gateway = n.Subnet.Addr().Next()
	if o.Gateway.IsValid() {
		if !n.Subnet.Contains(o.Gateway) || o.Gateway == n.Subnet.Addr() {
			return Network{}, fmt.Errorf("gateway %s is not a host address of subnet %s: %w", o.Gateway, n.Subnet, errdefs.ErrInvalid)
		}
		n.Gateway = o.Gateway
	}
	return n, nil
}

// Store keeps the user networks' definitions in a directory.
type Store struct {
	dir           string
	defaultSubnet netip.Prefix
}

// NewStore returns the store in dir (created on first write), with the
// default bridge network on DefaultSubnet.
func NewStore(dir string) *Store { return &Store{dir: dir, defaultSubnet: DefaultSubnet} }

// WithDefaultSubnet puts the default bridge network on subnet (checked
// with CheckDefaultSubnet).
func (s *Store) WithDefaultSubnet(subnet netip.Prefix) *Store {
	s.defaultSubnet = subnet
	return s
}

// CheckDefaultSubnet refuses a default subnet berth cannot use.
func CheckDefaultSubnet(p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 30 || p.Masked() != p {
		return fmt.Errorf("default_subnet %s: want an IPv4 subnet from /8 to /30 without host bits: %w", p, errdefs.ErrInvalid)
	}
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name+".json") }

func (s *Store) lock() (*fsutil.Lock, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	return fsutil.LockFile(filepath.Join(s.dir, ".lock"), true)
}

// List returns the built-in networks, then the user networks by name.
func (s *Store) List() ([]Network, error) {
	out := BuiltinWith(s.defaultSubnet)
	ents, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		n, err := s.read(name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.SortStableFunc(out[3:], func(a, b Network) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Store) read(name string) (Network, error) {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		return Network{}, err
	}
	var n Network
	if err := json.Unmarshal(b, &n); err != nil {
		return Network{}, fmt.Errorf("network %s: %s: %w", name, s.path(name), err)
	}
	return n, nil
}

// Get finds a network by name, full ID or unique ID prefix.
func (s *Store) Get(ref string) (Network, error) {
	all, err := s.List()
	if err != nil {
		return Network{}, err
	}
	var found []Network
	for _, n := range all {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
		if len(ref) >= 1 && strings.HasPrefix(n.ID, ref) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Network{}, fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
	}
	return Network{}, fmt.Errorf("network %s is ambiguous (%d match): %w", ref, len(found), errdefs.ErrInvalid)
}

// Create plans and writes a new network; hostRoutes are the host's
// routes (see Plan). The bridge and rules are made when a container
// first joins it.
func (s *Store) Create(name string, o CreateOptions, hostRoutes []netip.Prefix) (Network, error) {
	l, err := s.lock()
	if err != nil {
		return Network{}, err
	}
	defer l.Unlock()
	all, err := s.List()
	if err != nil {
		return Network{}, err
	}
	n, err := Plan(name, o, all, hostRoutes)
	if err != nil {
		return Network{}, err
	}
	var id [32]byte
	rand.Read(id[:])
	n.ID, n.Created = hex.EncodeToString(id[:]), time.Now().UTC()
	b, _ := json.MarshalIndent(n, "", "  ")
	if err := fsutil.WriteFileAtomic(s.path(name), b, 0o644); err != nil {
		return Network{}, fmt.Errorf("create network %s: %w", name, err)
	}
	return n, nil
}

// Remove deletes a user network's definition, after inUse (called under
// the store's lock) has said no container uses it.
func (s *Store) Remove(ref string, inUse func(Network) error) (Network, error) {
	l, err := s.lock()
	if err != nil {
		return Network{}, err
	}
	defer l.Unlock()
	n, err := s.Get(ref)
	if err != nil {
		return Network{}, err
	}
	if slices.ContainsFunc(Builtin(), func(b Network) bool { return b.Name == n.Name }) {
		return Network{}, fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", n.Name, errdefs.ErrInvalid)
	}
	if inUse != nil {
		if err := inUse(n); err != nil {
			return Network{}, err
		}
	}
	if err := os.Remove(s.path(n.Name)); err != nil {
		return Network{}, fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	fsutil.SyncDir(s.dir)
	return n, nil
}
