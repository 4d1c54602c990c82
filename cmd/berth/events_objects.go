package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/template"

	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/netsetup/network"
)

// Events of volumes and networks: the record carries BERTH_EVENT_TYPE
// (volume, network) and the object's name, so toEvent can tell them from
// container events, which share the actions create and destroy.

func emitVolume(action, name string) {
	emit(action, journal.Field{Name: "BERTH_EVENT_TYPE", Value: "volume"}, journal.Field{Name: "BERTH_VOLUME", Value: name})
}

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
