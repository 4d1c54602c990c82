package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/cgroup"
	"github.com/berth/berth/machine/systemd"
	"github.com/spf13/cobra"
)

// freezeTimeout bounds the wait for the kernel to freeze or thaw.
const freezeTimeout = 10 * time.Second

// controlGroup is the cgroup of rec's unit, as systemd reports it.
func (h *host) controlGroup(ctx context.Context, rec *machine.Container) (string, error) {
	m, err := h.systemd(ctx)
	if err != nil {
		return "", err
	}
	st, err := m.Unit(ctx, rec.Unit)
	if err != nil {
		return "", err
	}
	if st.ControlGroup == "" {
		return "", fmt.Errorf("container %s is not running", rec.Name)
	}
	return st.ControlGroup, nil
}

// freeze freezes or thaws rec's unit: with systemd's FreezeUnit where
// systemd supports it (a unified cgroup host), else with the cgroup v2
// freezer of the unit's cgroup (see package cgroup).
func (h *host) freeze(ctx context.Context, rec *machine.Container, frozen bool) error {
	err := systemd.Freeze(ctx, rec.Unit, frozen)
	if err == nil || !errors.Is(err, errdefs.ErrUnavailable) {
		return err
	}
	cg, err := h.controlGroup(ctx, rec)
	if err != nil {
		return err
	}
	return cgroup.Host.Freeze(cg, frozen, freezeTimeout)
}

// thawForStop thaws a paused container before it is stopped, so that
// its processes see the stop signal (a frozen one would only die of the
// final SIGKILL).
func (h *host) thawForStop(ctx context.Context, rec *machine.Container) {
	if rec.State.Paused && rec.IsRunning() {
		if err := h.freeze(ctx, rec, false); err == nil {
			h.cs.Update(rec.ID, func(r *machine.Container) error { r.State.Paused = false; return nil })
			emit("unpause", containerFields(rec)...)
		}
	}
}

func newPauseCommand(g *globalOptions) *cobra.Command {
	return pauseCommand(g, true)
}

func newUnpauseCommand(g *globalOptions) *cobra.Command {
	return pauseCommand(g, false)
}

func pauseCommand(g *globalOptions, pause bool) *cobra.Command {
	use, short := "pause", "Pause all processes within one or more containers"
	if !pause {
		use, short = "unpause", "Unpause all processes within one or more containers"
	}
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: short,
		Long: short + ": freeze (or thaw) the container's cgroup, with systemd's FreezeUnit where systemd\n" +
			"supports it, else the cgroup v2 freezer. `berth ps` shows a paused container as \"Up … (Paused)\".",
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := g.host(c)
			if err != nil {
				return err
			}
			defer h.close()
			var errs []error
			for _, ref := range args {
				if err := h.pause(c.Context(), ref, pause); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), ref)
			}
			return errors.Join(errs...)
		},
	}
}

// pause pauses or unpauses one container, with Docker's errors.
func (h *host) pause(ctx context.Context, ref string, pause bool) error {
	rec, err := h.cs.Lookup(ref)
	if err != nil {
		return err
	}
	if !rec.IsRunning() {
		return fmt.Errorf("container %s is not running", rec.Name)
	}
	if pause && rec.State.Paused {
		return fmt.Errorf("container %s is already paused", rec.Name)
	}
	if !pause && !rec.State.Paused {
		return fmt.Errorf("container %s is not paused", rec.Name)
	}
	if err := h.freeze(ctx, rec, pause); err != nil {
		return fmt.Errorf("cannot %s container %s: %w", map[bool]string{true: "pause", false: "unpause"}[pause], rec.Name, err)
	}
	if _, err := h.cs.Update(rec.ID, func(r *machine.Container) error { r.State.Paused = pause; return nil }); err != nil {
		return err
	}
	event := "pause"
	if !pause {
		event = "unpause"
	}
	emit(event, containerFields(rec)...)
	return nil
}
