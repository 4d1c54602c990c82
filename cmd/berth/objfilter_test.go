package main

import (
	"testing"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/netsetup/network"
)

func TestObjectFilter(t *testing.T) {
	web := filterable{Name: "shop_web", ID: "abc123", Driver: "bridge", Labels: map[string]string{"app": "shop", "tier": "front"}, InUse: true}
	idle := filterable{Name: "scratch", ID: "def456", Driver: "bridge", Labels: map[string]string{}}
	host := filterable{Name: "host", ID: "0f0f", Driver: "host", Builtin: true}
	for _, tc := range []struct {
		args []string
		want []string // names that pass, of web, idle, host
	}{
		{nil, []string{"shop_web", "scratch", "host"}},
		{[]string{"name=web"}, []string{"shop_web"}},
		{[]string{"name=web", "name=scratch"}, []string{"shop_web", "scratch"}},
		{[]string{"name=o"}, []string{"shop_web", "host"}},
		{[]string{"id=def"}, []string{"scratch"}},
		{[]string{"id="}, nil},
		{[]string{"label=app"}, []string{"shop_web"}},
		{[]string{"label=app=shop"}, []string{"shop_web"}},
		{[]string{"label=app=other"}, nil},
		{[]string{"label=app", "label=nope"}, []string{"shop_web"}},
		{[]string{"driver=host"}, []string{"host"}},
		{[]string{"dangling=true"}, []string{"scratch", "host"}},
		{[]string{"dangling=false"}, []string{"shop_web"}},
		{[]string{"type=custom"}, []string{"shop_web", "scratch"}},
		{[]string{"type=builtin", "driver=host"}, []string{"host"}},
		{[]string{"type=builtin", "driver=bridge"}, nil},
	} {
		f, err := parseObjectFilter("networks", tc.args, networkFilterKeys)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		var got []string
		for _, o := range []filterable{web, idle, host} {
			if f.match(o) {
				got = append(got, o.Name)
			}
		}
		if len(got) != len(tc.want) || (len(got) > 0 && !equalStrings(got, tc.want)) {
			t.Errorf("--filter %q: got %v, want %v", tc.args, got, tc.want)
		}
	}
	for _, bad := range [][]string{{"name"}, {"color=red"}, {"dangling=maybe"}, {"type=other"}} {
		if _, err := parseObjectFilter("networks", bad, networkFilterKeys); err == nil {
			t.Errorf("--filter %q: no error", bad)
		}
	}
	if _, err := parseObjectFilter("volumes", []string{"type=custom"}, volumeFilterKeys); err == nil {
		t.Error("volumes take no type filter")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFilterables: what a network and a volume show the filter, in use
// or not.
func TestFilterables(t *testing.T) {
	recs := []*machine.Container{
		{Options: machine.RunOptions{Network: "shop_back", Connected: []machine.ConnectedNetwork{{Name: "shop_front"}},
			Mounts: []machine.Mount{{Type: machine.MountVolume, Source: "data"}}}},
		{Options: machine.RunOptions{Network: ""}},
	}
	used := usedNetworks(recs)
	for _, tc := range []struct {
		n     network.Network
		inUse bool
		built bool
	}{
		{network.Network{Name: "shop_back", ID: "1"}, true, false},
		{network.Network{Name: "shop_front", ID: "2"}, true, false},
		{network.Network{Name: "other", ID: "3"}, false, false},
		{network.Network{Name: network.Bridge, ID: "4"}, true, true},
		{network.Network{Name: network.None, ID: "5"}, false, true},
	} {
		f := networkFilterable(tc.n, used)
		if f.InUse != tc.inUse || f.Builtin != tc.built {
			t.Errorf("%s: in use %v builtin %v, want %v %v", tc.n.Name, f.InUse, f.Builtin, tc.inUse, tc.built)
		}
	}
	if !volumeFilterable(machine.Volume{Name: "data"}, recs).InUse || volumeFilterable(machine.Volume{Name: "idle"}, recs).InUse {
		t.Error("volume in use: want data used and idle not")
	}
}
