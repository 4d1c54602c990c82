// Package reconcile finds where berth's pieces of state disagree after
// a crash: the container state directory, systemd's units, overlay
// mounts, veths, IPAM leases, port claims, nftables port rules and the
// DNS sockets of networks (`berth system check`). It is pure: the CLI
// gathers Facts (cmd/berth/check.go), Check compares them and returns
// Problems, each with the Repair that undoes it, which the CLI carries
// out with --repair. It imports nothing of berth.
//
// The rule for what a container may hold: an address lease, port
// claims, port rules and a veth belong to a container while it runs or
// its unit is starting or stopping (its __init and __cleanup hold and
// release them). Anything else held in its name is stale.
package reconcile

import (
	"fmt"
	"slices"
	"strings"
)

// Facts are the state berth found, gathered without changing anything.
type Facts struct {
	// Containers are the state directories <root>/containers/<id>.
	Containers []Container
	// Debris are the .tmp-<id> (half created) and .rm-<id> (half
	// removed) directories; Busy marks a .tmp- whose creator still holds
	// its lock or that is younger than a minute.
	Debris []Debris
	// Names maps each names/<name> link to the ID it points at.
	Names map[string]string
	// Units are systemd's loaded berth-*.service units.
	Units []Unit
	// Leases, Claims and Rules are held in a container's name.
	Leases []Lease
	Claims []Claim
	// RuleOwners are the container IDs that have nftables port rules.
	RuleOwners []string
	// Veths are the host sides of container veths ("vb" + 8 hex digits).
	Veths []string
	// Mounts are overlay mounts in the host's namespace on a container's
	// rootfs (they belong in the container's own namespace).
	Mounts []Mount
	// Networks are the defined networks' names; DNSSockets the loaded
	// berth-dns-<network>.socket units.
	Networks   []string
	DNSSockets []string
}

// Container is one state directory.
type Container struct {
	ID string
	// HasRecord is false when container.json is missing or unreadable.
	HasRecord bool
	Name      string
	Unit      string
	// Status is the record's (created, running, restarting, exited);
	// Alive says its recorded PID 1 still runs.
	Status     string
	Alive      bool
	AutoRemove bool
}

// Debris is a container directory left half created or half removed.
type Debris struct {
	Name string
	Busy bool
}

// Unit is a loaded systemd unit.
type Unit struct {
	Name        string
	ActiveState string // active, activating, deactivating, failed, inactive, …
}

// Lease is an address held on a bridge.
type Lease struct {
	Bridge, Addr, Owner string
}

// Claim is a host port held.
type Claim struct {
	Port, Owner string
}

// Mount is an overlay mount point and the container it is of.
type Mount struct {
	Path, Owner string
}

// Repair kinds, which the CLI carries out.
const (
	RemoveDebris   = "remove-debris"    // Target: the debris directory name
	RemoveState    = "remove-state"     // Target: a container ID without a record
	DropName       = "drop-name"        // Target: a name whose container is gone
	MarkExited     = "mark-exited"      // Target: a container ID recorded as running
	RemoveExited   = "remove-container" // Target: an --rm container that ended unseen
	StopUnit       = "stop-unit"        // Target: a unit of no container
	ResetUnit      = "reset-failed"     // Target: a failed unit of no container
	ReleaseLease   = "release-lease"    // Target: bridge, Arg: owner
	ReleaseClaim   = "release-claim"    // Target: owner
	RemoveRules    = "remove-rules"     // Target: owner
	DeleteVeth     = "delete-veth"      // Target: the host interface
	Unmount        = "unmount"          // Target: the mount point
	StopDNS        = "stop-dns"         // Target: the socket unit
	RepairNoAction = ""
)

// Problem is one inconsistency, in one line, and how to repair it.
type Problem struct {
	Message string
	Repair  string
	Target  string
	Arg     string
}

func (p Problem) String() string { return p.Message }

// Check compares the facts and returns the problems, in a stable order.
func Check(f Facts) []Problem {
	var out []Problem
	add := func(repair, target, arg, format string, a ...any) {
		out = append(out, Problem{Message: fmt.Sprintf(format, a...), Repair: repair, Target: target, Arg: arg})
	}
	byID := map[string]Container{}
	byUnit := map[string]Container{}
	for _, c := range f.Containers {
		byID[c.ID] = c
		if c.HasRecord {
			byUnit[c.Unit] = c
		}
	}
	units := map[string]Unit{}
	for _, u := range f.Units {
		units[u.Name] = u
	}
	unitBusy := func(c Container) bool {
		u, ok := units[c.Unit]
		return ok && (u.ActiveState == "active" || u.ActiveState == "activating" || u.ActiveState == "deactivating" || u.ActiveState == "reloading")
	}
	// holds says whether owner may hold network resources now.
	holds := func(owner string) bool {
		c, ok := byID[owner]
		return ok && c.HasRecord && (c.Alive || unitBusy(c))
	}
	short := func(id string) string {
		if len(id) > 12 {
			return id[:12]
		}
		return id
	}

	for _, d := range sortedBy(f.Debris, func(d Debris) string { return d.Name }) {
		switch {
		case d.Busy:
		case strings.HasPrefix(d.Name, ".tmp-"):
			add(RemoveDebris, d.Name, "", "container %s: half created (%s left by a creator that died)", short(strings.TrimPrefix(d.Name, ".tmp-")), d.Name)
		case strings.HasPrefix(d.Name, ".rm-"):
			add(RemoveDebris, d.Name, "", "container %s: half removed (%s left by a remover that died)", short(strings.TrimPrefix(d.Name, ".rm-")), d.Name)
		}
	}
	for _, c := range sortedBy(f.Containers, func(c Container) string { return c.ID }) {
		switch {
		case !c.HasRecord:
			add(RemoveState, c.ID, "", "container %s: state directory without a record (container.json)", short(c.ID))
		case (c.Status == "running" || c.Status == "restarting") && !c.Alive && !unitBusy(c):
			if c.AutoRemove {
				add(RemoveExited, c.ID, "", "container %s (%s): recorded as %s, but its process and unit %s are gone (an --rm container: remove it)", short(c.ID), c.Name, c.Status, c.Unit)
			} else {
				add(MarkExited, c.ID, "", "container %s (%s): recorded as %s, but its process and unit %s are gone", short(c.ID), c.Name, c.Status, c.Unit)
			}
		}
	}
	for _, name := range sortedKeys(f.Names) {
		id := f.Names[name]
		if c, ok := byID[id]; !ok || !c.HasRecord {
			if !slices.ContainsFunc(f.Debris, func(d Debris) bool { return d.Busy && d.Name == ".tmp-"+id }) {
				add(DropName, name, "", "name %s: points at container %s, which does not exist", name, short(id))
			}
		}
	}
	for _, u := range sortedBy(f.Units, func(u Unit) string { return u.Name }) {
		if _, ok := byUnit[u.Name]; ok || !IsContainerUnit(u.Name) {
			continue
		}
		switch u.ActiveState {
		case "active", "activating", "reloading":
			add(StopUnit, u.Name, "", "unit %s: %s, but no container has it", u.Name, u.ActiveState)
		case "failed":
			add(ResetUnit, u.Name, "", "unit %s: failed and left loaded, but no container has it", u.Name)
		}
	}
	for _, l := range sortedBy(f.Leases, func(l Lease) string { return l.Bridge + " " + l.Addr }) {
		if !holds(l.Owner) {
			add(ReleaseLease, l.Bridge, l.Owner, "lease %s on %s: held by container %s, %s", l.Addr, l.Bridge, short(l.Owner), why(byID, l.Owner))
		}
	}
	seen := map[string]bool{}
	for _, c := range sortedBy(f.Claims, func(c Claim) string { return c.Port }) {
		if !holds(c.Owner) && !seen[c.Owner] {
			seen[c.Owner] = true
			add(ReleaseClaim, c.Owner, "", "port claim %s: held by container %s, %s", c.Port, short(c.Owner), why(byID, c.Owner))
		}
	}
	for _, id := range sortedBy(f.RuleOwners, func(s string) string { return s }) {
		if !holds(id) {
			add(RemoveRules, id, "", "nftables port rules: tagged with container %s, %s", short(id), why(byID, id))
		}
	}
	for _, v := range sortedBy(f.Veths, func(s string) string { return s }) {
		prefix := strings.TrimPrefix(v, "vb")
		owner := ""
		for id := range byID {
			if strings.HasPrefix(id, prefix) {
				owner = id
			}
		}
		if owner == "" || !holds(owner) {
			add(DeleteVeth, v, "", "veth %s: of container %s…, %s", v, prefix, why(byID, owner))
		}
	}
	for _, m := range sortedBy(f.Mounts, func(m Mount) string { return m.Path }) {
		add(Unmount, m.Path, "", "overlay mount %s: a container's root mounted on the host (of container %s, %s)", m.Path, short(m.Owner), why(byID, m.Owner))
	}
	for _, s := range sortedBy(f.DNSSockets, func(s string) string { return s }) {
		n := strings.TrimSuffix(strings.TrimPrefix(s, "berth-dns-"), ".socket")
		if !slices.Contains(f.Networks, n) {
			add(StopDNS, s, "", "DNS socket %s: network %s does not exist", s, n)
		}
	}
	return out
}

// IsContainerUnit says whether a berth-*.service unit can be a
// container's: not a network's DNS responder nor berth's own timers'.
func IsContainerUnit(name string) bool {
	return strings.HasPrefix(name, "berth-") && strings.HasSuffix(name, ".service") &&
		!strings.HasPrefix(name, "berth-dns-") && name != "berth-gc.service"
}

// why says why owner holds nothing.
func why(byID map[string]Container, owner string) string {
	c, ok := byID[owner]
	switch {
	case owner == "" || !ok:
		return "which does not exist"
	case !c.HasRecord:
		return "which has no record"
	}
	return "which is not running (" + c.Status + ")"
}

func sortedBy[T any](in []T, key func(T) string) []T {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
