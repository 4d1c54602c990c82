package unitproc

import (
	"context"
	"strings"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/systemd"
)

// healthTimer is the timer unit of a container's health check.
func healthTimer(rec *machine.Container) string {
	return strings.TrimSuffix(rec.Unit, ".service") + "-health.timer"
}

// startHealthTimer makes the health timer of rec, which has just started.
func startHealthTimer(root string, rec *machine.Container) error {
	hc := rec.Options.Healthcheck.WithDefaults()
	exe, err := CLIPath()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := systemd.Connect(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.EnsureTimer(ctx, healthTimer(rec), "health check of berth container "+rec.Name, rec.Unit, hc.Interval, hc.Interval,
		[]machine.Property{
			{Name: "Description", Value: "health check of berth container " + rec.Name},
			{Name: "Type", Value: "oneshot"},
			{Name: "ExecStart", Value: machine.ExecCommand{Path: exe, Argv: []string{exe, "--root", root, "__health", rec.ID}}},
			{Name: "CollectMode", Value: "inactive-or-failed"},
			// A check every interval, however short: systemd's default
			// start limit (5 starts in 10 s) would skip checks of an
			// interval under 2 s, and delay readiness (healthready.go).
			{Name: "StartLimitIntervalUSec", Value: uint64(0)},
		})
}
