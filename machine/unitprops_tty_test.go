package machine

import "testing"

// A -t container's unit has room for its terminal's two ends in
// systemd's file descriptor store (see package console); others none.
func TestUnitPropertiesTty(t *testing.T) {
	for _, tc := range []struct {
		o    RunOptions
		want any
	}{
		{RunOptions{}, nil},
		{RunOptions{Tty: true}, uint32(2)},
		{RunOptions{Tty: true, Interactive: true}, uint32(2)},
	} {
		got := propMap(t, UnitProperties(unitRecord(tc.o), testExe, testStateRoot))
		checkProps(t, "tty", got, map[string]any{"FileDescriptorStoreMax": tc.want})
	}
}
