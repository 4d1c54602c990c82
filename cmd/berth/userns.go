package main

import (
	"fmt"

	"github.com/berth/berth/machine"
	"github.com/spf13/pflag"
)

// addUsernsFlag adds --userns to run and create.
func addUsernsFlag(fl *pflag.FlagSet, f *runFlags) {
	fl.StringVar(&f.o.Userns, "userns", "", "User namespace to use: host (default), auto or auto:size=N (a block of ids from /etc/subuid for user \"berth\")")
}

// reserveUserns gives a --userns=auto container its block of host ids
// (rec.IDMap and the spec's mappings). The caller calls release once the
// container's record is written or its creation has failed.
func reserveUserns(cs *machine.Containers, rec *machine.Container) (release func(), err error) {
	mode, size, err := machine.ParseUserns(rec.Options.Userns)
	if err != nil || mode != machine.UsernsAuto {
		return func() {}, err
	}
	m, release, err := cs.ReserveIDs(machine.HostSubIDFiles, size)
	if err != nil {
		return nil, err
	}
	rec.IDMap = &m
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
