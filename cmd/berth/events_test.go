package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/berth/berth/machine/journal"
)

func TestToEvent(t *testing.T) {
	at := time.Unix(1700000000, 5).UTC()
	for _, tc := range []struct {
		fields          map[string]string
		typ, action, id string
		attr, attrValue string
		filter          map[string][]string
		matches         bool
	}{
		{map[string]string{"BERTH_EVENT": "die", "CONTAINER_ID_FULL": "abc", "CONTAINER_NAME": "web", "IMAGE_NAME": "busybox", "EXIT_CODE": "3"},
			"container", "die", "abc", "exitCode", "3", map[string][]string{"container": {"web"}}, true},
		{map[string]string{"BERTH_EVENT": "create", "BERTH_EVENT_TYPE": "volume", "BERTH_VOLUME": "data"},
			"volume", "create", "data", "driver", "local", map[string][]string{"volume": {"data"}, "type": {"volume"}}, true},
		{map[string]string{"BERTH_EVENT": "destroy", "BERTH_EVENT_TYPE": "network", "BERTH_NETWORK": "app", "BERTH_NETWORK_ID": "f00d"},
			"network", "destroy", "f00d", "name", "app", map[string][]string{"network": {"app"}}, true},
		{map[string]string{"BERTH_EVENT": "create", "BERTH_EVENT_TYPE": "volume", "BERTH_VOLUME": "data"},
			"volume", "create", "data", "driver", "local", map[string][]string{"container": {"data"}}, false},
		{map[string]string{"BERTH_EVENT": "delete", "BERTH_IMAGE_ID": "sha256:1", "BERTH_IMAGE_REF": "busybox"},
			"image", "delete", "sha256:1", "name", "busybox", map[string][]string{"type": {"image"}, "event": {"delete", "untag"}}, true},
	} {
		ev := toEvent(journal.Entry{Time: at, Fields: tc.fields})
		if ev.Type != tc.typ || ev.Action != tc.action || ev.Actor.ID != tc.id || ev.Actor.Attributes[tc.attr] != tc.attrValue {
			t.Errorf("toEvent(%v) = %+v", tc.fields, ev)
		}
		if got := eventMatches(ev, tc.filter); got != tc.matches {
			t.Errorf("eventMatches(%+v, %v) = %v, want %v", ev, tc.filter, got, tc.matches)
		}
	}
}

func TestEventPrinter(t *testing.T) {
	ev := eventJSON{Type: "volume", Action: "create", Actor: eventActor{ID: "data", Attributes: map[string]string{"driver": "local"}}, TimeNano: 5}
	for format, want := range map[string]string{
		"":                                    "1970-01-01T00:00:00.000000005Z volume create data (driver=local)\n",
		"json":                                `{"Type":"volume","Action":"create","Actor":{"ID":"data","Attributes":{"driver":"local"}},"scope":"","time":0,"timeNano":5}` + "\n",
		"{{.Type}} {{.Action}} {{.Actor.ID}}": "volume create data\n",
		"{{json .Actor.Attributes}}":          `{"driver":"local"}` + "\n",
	} {
		var b bytes.Buffer
		p, err := eventPrinter(&b, format)
		if err != nil {
			t.Fatal(err)
		}
		if err := p(ev); err != nil || b.String() != want {
			t.Errorf("format %q: %q, %v; want %q", format, b.String(), err, want)
		}
	}
	if _, err := eventPrinter(&bytes.Buffer{}, "{{.Nope"); err == nil {
		t.Error("a bad template is accepted")
	}
}
