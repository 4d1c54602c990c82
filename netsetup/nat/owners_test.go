package nat

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestPortOwners(t *testing.T) {
	f := newFake()
	if got, err := PortOwners(f); err != nil || len(got) != 0 {
		t.Fatalf("no table: %v, %v", got, err)
	}
	if err := EnsureBase(f, "berth0", subnet, false); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("10.88.0.2")
	for _, id := range []string{"bbb", "aaa"} {
		if err := AddPorts(f, id, []Port{{Proto: "tcp", HostPort: 80, ContainerIP: a, ContainerPort: 80}, {Proto: "udp", HostPort: 53, ContainerIP: a, ContainerPort: 53}}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := PortOwners(f); err != nil || !reflect.DeepEqual(got, []string{"aaa", "bbb"}) {
		t.Errorf("PortOwners = %v, %v; want [aaa bbb] (sorted, once each; no bridge rules)", got, err)
	}
	RemovePorts(f, "aaa")
	if got, _ := PortOwners(f); !reflect.DeepEqual(got, []string{"bbb"}) {
		t.Errorf("after RemovePorts: %v", got)
	}
}
