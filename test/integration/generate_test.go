package integration

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/machine"
)

// TestGenerateSystemd installs the unit file of a container and runs the
// container with plain systemctl, then with berth start.
func TestGenerateSystemd(t *testing.T) {
	busybox(t)
	ok(t, "create", "--name", "it_gen", "-m", "48m", "--stop-timeout", "1", "busybox", "sh", "-c", "echo from the unit file; exec sleep 1000")
	defer run(t, "rm", "-f", "it_gen")
	unit := ok(t, "generate", "systemd", "it_gen")
	path := "/etc/systemd/system/berth-it_gen.service"
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sh(t, "systemctl stop berth-it_gen.service || true")
		os.Remove(path)
		sh(t, "systemctl daemon-reload")
	}()
	if out := sh(t, "systemd-analyze verify "+path+" 2>&1 || true"); out != "" {
		t.Errorf("systemd-analyze verify: %s\n%s", out, unit)
	}
	sh(t, "systemctl daemon-reload && systemctl start berth-it_gen.service")
	for prop, want := range map[string]string{"ActiveState": "active", "Transient": "no", "MemoryMax": "50331648", "Slice": "machine.slice"} {
		if got := unitProp(t, "berth-it_gen.service", prop); got != want {
			t.Errorf("unit from the file: %s = %q, want %q", prop, got, want)
		}
	}
	if ps := ok(t, "ps", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, "it_gen Up") {
		t.Errorf("ps: %q", ps)
	}
	waitFor(t, 5*time.Second, "the container's line in its logs", func() bool {
		return strings.Contains(ok(t, "logs", "it_gen"), "from the unit file")
	})
	ok(t, "stop", "-t", "1", "it_gen")
	if st := inspect(t, "it_gen").State; st.Status != "exited" {
		t.Errorf("after stop: %+v", st)
	}
	// berth start finds the installed unit and starts it.
	ok(t, "start", "it_gen")
	if got := unitProp(t, "berth-it_gen.service", "ActiveState"); got != "active" {
		t.Errorf("after berth start: %s", got)
	}
	if got := unitProp(t, "berth-it_gen.service", "Transient"); got != "no" {
		t.Errorf("berth start made a transient unit beside the file (Transient=%s)", got)
	}
}

// TestUnitFileEscapingRoundTrip renders a unit with hostile values and
// lets systemd read it back: every word and field must arrive as it was.
func TestUnitFileEscapingRoundTrip(t *testing.T) {
	testutil.RequiresTestbed(t)
	args := []string{`50% off`, `a "quoted" word`, `back\slash`, "new\nline", "tab\there", `$$HOME stays`, "ümlaut"}
	out := "/run/it-escape.out"
	defer os.Remove(out)
	props := []machine.Property{
		{Name: "Description", Value: `100% "escaped" \o/ description`},
		{Name: "Type", Value: "oneshot"},
		{Name: "ExecStart", Value: machine.ExecCommand{Path: "/bin/sh", Argv: append([]string{"/bin/sh", "-c", `printf '%s\0' "$@" > ` + out, "sh"}, args...)}},
		{Name: "LogExtraFields", Value: [][]byte{[]byte(`IT_A=x y`), []byte(`IT_B="q" 100%`)}},
	}
	text, err := machine.RenderUnitFile(props, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := "/run/systemd/system/it-escape.service"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() { os.Remove(path); sh(t, "systemctl daemon-reload") }()
	sh(t, "systemctl daemon-reload && systemctl start it-escape.service")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the unit did not run: %v\n%s", err, text)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	want := append([]string(nil), args...)
	want[5] = "$HOME stays" // systemd's "$$", as for transient units
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("arguments after systemd read the file:\n got %q\nwant %q\nunit:\n%s", got, want, text)
	}
	if d := unitProp(t, "it-escape.service", "Description"); d != `100% "escaped" \o/ description` {
		t.Errorf("Description read back as %q", d)
	}
	if f := sh(t, "systemctl show -P LogExtraFields it-escape.service"); !strings.Contains(f, `IT_A=x y`) || !strings.Contains(f, `IT_B="q" 100%`) {
		t.Errorf("LogExtraFields read back as %q", f)
	}
}
