package machine

import (
	"fmt"
	"strings"
	"time"
)

// Healthcheck is a container's health check (--health-*, or a TOML
// service's healthcheck), with Docker's meaning.
type Healthcheck struct {
	// Test is ["CMD", argv...] or ["CMD-SHELL", "command line"].
	Test        []string
	Interval    time.Duration `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	StartPeriod time.Duration `json:",omitempty"`
	Retries     int           `json:",omitempty"`
}

// Docker's defaults for what a health check leaves out.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 30 * time.Second
	DefaultHealthRetries  = 3
	// healthLogLen is how many results State.Health keeps, as Docker.
	healthLogLen = 5
)

// Health statuses, as Docker names them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// WithDefaults fills in Docker's defaults.
func (h Healthcheck) WithDefaults() Healthcheck {
	if h.Interval <= 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout <= 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.Retries <= 0 {
		h.Retries = DefaultHealthRetries
	}
	return h
}

// Argv is the command a check runs: CMD's argv, or /bin/sh -c for
// CMD-SHELL.
func (h Healthcheck) Argv() ([]string, error) {
	if len(h.Test) < 2 {
		return nil, invalidf("health check %q: want [\"CMD\", argv...] or [\"CMD-SHELL\", command]", h.Test)
	}
	switch h.Test[0] {
	case "CMD":
		return h.Test[1:], nil
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", strings.Join(h.Test[1:], " ")}, nil
	}
	return nil, invalidf("health check %q: the first word is CMD or CMD-SHELL", h.Test)
}

// Validate checks a health check's command and times.
func (h Healthcheck) Validate() error {
	if _, err := h.Argv(); err != nil {
		return err
	}
	for name, d := range map[string]time.Duration{"interval": h.Interval, "timeout": h.Timeout} {
		if d != 0 && d < time.Millisecond {
			return invalidf("health check %s %s: at least 1ms", name, d)
		}
	}
	if h.Retries < 0 || h.StartPeriod < 0 {
		return invalidf("health check retries and start period cannot be negative")
	}
	return nil
}

// Health is a running container's health, as Docker's State.Health.
type Health struct {
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// HealthResult is one check.
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// Record applies one check's result to h under check c for a container
// started at started, as Docker does: a success makes it healthy; a
// failure while it is still starting and within the start period does
// not count; Retries failures in a row make it unhealthy. It returns
// whether the status changed.
func (h *Health) Record(c Healthcheck, started time.Time, r HealthResult) bool {
	c = c.WithDefaults()
	before := h.Status
	if h.Status == "" {
		h.Status = HealthStarting
	}
	h.Log = append(h.Log, r)
	if len(h.Log) > healthLogLen {
		h.Log = h.Log[len(h.Log)-healthLogLen:]
	}
	switch {
	case r.ExitCode == 0:
		h.Status, h.FailingStreak = HealthHealthy, 0
	case h.Status == HealthStarting && r.Start.Sub(started) < c.StartPeriod:
		// In the start period: not counted.
	default:
		h.FailingStreak++
		if h.FailingStreak >= c.Retries {
			h.Status = HealthUnhealthy
		}
	}
	return h.Status != before
}

// healthSuffix is what `ps` adds to "Up …" for a container with a check.
func healthSuffix(h *Health) string {
	if h == nil || h.Status == "" {
		return ""
	}
	if h.Status == HealthStarting {
		return " (health: starting)"
	}
	return fmt.Sprintf(" (%s)", h.Status)
}
