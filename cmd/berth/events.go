package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/machine/journal"
	"github.com/spf13/cobra"
)

// Events are journal records with BERTH_EVENT=ACTION (Docker's event
// actions), written by the command that did the thing: create, destroy,
// kill, stop, pause and unpause by the CLI; start by the unit's __init;
// die by its __cleanup; import, untag and delete of images by the CLI. `berth
// events` reads them back from the journal.
// Volumes and networks have create and destroy (events_objects.go).
var containerActions = []string{"create", "start", "die", "kill", "stop", "destroy", "pause", "unpause",
	"health_status: starting", "health_status: healthy", "health_status: unhealthy"}
var imageActions = []string{"import", "load", "pull", "push", "tag", "untag", "delete"}

// eventJSON is Docker's event message (events --format json).
type eventJSON struct {
	Status   string     `json:"status,omitempty"`
	ID       string     `json:"id,omitempty"`
	From     string     `json:"from,omitempty"`
	Type     string     `json:"Type"`
	Action   string     `json:"Action"`
	Actor    eventActor `json:"Actor"`
	Scope    string     `json:"scope"`
	Time     int64      `json:"time"`
	TimeNano int64      `json:"timeNano"`
}

type eventActor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

func toEvent(e journal.Entry) eventJSON {
	action := e.Fields["BERTH_EVENT"]
	ev := eventJSON{Type: "container", Action: action, Scope: "local", Time: e.Time.Unix(), TimeNano: e.Time.UnixNano(),
		Actor: eventActor{Attributes: map[string]string{}}}
	if oev, ok := objectEvent(e, ev); ok { // events_objects.go
		return oev
	}
	if id := e.Fields["CONTAINER_ID_FULL"]; id != "" {
		ev.Actor.ID, ev.ID, ev.Status, ev.From = id, id, action, e.Fields["IMAGE_NAME"]
		ev.Actor.Attributes["name"] = e.Fields["CONTAINER_NAME"]
		ev.Actor.Attributes["image"] = e.Fields["IMAGE_NAME"]
		if c := e.Fields["EXIT_CODE"]; c != "" && action == "die" {
			ev.Actor.Attributes["exitCode"] = c
		}
		if sig := e.Fields["BERTH_SIGNAL"]; sig != "" {
			ev.Actor.Attributes["signal"] = sig
		}
	} else {
		ev.Type = "image"
		ev.Actor.ID, ev.ID, ev.Status = e.Fields["BERTH_IMAGE_ID"], e.Fields["BERTH_IMAGE_ID"], action
		ev.Actor.Attributes["name"] = e.Fields["BERTH_IMAGE_REF"]
	}
	return ev
}

// eventLine is Docker's plain events line.
func eventLine(ev eventJSON) string {
	keys := make([]string, 0, len(ev.Actor.Attributes))
	for k := range ev.Actor.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var attrs []string
	for _, k := range keys {
		attrs = append(attrs, k+"="+ev.Actor.Attributes[k])
	}
	return fmt.Sprintf("%s %s %s %s (%s)", time.Unix(0, ev.TimeNano).UTC().Format("2006-01-02T15:04:05.000000000Z07:00"),
		ev.Type, ev.Action, ev.Actor.ID, strings.Join(attrs, ", "))
}

func newEventsCommand(g *globalOptions) *cobra.Command {
	var since, until, format string
	var filters []string
	c := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from berth (from the journal)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			now := time.Now()
			q := journal.Query{Follow: true, Since: now}
			if since != "" {
				t, err := parseSince(since, now)
				if err != nil {
					return usageError{err}
				}
				q.Since = t
			}
			if until != "" {
				t, err := parseSince(until, now)
				if err != nil {
					return usageError{fmt.Errorf("invalid --until: %w", err)}
				}
				q.Until, q.Follow = t, false
			}
			want := map[string][]string{}
			for _, f := range filters {
				k, v, ok := strings.Cut(f, "=")
				if !ok || (k != "type" && k != "event" && k != "container" && k != "image" && k != "volume" && k != "network" && k != "unit") {
					return usageError{fmt.Errorf("invalid filter %q: want type=, event=, container=, image=, volume=, network= or unit=", f)}
				}
				want[k] = append(want[k], v)
			}
			print, err := eventPrinter(c.OutOrStdout(), format) // events_objects.go
			if err != nil {
				return usageError{err}
			}
			return readEvents(c.Context(), q, want, print)
		},
	}
	c.Flags().StringVar(&since, "since", "", "Show events since timestamp or relative time (10m)")
	c.Flags().StringVar(&until, "until", "", "Stream events until this timestamp or relative time")
	c.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Filter output: type=, event=, container=, image=, volume=, network=, unit=")
	c.Flags().StringVar(&format, "format", "", "json (one JSON object a line) or a Go template")
	return c
}

// readEvents reads berth's events from the journal (q's Since, Until
// and Follow) and calls print for those that match want (Docker's
// filters); a follow also watches systemd's unit signals. A cancelled
// follow is no error.
func readEvents(ctx context.Context, q journal.Query, want map[string][]string, print func(eventJSON) error) error {
	for _, a := range append(append([]string(nil), containerActions...), imageActions...) {
		q.Matches = append(q.Matches, "BERTH_EVENT="+a)
	}
	if q.Follow {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		// Unit state changes come from systemd's signals, live.
		var stop func() error
		var err error
		print, stop, err = watchUnitEvents(ctx, print, want) // events_objects.go
		if err != nil {
			return err
		}
		defer stop()
	}
	err := journal.Read(ctx, q, func(e journal.Entry) error {
		ev := toEvent(e)
		// Docker reports an OOM kill as an oom event before the die.
		if ev.Action == "die" && e.Fields["BERTH_OOM"] == "1" {
			oom := ev
			oom.Action, oom.Status = "oom", "oom"
			oom.Actor.Attributes = map[string]string{"name": ev.Actor.Attributes["name"], "image": ev.Actor.Attributes["image"]}
			if eventMatches(oom, want) {
				if err := print(oom); err != nil {
					return err
				}
			}
		}
		if !eventMatches(ev, want) {
			return nil
		}
		return print(ev)
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func eventMatches(ev eventJSON, want map[string][]string) bool {
	for k, vs := range want {
		hit := false
		for _, v := range vs {
			switch k {
			case "type":
				hit = hit || ev.Type == v
			case "event":
				hit = hit || ev.Action == v
			case "container":
				hit = hit || (ev.Type == "container" && (ev.Actor.Attributes["name"] == v || strings.HasPrefix(ev.Actor.ID, v)))
			case "image":
				hit = hit || ev.Actor.Attributes["image"] == v || (ev.Type == "image" && ev.Actor.Attributes["name"] == v)
			case "volume":
				hit = hit || (ev.Type == "volume" && ev.Actor.ID == v)
			case "network":
				hit = hit || (ev.Type == "network" && (ev.Actor.Attributes["name"] == v || strings.HasPrefix(ev.Actor.ID, v)))
			case "unit":
				hit = hit || (ev.Type == "unit" && ev.Actor.ID == v)
			}
		}
		if !hit {
			return false
		}
	}
	return true
}
