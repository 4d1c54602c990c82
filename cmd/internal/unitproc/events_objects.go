package unitproc

import (
	"github.com/berth/berth/machine/journal"
)

// EmitVolume records a volume event (create, mount, unmount, destroy) in
// the journal, as Emit does for containers.
func EmitVolume(action, name string) {
	Emit(action, journal.Field{Name: "BERTH_EVENT_TYPE", Value: "volume"}, journal.Field{Name: "BERTH_VOLUME", Value: name})
}
