package systemd

import (
	"context"
	"fmt"

	"github.com/berth/berth/machine"
	sd "github.com/coreos/go-systemd/v22/dbus"
)

// SetProperties changes properties of the loaded unit name at runtime
// (systemctl set-property --runtime): for a running container, the
// cgroup limits berth update changes.
func (m *Manager) SetProperties(ctx context.Context, name string, props []machine.Property) error {
	dprops := make([]sd.Property, 0, len(props))
	for _, p := range props {
		v, err := variant(p.Value)
		if err != nil {
			return fmt.Errorf("set properties of %s: property %s: %w", name, p.Name, err)
		}
		dprops = append(dprops, sd.Property{Name: p.Name, Value: v})
	}
	if err := m.conn.SetUnitPropertiesContext(ctx, name, true, dprops...); err != nil {
		return fmt.Errorf("set properties of %s: %w", name, err)
	}
	return nil
}
