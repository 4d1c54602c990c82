package systemd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// EnsureTimer makes the transient timer name (NAME.timer) run the
// transient service NAME.service (serviceProps) every interval, first
// after first, for as long as the unit boundTo is active or starting
// (BindsTo=): a timer of boundTo's own, as a health check is. A timer of that name
// that is active is left as it is; another is replaced. It does not
// wait for the timer's start job.
func (m *Manager) EnsureTimer(ctx context.Context, name, description, boundTo string, first, interval time.Duration, serviceProps []machine.Property) error {
	if !strings.HasSuffix(name, ".timer") {
		return fmt.Errorf("timer unit %q: %w", name, errdefs.ErrInvalid)
	}
	if st, err := m.Unit(ctx, name); err == nil && st.LoadState == "loaded" {
		if st.ActiveState == "active" {
			return nil
		}
		m.Stop(ctx, name)
		m.ResetFailed(ctx, name)
	}
	usec := func(d time.Duration) uint64 { return uint64(max(d, time.Millisecond) / time.Microsecond) }
	timer := []sd.Property{
		{Name: "Description", Value: godbus.MakeVariant(description)},
		// a(st), as systemd-run --on-active= --on-unit-active= sets them.
		{Name: "TimersMonotonic", Value: godbus.MakeVariant([]struct {
			Base  string
			Value uint64
		}{{"OnActiveSec", usec(first)}, {"OnUnitActiveSec", usec(interval)}})},
		{Name: "AccuracyUSec", Value: godbus.MakeVariant(uint64(1000))},
		// Not After= boundTo: the timer of a unit that is ready only
		// once its check has passed runs while that unit starts.
		{Name: "BindsTo", Value: godbus.MakeVariant([]string{boundTo})},
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
	service := strings.TrimSuffix(name, ".timer") + ".service"
	_, err := m.conn.StartTransientUnitAux(ctx, name, "replace", timer, []sd.PropertyCollection{{Name: service, Properties: svc}}, nil)
	if err != nil {
		var de godbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.UnitExists" {
			return nil
		}
		return fmt.Errorf("start %s: %w", name, err)
	}
	return nil
}
