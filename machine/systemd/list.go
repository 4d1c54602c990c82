package systemd

import (
	"context"
	"fmt"
)

// UnitState is a loaded unit's name and active state.
type UnitState struct {
	Name, ActiveState string
}

// ListUnits lists the units systemd has loaded whose names match one of
// the glob patterns (ListUnitsByPatterns, any state).
func (m *Manager) ListUnits(ctx context.Context, patterns ...string) ([]UnitState, error) {
	us, err := m.conn.ListUnitsByPatternsContext(ctx, nil, patterns)
	if err != nil {
		return nil, fmt.Errorf("list units %v: %w", patterns, err)
	}
	out := make([]UnitState, 0, len(us))
	for _, u := range us {
		out = append(out, UnitState{Name: u.Name, ActiveState: u.ActiveState})
	}
	return out, nil
}
