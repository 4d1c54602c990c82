package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/netsetup/ipam"
	"github.com/berth/berth/netsetup/link"
	"github.com/berth/berth/netsetup/ports"
)

// The networks' glue that __init and __cleanup share with these
// commands is in cmd/internal/unitproc (network.go there).

// freeHostPort picks a host port for -P from the kernel's ephemeral
// range that no container has claimed and no host process listens on.
// It is claimed when the container starts; a port taken in between is
// then a clear error, as for -p.
func freeHostPort(root, proto string) (uint16, error) {
	lo, hi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if a, err := strconv.Atoi(f[0]); err == nil {
				lo = a
			}
			if z, err := strconv.Atoi(f[1]); err == nil {
				hi = z
			}
		}
	}
	held, err := portStore(root).Held()
	if err != nil {
		return 0, err
	}
	claimed := map[uint16]bool{}
	for p := range held {
		if p.Proto == proto {
			claimed[p.Num] = true
		}
	}
	// Containers created but not started yet have claimed nothing: their
	// records say what they will publish.
	if cs, err := machine.OpenContainers(root); err == nil {
		recs, _ := cs.List()
		for _, r := range recs {
			for _, p := range r.Options.Publish {
				for i := uint16(0); p.Proto == proto && i < max(p.Count, 1); i++ {
					claimed[p.HostPort+i] = true
				}
			}
		}
	}
	pickedMu.Lock()
	defer pickedMu.Unlock()
	for n := lo; n <= hi && n < 65536; n++ {
		p := ports.Port{Proto: proto, Num: uint16(n)}
		if claimed[p.Num] || picked[p] {
			continue
		}
		if hostPortFree(p) == nil {
			picked[p] = true
			return p.Num, nil
		}
	}
	return 0, fmt.Errorf("no free %s port in %d-%d for -P: %w", proto, lo, hi, errdefs.ErrUnavailable)
}

// picked are the ports this process chose already (one container's -P
// may need several).
var (
	pickedMu sync.Mutex
	picked   = map[ports.Port]bool{}
)

// detachExtra takes a running container off a network it was connected
// to, and releases its lease there; both are idempotent.
func detachExtra(root string, rec *machine.Container, name string) error {
	n, err := networkStore(root).Get(name)
	if err != nil {
		return err
	}
	errs := []error{link.DetachContainer(link.ExtraHostIfName(rec.ID, n.Bridge)),
		ipam.New(ipam.NewDiskStore(networksDir(root))).Release(n.Bridge, rec.ID)}
	return errors.Join(errs...)
}
