package integration

import (
	"strings"
	"testing"
)

// TestListFilters: `network ls` and `volume ls` with --filter, from
// berth's CLI and from Docker's through the API: by name, label,
// dangling and type; an unknown filter is a usage error.
func TestListFilters(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	ok(t, "network", "create", "--label", "app=flt", "it-flt-used")
	defer run(t, "network", "rm", "it-flt-used")
	ok(t, "network", "create", "--label", "app=flt", "--label", "tier=idle", "it-flt-idle")
	defer run(t, "network", "rm", "it-flt-idle")
	ok(t, "volume", "create", "--label", "app=flt", "it-flt-data")
	defer run(t, "volume", "rm", "-f", "it-flt-data")
	ok(t, "volume", "create", "--label", "app=other", "it-flt-spare")
	defer run(t, "volume", "rm", "-f", "it-flt-spare")
	ok(t, "create", "--name", "it_flt", "--network", "it-flt-used", "-v", "it-flt-data:/data", "busybox", "true")
	defer run(t, "rm", "-f", "it_flt")

	lines := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "ls", "--format", "{{.Name}}", "-f", "name=it-flt"}, "it-flt-idle it-flt-used"},
		{[]string{"network", "ls", "--format", "{{.Name}}", "-f", "label=tier=idle"}, "it-flt-idle"},
		{[]string{"network", "ls", "--format", "{{.Name}}", "-f", "label=app=flt", "-f", "dangling=false"}, "it-flt-used"},
		{[]string{"network", "ls", "--format", "{{.Name}}", "-f", "type=builtin"}, "bridge host none"},
		{[]string{"volume", "ls", "-q", "-f", "name=it-flt"}, "it-flt-data it-flt-spare"},
		{[]string{"volume", "ls", "-q", "-f", "label=app=flt"}, "it-flt-data"},
		{[]string{"volume", "ls", "-q", "-f", "name=it-flt", "-f", "dangling=true"}, "it-flt-spare"},
	} {
		if got := lines(ok(t, tc.args...)); got != tc.want {
			t.Errorf("berth %s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
		if got := lines(dockerOK(t, tc.args...)); got != tc.want {
			t.Errorf("docker %s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	if r := run(t, "volume", "ls", "-f", "color=red"); r.code != 125 || !strings.Contains(r.stderr, `invalid filter "color"`) {
		t.Errorf("berth volume ls -f color=red: exit %d, %q", r.code, r.stderr)
	}
	if r := docker(t, "network", "ls", "-f", "color=red"); r.code == 0 || !strings.Contains(r.stderr, `invalid filter "color"`) {
		t.Errorf("docker network ls -f color=red: exit %d, %q", r.code, r.stderr)
	}
}
