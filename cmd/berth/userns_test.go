package main

import (
	"archive/tar"
	"testing"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/fscopy"
)

// berth cp maps owners into a --userns=auto container's block and back
// out of it; without a block they pass unchanged.
func TestUsernsOwners(t *testing.T) {
	withMap := &machine.Container{IDMap: &machine.IDMap{HostID: 1048576, Size: 65536}}
	plain := &machine.Container{}
	for _, tc := range []struct {
		name         string
		owner        fscopy.Owner
		uid, gid     int
		wantU, wantG int
	}{
		{"in, root", usernsOwner(withMap, fscopy.FixedOwner(0, 0)), 5, 5, 1048576, 1048576},
		{"in, -a", usernsOwner(withMap, fscopy.KeepOwner), 1000, 50, 1049576, 1048626},
		{"in, -a, beyond the block", usernsOwner(withMap, fscopy.KeepOwner), 70000, 0, 1048576 + 65534, 1048576},
		{"in, no block", usernsOwner(plain, fscopy.KeepOwner), 1000, 50, 1000, 50},
		{"out, -a", usernsOwnerOut(withMap, fscopy.KeepOwner), 1049576, 1048576, 1000, 0},
		{"out, -a, not the block's", usernsOwnerOut(withMap, fscopy.KeepOwner), 0, 2000000, 65534, 65534},
		{"out, no block", usernsOwnerOut(plain, fscopy.KeepOwner), 7, 8, 7, 8},
	} {
		u, g := tc.owner(&tar.Header{Uid: tc.uid, Gid: tc.gid})
		if u != tc.wantU || g != tc.wantG {
			t.Errorf("%s: %d:%d → %d:%d, want %d:%d", tc.name, tc.uid, tc.gid, u, g, tc.wantU, tc.wantG)
		}
	}
}
