package reconcile

import (
	"strings"
	"testing"
)

const (
	idA = "aaaaaaaa00000000000000000000000000000000000000000000000000000001"
	idB = "bbbbbbbb00000000000000000000000000000000000000000000000000000002"
)

func TestCheck(t *testing.T) {
	running := Container{ID: idA, HasRecord: true, Name: "a", Unit: "berth-a.service", Status: "running", Alive: true}
	exited := Container{ID: idB, HasRecord: true, Name: "b", Unit: "berth-b.service", Status: "exited"}
	for _, tc := range []struct {
		name   string
		facts  Facts
		repair []string // the repairs, in order
		target []string
		words  []string // each in the matching message
	}{
		{name: "consistent", facts: Facts{
			Containers: []Container{running, exited},
			Names:      map[string]string{"a": idA, "b": idB},
			Units:      []Unit{{"berth-a.service", "active"}, {"berth-gc.service", "active"}, {"berth-dns-net.service", "active"}},
			Leases:     []Lease{{"berth0", "10.89.0.2", idA}},
			Claims:     []Claim{{"0.0.0.0:80/tcp", idA}},
			RuleOwners: []string{idA},
			Veths:      []string{"vbaaaaaaaa"},
			Networks:   []string{"bridge", "net"},
			DNSSockets: []string{"berth-dns-net.socket"},
		}},
		{name: "half created and half removed", facts: Facts{
			Debris: []Debris{{Name: ".tmp-" + idA}, {Name: ".rm-" + idB}, {Name: ".tmp-" + idB, Busy: true}},
		}, repair: []string{RemoveDebris, RemoveDebris}, target: []string{".rm-" + idB, ".tmp-" + idA}, words: []string{"half removed", "half created"}},
		{name: "record deleted", facts: Facts{
			Containers: []Container{{ID: idA}},
			Names:      map[string]string{"a": idA},
		}, repair: []string{RemoveState, DropName}, target: []string{idA, "a"}, words: []string{"without a record", "does not exist"}},
		{name: "name of a creator still at work is kept", facts: Facts{
			Debris: []Debris{{Name: ".tmp-" + idA, Busy: true}},
			Names:  map[string]string{"a": idA},
		}},
		{name: "running without a unit", facts: Facts{
			Containers: []Container{{ID: idA, HasRecord: true, Name: "a", Unit: "berth-a.service", Status: "running"},
				{ID: idB, HasRecord: true, Name: "b", Unit: "berth-b.service", Status: "running", AutoRemove: true}},
		}, repair: []string{MarkExited, RemoveExited}, target: []string{idA, idB}, words: []string{"unit berth-a.service are gone", "--rm"}},
		{name: "starting: its unit is activating", facts: Facts{
			Containers: []Container{{ID: idA, HasRecord: true, Name: "a", Unit: "berth-a.service", Status: "created"}},
			Units:      []Unit{{"berth-a.service", "activating"}},
			Leases:     []Lease{{"berth0", "10.89.0.2", idA}},
		}},
		{name: "stale network resources", facts: Facts{
			Containers: []Container{exited},
			Leases:     []Lease{{"berth0", "10.89.0.2", idB}, {"berth1", "10.89.1.2", idA}},
			Claims:     []Claim{{"0.0.0.0:80/tcp", idB}, {"0.0.0.0:81/tcp", idB}},
			RuleOwners: []string{idA},
			Veths:      []string{"vbbbbbbbbb"},
		}, repair: []string{ReleaseLease, ReleaseLease, ReleaseClaim, RemoveRules, DeleteVeth},
			target: []string{"berth0", "berth1", idB, idA, "vbbbbbbbbb"},
			words:  []string{"not running (exited)", "does not exist", "0.0.0.0:80/tcp", "does not exist", "vbbbbbbbbb"}},
		{name: "units of no container", facts: Facts{
			Units: []Unit{{"berth-x.service", "active"}, {"berth-y.service", "failed"}, {"berth-z.service", "inactive"}},
		}, repair: []string{StopUnit, ResetUnit}, target: []string{"berth-x.service", "berth-y.service"}},
		{name: "overlay on the host, DNS of a removed network", facts: Facts{
			Mounts:     []Mount{{"/var/lib/berth/containers/" + idA + "/rootfs", idA}},
			Networks:   []string{"bridge"},
			DNSSockets: []string{"berth-dns-gone.socket"},
		}, repair: []string{Unmount, StopDNS}, target: []string{"/var/lib/berth/containers/" + idA + "/rootfs", "berth-dns-gone.socket"},
			words: []string{"mounted on the host", "network gone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.facts)
			if len(got) != len(tc.repair) {
				t.Fatalf("Check = %v, want repairs %v", got, tc.repair)
			}
			for i, p := range got {
				if p.Repair != tc.repair[i] || p.Target != tc.target[i] {
					t.Errorf("problem %d: %q: repair %s %s, want %s %s", i, p, p.Repair, p.Target, tc.repair[i], tc.target[i])
				}
				if strings.Contains(p.Message, "\n") {
					t.Errorf("problem %d is more than one line: %q", i, p)
				}
				if i < len(tc.words) && !strings.Contains(p.Message, tc.words[i]) {
					t.Errorf("problem %d: %q does not say %q", i, p, tc.words[i])
				}
			}
		})
	}
}
