package main

import (
	"archive/tar"
	"fmt"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/fscopy"
	"github.com/spf13/pflag"
)

// addUsernsFlag adds --userns to run and create.
func addUsernsFlag(fl *pflag.FlagSet, f *runFlags) {
	fl.StringVar(&f.o.Userns, "userns", "", "User namespace to use: host (default), auto or auto:size=N (a block of ids from /etc/subuid for user \"berth\")")
}

// reserveUserns gives a --userns=auto container its block of host ids
// (rec.IDMap) and lets it use its volumes (Volumes.ForUserns); root is
// berth's state directory. The caller calls release once the
// container's record is written or its creation has failed.
func reserveUserns(root string, cs *machine.Containers, rec *machine.Container) (release func(), err error) {
	mode, size, err := machine.ParseUserns(rec.Options.Userns)
	if err != nil || mode != machine.UsernsAuto {
		return func() {}, err
	}
	m, release, err := cs.ReserveIDs(machine.HostSubIDFiles, size)
	if err != nil {
		return nil, err
	}
	rec.IDMap = &m
	vols, err := machine.OpenVolumes(root)
	if err != nil {
		release()
		return nil, err
	}
	for _, mt := range rec.Options.Mounts {
		if mt.Type == machine.MountVolume {
			if err := vols.ForUserns(mt.Source, m); err != nil {
				release()
				return nil, err
			}
		}
	}
	return release, nil
}

// idMappings is inspect's HostConfig.IDMappings of a container with a
// user namespace; nil without one.
func idMappings(rec *machine.Container) *inspectIDMappings {
	if rec.IDMap == nil {
		return nil
	}
	m := fmt.Sprintf("0:%d:%d", rec.IDMap.HostID, rec.IDMap.Size)
	return &inspectIDMappings{UIDMap: []string{m}, GIDMap: []string{m}}
}

// usernsOwner maps the owners that `berth cp` gives files copied into
// a container with a user namespace into its block: the container's
// root is the block's first host id, and an id the block does not map
// becomes nobody inside (the kernel's overflow id, 65534).
func usernsOwner(rec *machine.Container, owner fscopy.Owner) fscopy.Owner {
	if rec.IDMap == nil {
		return owner
	}
	m := *rec.IDMap
	shift := func(id int) int {
		if id < 0 || uint64(id) >= uint64(m.Size) {
			id = 65534
			if uint64(id) >= uint64(m.Size) {
				return id // unmapped: shown as nobody inside
			}
		}
		return int(m.HostID) + id
	}
	return func(h *tar.Header) (int, int) {
		uid, gid := owner(h)
		return shift(uid), shift(gid)
	}
}

// usernsOwnerOut is usernsOwner the other way, for `berth cp -a` out of
// a container with a user namespace: the archive's owners are host ids,
// given back as the container's (its root's files become 0); a host id
// outside the block becomes nobody (65534).
func usernsOwnerOut(rec *machine.Container, owner fscopy.Owner) fscopy.Owner {
	if rec.IDMap == nil {
		return owner
	}
	m := *rec.IDMap
	unshift := func(id int) int {
		if id < int(m.HostID) || uint64(id) >= m.End() {
			return 65534
		}
		return id - int(m.HostID)
	}
	return func(h *tar.Header) (int, int) {
		uid, gid := owner(h)
		return unshift(uid), unshift(gid)
	}
}

// usernsLayerOwner maps the owners in a --userns=auto container's upper
// directory (host ids) back to the container's for `berth commit`, as
// usernsOwnerOut does for cp; nil without a user namespace.
func usernsLayerOwner(rec *machine.Container) func(uid, gid int) (int, int) {
	if rec.IDMap == nil {
		return nil
	}
	out := usernsOwnerOut(rec, fscopy.KeepOwner)
	return func(uid, gid int) (int, int) { return out(&tar.Header{Uid: uid, Gid: gid}) }
}
