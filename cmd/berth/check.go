package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/mountinfo"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/reconcile"
	"github.com/berth/berth/machine/systemd"
	"github.com/berth/berth/netsetup/ipam"
	"github.com/berth/berth/netsetup/link"
	"github.com/berth/berth/netsetup/nat"
	"github.com/google/nftables"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// `berth system check [--repair]`: gather what each part of berth's
// state says (this file, privileged: D-Bus, netlink, nftables,
// mountinfo), compare it (machine/reconcile, pure) and repair.

func newSystemCheckCommand(g *globalOptions) *cobra.Command {
	var repair, quiet bool
	c := &cobra.Command{
		Use:   "check [OPTIONS]",
		Short: "Find where containers, units, mounts, veths, leases, port claims, port rules and DNS sockets disagree; --repair fixes them",
		Long: `Compare the container state under /var/lib/berth with systemd's berth-* units,
overlay mounts, container veths, address leases, port claims, nftables port
rules and the networks' DNS sockets, and print each inconsistency on one line.
With --repair each is fixed where berth can (a stale lease, claim, rule or veth
released, a container recorded as running whose unit is gone marked exited, a
half-created or half-removed container removed, a unit of no container stopped).
Exit status: 0 when nothing is (or is left) wrong, 1 otherwise.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(c.Context(), 2*time.Minute)
			defer cancel()
			root, err := filepath.Abs(g.root)
			if err != nil {
				return err
			}
			m, err := systemd.Connect(ctx)
			if err != nil {
				return engineError{err}
			}
			defer m.Close()
			facts, err := gatherFacts(ctx, root, m)
			if err != nil {
				return err
			}
			problems := settleVeths(reconcile.Check(facts))
			out := c.OutOrStdout()
			if !repair {
				for _, p := range problems {
					fmt.Fprintln(out, p)
				}
				if len(problems) == 0 {
					if !quiet {
						fmt.Fprintln(out, "no problems found")
					}
					return nil
				}
				fmt.Fprintf(out, "%d problems found; berth system check --repair fixes them\n", len(problems))
				return exitCodeError{code: 1}
			}
			// Units first: a unit of no container may hold what the
			// other repairs release.
			slices.SortStableFunc(problems, func(a, b reconcile.Problem) int {
				return repairRank(a.Repair) - repairRank(b.Repair)
			})
			failed := 0
			for _, p := range problems {
				if err := repairOne(ctx, root, m, p); err != nil {
					failed++
					fmt.Fprintf(out, "%s: not repaired: %v\n", p, err)
					continue
				}
				fmt.Fprintf(out, "%s: repaired\n", p)
			}
			if len(problems) == 0 && !quiet {
				fmt.Fprintln(out, "no problems found")
			}
			if failed > 0 {
				fmt.Fprintf(out, "%d problems found, %d not repaired\n", len(problems), failed)
				return exitCodeError{code: 1}
			}
			if len(problems) > 0 {
				fmt.Fprintf(out, "%d problems found and repaired\n", len(problems))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&repair, "repair", false, "fix what can be fixed")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing when there is nothing wrong")
	return c
}

func repairRank(kind string) int {
	switch kind {
	case reconcile.StopUnit, reconcile.ResetUnit:
		return 0
	case reconcile.Unmount:
		return 1
	}
	return 2
}

// gatherFacts reads every part of the state without changing any.
func gatherFacts(ctx context.Context, root string, m *systemd.Manager) (reconcile.Facts, error) {
	var f reconcile.Facts
	cs := machine.PeekContainers(root)
	ids, err := cs.IDs()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	for _, id := range ids {
		rec, err := cs.Load(id)
		if err != nil {
			f.Containers = append(f.Containers, reconcile.Container{ID: id})
			continue
		}
		f.Containers = append(f.Containers, reconcile.Container{ID: id, HasRecord: true, Name: rec.Name, Unit: rec.Unit,
			Status: rec.State.Status, Alive: rec.IsRunning(), AutoRemove: rec.Options.AutoRemove})
	}
	for _, d := range cs.Debris() {
		f.Debris = append(f.Debris, reconcile.Debris{Name: d.Name, Busy: d.Busy})
	}
	f.Names = cs.Names()
	units, err := m.ListUnits(ctx, "berth-*.service", "berth-dns-*.socket")
	if err != nil {
		return f, engineError{err}
	}
	for _, u := range units {
		if strings.HasSuffix(u.Name, ".socket") {
			f.DNSSockets = append(f.DNSSockets, u.Name)
			continue
		}
		f.Units = append(f.Units, reconcile.Unit{Name: u.Name, ActiveState: u.ActiveState})
	}
	nets, err := networkStore(root).List()
	if err != nil {
		return f, err
	}
	a := ipam.New(ipam.NewDiskStore(networksDir(root)))
	for _, n := range nets {
		f.Networks = append(f.Networks, n.Name)
		if n.Bridge == "" {
			continue
		}
		leases, err := a.List(n.Bridge)
		if err != nil {
			return f, err
		}
		for _, l := range leases {
			f.Leases = append(f.Leases, reconcile.Lease{Bridge: n.Bridge, Addr: l.Addr.String(), Owner: l.Owner})
		}
	}
	held, err := portStore(root).Held()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	for p, owner := range held {
		f.Claims = append(f.Claims, reconcile.Claim{Port: p.String(), Owner: owner})
	}
	conn, err := nftables.New()
	if err != nil {
		return f, fmt.Errorf("nftables: %w", err)
	}
	if f.RuleOwners, err = nat.PortOwners(conn); err != nil {
		return f, err
	}
	if f.Veths, err = link.ContainerVeths(); err != nil {
		return f, err
	}
	f.Mounts, err = containerMounts(filepath.Join(root, "containers"))
	return f, err
}

// containerMounts are the mounts in this (the host's) mount namespace
// on or under a container's state directory, from mountinfo: a
// container's root belongs in its own namespace only.
func containerMounts(dir string) ([]reconcile.Mount, error) {
	fh, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []reconcile.Mount
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := mountinfo.Unescape(fields[4])
		rest, ok := strings.CutPrefix(mp, dir+"/")
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, "/")
		out = append(out, reconcile.Mount{Path: mp, Owner: id})
	}
	return out, sc.Err()
}

// repairOne carries out p's repair.
func repairOne(ctx context.Context, root string, m *systemd.Manager, p reconcile.Problem) error {
	cs := machine.PeekContainers(root)
	switch p.Repair {
	case reconcile.RemoveDebris:
		return cs.RemoveDebris(p.Target)
	case reconcile.RemoveState:
		return cs.RemoveUnrecorded(p.Target)
	case reconcile.DropName:
		cs.DropName(p.Target)
		if _, ok := cs.Names()[p.Target]; ok {
			return errors.New("the name is still linked")
		}
		return nil
	case reconcile.MarkExited, reconcile.RemoveExited:
		rec, err := cs.Update(p.Target, func(r *machine.Container) error {
			if (r.State.Status == machine.StatusRunning || r.State.Status == machine.StatusRestarting) && !r.IsRunning() {
				if r.State.Status == machine.StatusRunning {
					r.State.ExitCode = 255 // ended unseen, as Docker says
				}
				r.State.Status, r.State.Pid = machine.StatusExited, 0
				r.State.FinishedAt = time.Now().UTC()
			}
			return nil
		})
		if err != nil {
			return err
		}
		// What its cleanup would have released.
		if n, ok, err := containerNetwork(root, rec); err == nil && ok {
			disconnect(root, rec, n)
		}
		if p.Repair == reconcile.RemoveExited {
			if err := cs.Remove(rec.ID); err != nil {
				return err
			}
			emit("destroy", containerFields(rec)...)
			_, err := removeAnonymousVolumes(root, cs, rec)
			return err
		}
		return nil
	case reconcile.StopUnit:
		if err := m.Stop(ctx, p.Target); err != nil {
			return err
		}
		return m.ResetFailed(ctx, p.Target)
	case reconcile.ResetUnit:
		return m.ResetFailed(ctx, p.Target)
	case reconcile.StopDNS:
		err := m.Stop(ctx, p.Target)
		m.Stop(ctx, strings.TrimSuffix(p.Target, ".socket")+".service")
		m.ResetFailed(ctx, p.Target)
		return err
	case reconcile.ReleaseLease:
		return ipam.New(ipam.NewDiskStore(networksDir(root))).Release(p.Target, p.Arg)
	case reconcile.ReleaseClaim:
		return portStore(root).Release(p.Target)
	case reconcile.RemoveRules:
		conn, err := nftables.New()
		if err != nil {
			return err
		}
		return nat.RemovePorts(conn, p.Target)
	case reconcile.DeleteVeth:
		return link.DetachContainer(p.Target)
	case reconcile.Unmount:
		return unix.Unmount(p.Target, unix.MNT_DETACH)
	}
	return fmt.Errorf("no repair for this")
}

// settleVeths drops the veth problems that go away within a second: the
// kernel deletes a container's veth asynchronously after its network
// namespace dies, so a container removed a moment ago leaves its veth
// for a little while.
func settleVeths(problems []reconcile.Problem) []reconcile.Problem {
	deadline := time.Now().Add(time.Second)
	for {
		veths, err := link.ContainerVeths()
		if err != nil {
			return problems
		}
		var out []reconcile.Problem
		pending := false
		for _, p := range problems {
			if p.Repair == reconcile.DeleteVeth && !slices.Contains(veths, p.Target) {
				continue
			}
			pending = pending || p.Repair == reconcile.DeleteVeth
			out = append(out, p)
		}
		problems = out
		if !pending || time.Now().After(deadline) {
			return problems
		}
		time.Sleep(100 * time.Millisecond)
	}
}
