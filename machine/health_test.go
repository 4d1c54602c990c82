package machine

import (
	"testing"
	"time"
)

func TestHealthRecord(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := Healthcheck{Test: []string{"CMD", "true"}, Retries: 2, StartPeriod: 10 * time.Second}
	at := func(s int, code int) HealthResult {
		return HealthResult{Start: t0.Add(time.Duration(s) * time.Second), ExitCode: code}
	}
	var h Health
	steps := []struct {
		r          HealthResult
		wantStatus string
		wantStreak int
		changed    bool
	}{
		{at(1, 1), HealthStarting, 0, true},   // in the start period: not counted
		{at(5, 1), HealthStarting, 0, false},  // still
		{at(11, 1), HealthStarting, 1, false}, // after it: counted
		{at(12, 1), HealthUnhealthy, 2, true}, // Retries in a row
		{at(13, 0), HealthHealthy, 0, true},
		{at(14, 1), HealthHealthy, 1, false},
		{at(15, 0), HealthHealthy, 0, false},
		{at(16, 1), HealthHealthy, 1, false},
		{at(17, 1), HealthUnhealthy, 2, true},
	}
	for i, s := range steps {
		changed := h.Record(c, t0, s.r)
		if h.Status != s.wantStatus || h.FailingStreak != s.wantStreak || changed != s.changed {
			t.Fatalf("step %d: status %s streak %d changed %v; want %s %d %v", i, h.Status, h.FailingStreak, changed, s.wantStatus, s.wantStreak, s.changed)
		}
	}
	if len(h.Log) != healthLogLen {
		t.Errorf("log keeps %d results, want %d", len(h.Log), healthLogLen)
	}
}

func TestHealthcheckArgv(t *testing.T) {
	for _, tc := range []struct {
		test []string
		want string
		bad  bool
	}{
		{[]string{"CMD", "wget", "-q", "localhost"}, "wget -q localhost", false},
		{[]string{"CMD-SHELL", "test -f /ok"}, "/bin/sh -c test -f /ok", false},
		{[]string{"NONE"}, "", true},
		{[]string{"RUN", "x"}, "", true},
	} {
		argv, err := Healthcheck{Test: tc.test}.Argv()
		if (err != nil) != tc.bad || (!tc.bad && joinArgs(argv) != tc.want) {
			t.Errorf("Argv(%q) = %q, %v", tc.test, argv, err)
		}
	}
	if got := DisplayStatus(State{Status: StatusRunning, StartedAt: time.Unix(0, 0), Health: &Health{Status: HealthStarting}}, time.Unix(3, 0),
		func(d time.Duration) string { return d.String() }); got != "Up 3s (health: starting)" {
		t.Errorf("ps status %q", got)
	}
}

func joinArgs(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}
