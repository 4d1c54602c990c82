package unitproc

import (
	"errors"
	"fmt"
	"os"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
)

// Emit writes one event. A journal that cannot take it costs the user
// nothing but the event: a warning, never a failed command.
func Emit(action string, fields ...journal.Field) {
	fs := append([]journal.Field{
		{Name: "BERTH_EVENT", Value: action},
		// notice, as berth's other records: logs and run show only the
		// container's own output (info and err).
		{Name: "PRIORITY", Value: "5"},
		{Name: "SYSLOG_IDENTIFIER", Value: "berth"},
	}, fields...)
	msg := action
	for _, f := range fields {
		if f.Name == "CONTAINER_NAME" || f.Name == "BERTH_IMAGE_REF" {
			msg += " " + f.Value
		}
	}
	fs = append(fs, journal.Field{Name: "MESSAGE", Value: msg})
	if err := journal.Send(fs...); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "berth: warning: event %s: %v\n", action, err)
	}
}

// ContainerFields name a container in an event as its log lines do.
func ContainerFields(rec *machine.Container) []journal.Field {
	return []journal.Field{
		{Name: "CONTAINER_ID", Value: machine.ShortID(rec.ID)},
		{Name: "CONTAINER_ID_FULL", Value: rec.ID},
		{Name: "CONTAINER_NAME", Value: rec.Name},
		{Name: "IMAGE_NAME", Value: rec.Image},
		{Name: "OBJECT_SYSTEMD_UNIT", Value: rec.Unit},
	}
}
