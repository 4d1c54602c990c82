package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"text/template"

	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/machine/reconcile"
	"github.com/berth/berth/machine/systemd"
	"github.com/berth/berth/netsetup/network"
)

// Events of volumes and networks: the record carries BERTH_EVENT_TYPE
// (volume, network) and the object's name, so toEvent can tell them from
// container events, which share the actions create and destroy.

func emitNetwork(action string, n network.Network) {
	emit(action, journal.Field{Name: "BERTH_EVENT_TYPE", Value: "network"}, journal.Field{Name: "BERTH_NETWORK", Value: n.Name},
		journal.Field{Name: "BERTH_NETWORK_ID", Value: n.ID})
}

// objectEvent is toEvent for a volume or network record; ok is false
// for any other.
func objectEvent(e journal.Entry, ev eventJSON) (eventJSON, bool) {
	switch e.Fields["BERTH_EVENT_TYPE"] {
	case "volume":
		ev.Type = "volume"
		ev.Actor.ID = e.Fields["BERTH_VOLUME"]
		ev.Actor.Attributes["driver"] = "local"
		return ev, true
	case "network":
		ev.Type = "network"
		ev.Actor.ID = e.Fields["BERTH_NETWORK_ID"]
		ev.Actor.Attributes["name"] = e.Fields["BERTH_NETWORK"]
		ev.Actor.Attributes["type"] = "bridge"
		return ev, true
	}
	return ev, false
}

// eventPrinter prints an event as Docker's plain line, JSON, or a Go
// template over Docker's event message.
func eventPrinter(w io.Writer, format string) (func(eventJSON) error, error) {
	switch format {
	case "":
		return func(ev eventJSON) error { _, err := fmt.Fprintln(w, eventLine(ev)); return err }, nil
	case "json", "{{json .}}":
		return func(ev eventJSON) error {
			b, err := json.Marshal(ev)
			if err == nil {
				_, err = fmt.Fprintf(w, "%s\n", b)
			}
			return err
		}, nil
	}
	tmpl, err := template.New("events").Funcs(template.FuncMap{"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}}).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("invalid --format %q: %w", format, err)
	}
	return func(ev eventJSON) error {
		if err := tmpl.Execute(w, ev); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w)
		return err
	}, nil
}

// watchUnitEvents starts reporting the state changes of berth's
// container units (berth-*.service, not the DNS responders) as events of
// type "unit": Action the unit's new active state, Attributes its sub
// state. They come from systemd's D-Bus signals, so only while
// following. It returns a printer safe to share with the journal
// reader, and stop, which ends the watch.
func watchUnitEvents(ctx context.Context, print func(eventJSON) error, want map[string][]string) (func(eventJSON) error, func() error, error) {
	m, err := systemd.Connect(ctx)
	if err != nil {
		return nil, nil, engineError{err}
	}
	var mu sync.Mutex
	locked := func(ev eventJSON) error {
		mu.Lock()
		defer mu.Unlock()
		return print(ev)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- m.WatchUnits(ctx, reconcile.IsContainerUnit, func(ch systemd.UnitChange) error {
			ev := eventJSON{Type: "unit", Action: ch.ActiveState, Status: ch.ActiveState, ID: ch.Unit, Scope: "local",
				Time: ch.Time.Unix(), TimeNano: ch.Time.UnixNano(),
				Actor: eventActor{ID: ch.Unit, Attributes: map[string]string{"subState": ch.SubState}}}
			if !eventMatches(ev, want) {
				return nil
			}
			return locked(ev)
		})
	}()
	stop := func() error {
		cancel()
		err := <-done
		m.Close()
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	return locked, stop, nil
}
