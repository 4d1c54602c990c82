package unitproc

import (
	"github.com/berth/berth/machine"
)

// ReadyWhenHealthy says whether rec's unit waits for its health check
// before it is ready.
func ReadyWhenHealthy(rec *machine.Container) bool {
	return rec.Options.ReadyWhenHealthy && rec.Options.Healthcheck != nil
}
