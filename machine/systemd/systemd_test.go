package systemd

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	sd "github.com/coreos/go-systemd/v22/dbus"
)

func TestConnectWithoutSystemd(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd is running here; the integration tests cover Connect")
	}
	_, err := Connect(context.Background())
	if !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Connect without systemd: %v, want ErrUnavailable", err)
	}
}

func TestVariant(t *testing.T) {
	tests := []struct {
		in   any
		sig  string
		fail bool
	}{
		{"machine.slice", "s", false},
		{true, "b", false},
		{uint64(1 << 20), "t", false},
		{int32(9), "i", false},
		{[]string{"A=1"}, "as", false},
		{machine.ExecCommand{Path: "/bin/true", Argv: []string{"true"}}, "a(sasb)", false},
		{[]machine.ExecCommand{{Path: "/bin/true", Argv: []string{"true"}, IgnoreFailure: true}}, "a(sasb)", false},
		{3.5, "", true},
	}
	for _, tt := range tests {
		v, err := variant(tt.in)
		if tt.fail {
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Errorf("variant(%T) = %v, want ErrInvalid", tt.in, err)
			}
			continue
		}
		if err != nil || v.Signature().String() != tt.sig {
			t.Errorf("variant(%#v) = %s, %v; want signature %s", tt.in, v.Signature(), err, tt.sig)
		}
	}
	// IgnoreFailure is systemd's "-" prefix, the tuple's bool as is.
	for _, ignore := range []bool{false, true} {
		v, _ := variant(machine.ExecCommand{Path: "/x", Argv: []string{"x"}, IgnoreFailure: ignore})
		if got := v.Value().([]execTuple)[0].IgnoreFailure; got != ignore {
			t.Errorf("IgnoreFailure %v sent as %v", ignore, got)
		}
	}
}

func TestStopJob(t *testing.T) {
	jobs := []sd.JobStatus{
		{Id: 1, Unit: "berth-a.service", JobType: "stop", Status: "running"},
		{Id: 2, Unit: "berth-b.service", JobType: "restart", Status: "waiting"},
		{Id: 3, Unit: "berth-c.service", JobType: "start", Status: "waiting"},
		{Id: 4, Unit: "berth-d.service.wants", JobType: "stop", Status: "waiting"},
	}
	for unit, want := range map[string]bool{
		"berth-a.service": true,  // systemctl stop
		"berth-b.service": true,  // systemctl restart
		"berth-c.service": false, // a start is no stop
		"berth-d.service": false, // another unit's job
		"berth-e.service": false, // no job: ended on its own
	} {
		if got := stopJob(jobs, unit); got != want {
			t.Errorf("stopJob(%s) = %v, want %v", unit, got, want)
		}
	}
}
