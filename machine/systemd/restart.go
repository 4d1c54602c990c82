package systemd

import (
	"context"
	"fmt"
)

// Restart restarts the unit name (one from a unit file; RestartUnit, job
// mode "replace") and waits for the job: it is stopped, then started, or
// only started when it was not running. As with systemctl restart, the
// units that require it (Requires=) are restarted with it.
func (m *Manager) Restart(ctx context.Context, name string) error {
	ch := make(chan string, 1)
	if _, err := m.conn.RestartUnitContext(ctx, name, "replace", ch); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	return wait(ctx, "restart", name, ch)
}
