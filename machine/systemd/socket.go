package systemd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// Listen is one socket of a socket unit: Kind is systemd's Listen*=
// suffix ("Stream", "Datagram"), Address what follows the "=".
type Listen struct{ Kind, Address string }

// EnsureSocket makes the transient socket unit name (NAME.socket) listen
// on listen, with the transient service NAME.service (serviceProps) that
// systemd starts on the first connection or datagram, as systemd-run
// --socket-property does. A socket unit of that name that is already
// active is left as it is; a failed one is reset and made again.
func (m *Manager) EnsureSocket(ctx context.Context, name string, description string, listen []Listen, serviceProps []machine.Property) error {
	if !strings.HasSuffix(name, ".socket") {
		return fmt.Errorf("socket unit %q: %w", name, errdefs.ErrInvalid)
	}
	if st, err := m.Unit(ctx, name); err == nil && st.LoadState == "loaded" {
		if st.ActiveState == "active" || st.ActiveState == "activating" {
			return nil
		}
		m.Stop(ctx, name)
		m.ResetFailed(ctx, name)
	}
	ls := make([]struct{ Kind, Address string }, len(listen))
	for i, l := range listen {
		ls[i] = struct{ Kind, Address string }{l.Kind, l.Address}
	}
	sock := []sd.Property{
		{Name: "Description", Value: godbus.MakeVariant(description)},
		{Name: "Listen", Value: godbus.MakeVariant(ls)},
		{Name: "FreeBind", Value: godbus.MakeVariant(true)},
		{Name: "CollectMode", Value: godbus.MakeVariant("inactive-or-failed")},
	}
	svc := make([]sd.Property, 0, len(serviceProps))
	for _, p := range serviceProps {
		v, err := variant(p.Value)
		if err != nil {
			return fmt.Errorf("start %s: property %s: %w", name, p.Name, err)
		}
		svc = append(svc, sd.Property{Name: p.Name, Value: v})
	}
	service := strings.TrimSuffix(name, ".socket") + ".service"
	ch := make(chan string, 1)
	_, err := m.conn.StartTransientUnitAux(ctx, name, "fail", sock, []sd.PropertyCollection{{Name: service, Properties: svc}}, ch)
	if err != nil {
		var de godbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.UnitExists" {
			return nil // made by another container's start just now
		}
		return fmt.Errorf("start %s: %w", name, err)
	}
	return wait(ctx, "start", name, ch)
}
