package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// Store keeps the leases of each network. All methods but Lock may assume
// the caller holds Lock(network); the Allocator always does.
type Store interface {
	// Lock takes the network's allocation lock, blocking until it is
	// granted; unlock releases it.
	Lock(network string) (unlock func() error, err error)
	// Leases returns every lease of the network (address → owner); an
	// unknown network has none.
	Leases(network string) (map[netip.Addr]string, error)
	// Put records addr as held by owner. It is only called for a free
	// address.
	Put(network string, addr netip.Addr, owner string) error
	// Delete removes the lease of addr; a missing lease is not an error.
	Delete(network string, addr netip.Addr) error
}

// Lease is one address held by one owner.
type Lease struct {
	Addr  netip.Addr
	Owner string
}

// Allocator hands out addresses over a Store.
type Allocator struct {
	store Store
}

// New returns an Allocator over s.
func New(s Store) *Allocator { return &Allocator{store: s} }

// Gateway returns the address the bridge of subnet holds: the first host
// address.
func Gateway(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// checkSubnet refuses what the allocator cannot serve: not IPv4, or too
// small to have a host address besides the gateway.
func checkSubnet(subnet netip.Prefix) error {
	if !subnet.IsValid() || !subnet.Addr().Is4() {
		return fmt.Errorf("subnet %s: only IPv4 subnets are supported: %w", subnet, errdefs.ErrInvalid)
	}
	if subnet.Bits() > 30 {
		return fmt.Errorf("subnet %s: too small, need at least a /30: %w", subnet, errdefs.ErrInvalid)
	}
	return nil
}

// broadcast returns the last address of an IPv4 subnet.
func broadcast(subnet netip.Prefix) netip.Addr {
	a := subnet.Masked().Addr().As4()
	host := uint32(1)<<(32-subnet.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// usable reports why addr cannot be handed out in subnet, or "" if it can.
func usable(subnet netip.Prefix, addr netip.Addr) string {
	switch {
	case !addr.Is4() || !subnet.Contains(addr):
		return "outside the subnet"
	case addr == subnet.Masked().Addr():
		return "the network address"
	case addr == broadcast(subnet):
		return "the broadcast address"
	case addr == Gateway(subnet):
		return "the gateway"
	}
	return ""
}

func checkNetwork(network string) error {
	if network == "" || strings.ContainsAny(network, "/\x00") || strings.HasPrefix(network, ".") {
		return fmt.Errorf("network name %q: %w", network, errdefs.ErrInvalid)
	}
	return nil
}

// Allocate gives owner an address of subnet in network: want if it is
// valid (not zero), otherwise the lowest free host address. If owner
// already holds an address in network, that address is returned (and want,
// if given, must be it). A taken want is an ErrConflict, an unusable one
// an ErrInvalid, and a full subnet an ErrUnavailable.
func (a *Allocator) Allocate(network, owner string, subnet netip.Prefix, want netip.Addr) (addr netip.Addr, err error) {
	if err := checkNetwork(network); err != nil {
		return netip.Addr{}, err
	}
	if owner == "" {
		return netip.Addr{}, fmt.Errorf("allocate in network %s: empty owner: %w", network, errdefs.ErrInvalid)
	}
	if err := checkSubnet(subnet); err != nil {
		return netip.Addr{}, err
	}
	subnet = subnet.Masked()
	if want.IsValid() {
		if why := usable(subnet, want); why != "" {
			return netip.Addr{}, fmt.Errorf("address %s in network %s (%s): %s: %w", want, network, subnet, why, errdefs.ErrInvalid)
		}
	}
	unlock, err := a.store.Lock(network)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("lock network %s: %w", network, err)
	}
	defer func() { err = errors.Join(err, unlock()) }()
	leases, err := a.store.Leases(network)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("read leases of network %s: %w", network, err)
	}
	for ad, o := range leases {
		if o != owner || !subnet.Contains(ad) {
			continue
		}
		if want.IsValid() && want != ad {
			return netip.Addr{}, fmt.Errorf("%s already holds %s in network %s, not %s: %w", owner, ad, network, want, errdefs.ErrConflict)
		}
		return ad, nil
	}
	if want.IsValid() {
		if o, taken := leases[want]; taken {
			return netip.Addr{}, fmt.Errorf("address %s in network %s is already in use by %s: %w", want, network, o, errdefs.ErrConflict)
		}
		addr = want
	} else {
		last := broadcast(subnet)
		for c := Gateway(subnet).Next(); c.Less(last); c = c.Next() {
			if _, taken := leases[c]; !taken {
				addr = c
				break
			}
		}
		if !addr.IsValid() {
			return netip.Addr{}, fmt.Errorf("network %s: no free address in %s: %w", network, subnet, errdefs.ErrUnavailable)
		}
	}
	if err := a.store.Put(network, addr, owner); err != nil {
		return netip.Addr{}, fmt.Errorf("lease %s in network %s: %w", addr, network, err)
	}
	return addr, nil
}

// Release frees every address owner holds in network. Releasing what is
// not held is not an error.
func (a *Allocator) Release(network, owner string) (err error) {
	if err := checkNetwork(network); err != nil {
		return err
	}
	return a.drop(network, func(_ netip.Addr, o string) bool { return o == owner }, nil)
}

// Reclaim frees the leases of network whose owner is no longer alive
// (crash recovery: a container that died without its cleanup) and returns
// them.
func (a *Allocator) Reclaim(network string, alive func(owner string) bool) ([]Lease, error) {
	if err := checkNetwork(network); err != nil {
		return nil, err
	}
	var freed []Lease
	err := a.drop(network, func(_ netip.Addr, o string) bool { return !alive(o) }, &freed)
	return freed, err
}

func (a *Allocator) drop(network string, match func(netip.Addr, string) bool, freed *[]Lease) (err error) {
	unlock, err := a.store.Lock(network)
	if err != nil {
		return fmt.Errorf("lock network %s: %w", network, err)
	}
	defer func() { err = errors.Join(err, unlock()) }()
	leases, err := a.store.Leases(network)
	if err != nil {
		return fmt.Errorf("read leases of network %s: %w", network, err)
	}
	var errs []error
	for _, l := range sorted(leases) {
		if !match(l.Addr, l.Owner) {
			continue
		}
		if err := a.store.Delete(network, l.Addr); err != nil {
			errs = append(errs, fmt.Errorf("release %s in network %s: %w", l.Addr, network, err))
			continue
		}
		if freed != nil {
			*freed = append(*freed, l)
		}
	}
	return errors.Join(errs...)
}

// Owner returns who holds addr in network; ErrNotFound if nobody does.
func (a *Allocator) Owner(network string, addr netip.Addr) (string, error) {
	leases, err := a.List(network)
	if err != nil {
		return "", err
	}
	for _, l := range leases {
		if l.Addr == addr {
			return l.Owner, nil
		}
	}
	return "", fmt.Errorf("address %s in network %s: %w", addr, network, errdefs.ErrNotFound)
}

// List returns the leases of network in address order.
func (a *Allocator) List(network string) (leases []Lease, err error) {
	if err := checkNetwork(network); err != nil {
		return nil, err
	}
	unlock, err := a.store.Lock(network)
	if err != nil {
		return nil, fmt.Errorf("lock network %s: %w", network, err)
	}
	defer func() { err = errors.Join(err, unlock()) }()
	m, err := a.store.Leases(network)
	if err != nil {
		return nil, fmt.Errorf("read leases of network %s: %w", network, err)
	}
	return sorted(m), nil
}

func sorted(m map[netip.Addr]string) []Lease {
	out := make([]Lease, 0, len(m))
	for a, o := range m {
		out = append(out, Lease{Addr: a, Owner: o})
	}
	slices.SortFunc(out, func(x, y Lease) int { return x.Addr.Compare(y.Addr) })
	return out
}
