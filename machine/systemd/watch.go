package systemd

import (
	"context"
	"errors"
	"fmt"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
)

// UnitChange is a unit's new state, from a PropertiesChanged signal.
type UnitChange struct {
	Unit, ActiveState, SubState string
	Time                        time.Time
}

// ErrWatchOverflow is returned by WatchUnits when changes came faster
// than fn took them and some were dropped.
var ErrWatchOverflow = errors.New("unit changes came faster than they were read; some were lost")

// WatchUnits subscribes to systemd's signals and calls fn with every
// change of the active or sub state of a unit whose name match accepts,
// as systemd reports it (PropertiesChanged of org.freedesktop.systemd1.Unit),
// until ctx ends (its error is returned) or fn fails. Signals are live
// only: a change before the call is never reported. The Manager should
// not be used for anything else while it watches.
func (m *Manager) WatchUnits(ctx context.Context, match func(string) bool, fn func(UnitChange) error) error {
	if err := m.conn.Subscribe(); err != nil {
		return fmt.Errorf("subscribe to systemd's signals: %w", err)
	}
	defer m.conn.Unsubscribe()
	updates := make(chan *sd.PropertiesUpdate, 1024)
	errc := make(chan error, 1)
	m.conn.SetPropertiesSubscriber(updates, errc)
	defer m.conn.SetPropertiesSubscriber(nil, nil)
	last := map[string]UnitChange{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-errc:
			return ErrWatchOverflow
		case u := <-updates:
			if u == nil || !match(u.UnitName) {
				continue
			}
			active, ok := u.Changed["ActiveState"]
			if !ok {
				continue
			}
			ch := UnitChange{Unit: u.UnitName, Time: time.Now()}
			ch.ActiveState, _ = active.Value().(string)
			if sub, ok := u.Changed["SubState"]; ok {
				ch.SubState, _ = sub.Value().(string)
			}
			if prev, ok := last[ch.Unit]; ok && prev.ActiveState == ch.ActiveState && prev.SubState == ch.SubState {
				continue
			}
			last[ch.Unit] = ch
			if err := fn(ch); err != nil {
				return err
			}
		}
	}
}
