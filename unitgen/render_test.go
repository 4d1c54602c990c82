package unitgen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// goldenOptions are the paths the golden units name.
var goldenOptions = Options{Exe: "/usr/bin/berth", Root: "/var/lib/berth"}

// renderFile parses testdata/NAME.toml as /etc/berth/NAME.toml and
// renders it with goldenOptions.
func renderFile(t testing.TB, f string) []Unit {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	app, err := Parse("/etc/berth/"+filepath.Base(f), data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	units, err := Render(app, goldenOptions)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return units
}

// TestRenderGolden renders each good app in testdata/*.toml and compares
// its units with the files in testdata/NAME.units/: the same set of
// files, byte for byte. `go test ./unitgen -update` rewrites them.
func TestRenderGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.toml: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		t.Run(name, func(t *testing.T) {
			units := renderFile(t, f)
			dir := strings.TrimSuffix(f, ".toml") + ".units"
			if *update {
				os.RemoveAll(dir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, u := range units {
					if err := os.WriteFile(filepath.Join(dir, u.Name), []byte(u.Text()), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("%v (go test ./unitgen -update writes it)", err)
			}
			var want, got []string
			for _, e := range entries {
				want = append(want, e.Name())
			}
			for _, u := range units {
				got = append(got, u.Name)
				golden, err := os.ReadFile(filepath.Join(dir, u.Name))
				if err != nil {
					continue // reported with the list of names below
				}
				if !bytes.Equal(golden, []byte(u.Text())) {
					t.Errorf("%s differs from %s (go test ./unitgen -update rewrites it; review the diff):\n%s", u.Name, dir, u.Text())
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("units:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestRenderVerify runs systemd-analyze verify on every golden unit, with
// the berth binary they name replaced by one that exists here (verify
// checks that ExecStart's program exists and is executable).
func TestRenderVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	exe, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	files, _ := filepath.Glob("testdata/*.toml")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for _, u := range renderFile(t, f) {
				text := strings.ReplaceAll(u.Text(), goldenOptions.Exe+" ", exe+" ")
				p := filepath.Join(dir, u.Name)
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
				for _, in := range u.Instances {
					// An instance of a template: its specifiers resolved.
					paths = append(paths, filepath.Join(dir, in))
				}
			}
			cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...)
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
		})
	}
}

// TestRenderDependencies checks, on the full app, what the golden files
// only show: which unit requires which.
func TestRenderDependencies(t *testing.T) {
	units := map[string]Unit{}
	for _, u := range renderFile(t, "testdata/full.toml") {
		units[u.Name] = u
	}
	get := func(unit, section, key string) []string {
		u, ok := units[unit]
		if !ok {
			t.Fatalf("no unit %s", unit)
		}
		lines := map[string][]Line{SectionUnit: u.Unit, SectionService: u.Service, SectionInstall: u.Install}[section]
		var out []string
		for _, l := range lines {
			if l.Key == key {
				out = append(out, l.Value)
			}
		}
		return out
	}
	tests := []struct {
		unit, section, key string
		want               []string
	}{
		{"shop-net-front.service", "Service", "RemainAfterExit", []string{"yes"}},
		{"shop-net-front.service", "Service", "ExecStart", []string{`/usr/bin/berth "--root" "/var/lib/berth" "network" "create" "--ignore" "--label" "io.berth.app=shop" "--subnet" "10.89.1.0/24" "--gateway" "10.89.1.1" "shop_front"`}},
		{"shop-net-back.service", "Service", "ExecStart", []string{`/usr/bin/berth "--root" "/var/lib/berth" "network" "create" "--ignore" "--label" "io.berth.app=shop" "--internal" "shop_back"`}},
		{"shop-vol-dbdata.service", "Service", "Type", []string{"oneshot"}},
		{"shop-pull-db.service", "Unit", "After", []string{"network-online.target"}},
		{"shop-pull-db.service", "Unit", "Wants", []string{"network-online.target"}},
		{"shop-build-api.service", "Service", "ExecStart", []string{`/usr/bin/berth "--root" "/var/lib/berth" "build" "--tag" "shop-api" "--file" "/etc/berth/api/Dockerfile.prod" "--build-arg" "GO_VERSION=1.26" "--target" "release" "/etc/berth/api"`}},
		// web: two networks, a volume, its image, and every replica of api.
		{"shop-web.service", "Unit", "Requires", []string{"shop-net-front.service shop-net-back.service shop-vol-shared.service shop-pull-web.service shop-api@1.service shop-api@2.service shop-api@3.service"}},
		{"shop-web.service", "Install", "WantedBy", []string{"multi-user.target", "graphical.target"}},
		{"shop-web.service", "Service", "Restart", []string{"always"}},
		// api waits for db to be healthy and migrate to have completed
		// with only After=: db's unit is ready when db is healthy,
		// migrate's (a oneshot) once it has exited with status 0, and
		// stays active. Its three replicas are instances of one
		// template.
		{"shop-api@.service", "Service", "ExecStartPre", []string{
			`/usr/bin/berth "--root" "/var/lib/berth" "__prepare" "/etc/berth/full.toml" "api@%i"`,
		}},
		{"shop-migrate.service", "Service", "Type", []string{"oneshot"}},
		{"shop-migrate.service", "Service", "RemainAfterExit", []string{"yes"}},
		{"shop-migrate.service", "Service", "ExecStartPost", []string{`/usr/bin/berth "--root" "/var/lib/berth" "__cleanup" "--completed" "` + ContainerID("shop", "migrate") + `"`}},
		{"shop-migrate.service", "Service", "ExecStopPost", []string{`/usr/bin/berth "--root" "/var/lib/berth" "__cleanup" "--skip-recorded" "` + ContainerID("shop", "migrate") + `"`}},
		{"shop-db.service", "Service", "Type", []string{"notify"}},
		// A unit with a healthcheck waits for it to pass: its start
		// timeout follows the check (start_period 30s, 6 checks of 5s
		// and 2s, 30s more); db's is the defaults'; web has none.
		{"shop-api@.service", "Service", "TimeoutStartSec", []string{"102000000us"}},
		{"shop-db.service", "Service", "TimeoutStartSec", []string{"270000000us"}},
		{"shop-web.service", "Service", "TimeoutStartSec", nil},
		{"shop-api@.service", "Unit", "StartLimitBurst", []string{"6"}},
		{"shop-api@.service", "Service", "ExecStart", []string{`/usr/bin/berth "--root" "/var/lib/berth" "__init" "%i` + ContainerID("shop", "api@2")[1:] + `"`}},
		{"shop-db.service", "Service", "KillSignal", []string{"2"}},
		{"shop-db.service", "Service", "TimeoutStopSec", []string{"60000000us"}}, // stop_timeout 60: systemd's own
	}
	for _, tt := range tests {
		if got := get(tt.unit, tt.section, tt.key); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s [%s] %s:\n got %q\nwant %q", tt.unit, tt.section, tt.key, got, tt.want)
		}
	}
	// The links that enable web: [install] wanted_by, and the Alias= of
	// its systemd table; the oneshots have none (web requires them).
	if got := units["shop-web.service"].Links; strings.Join(got, " ") != "multi-user.target.wants/shop-web.service graphical.target.wants/shop-web.service shop-www.service" {
		t.Errorf("shop-web.service links: %q", got)
	}
	// The template's links enable its three instances.
	if got := units["shop-api@.service"].Links; strings.Join(got, " ") != "multi-user.target.wants/shop-api@1.service graphical.target.wants/shop-api@1.service "+
		"multi-user.target.wants/shop-api@2.service graphical.target.wants/shop-api@2.service multi-user.target.wants/shop-api@3.service graphical.target.wants/shop-api@3.service" {
		t.Errorf("shop-api@.service links: %q", got)
	}
	if got := units["shop-api@.service"].Instances; strings.Join(got, " ") != "shop-api@1.service shop-api@2.service shop-api@3.service" {
		t.Errorf("shop-api@.service instances: %q", got)
	}
	if got := units["shop-net-back.service"].Links; len(got) != 0 {
		t.Errorf("a oneshot has links: %q", got)
	}
}

// TestRenderErrors: a value that cannot be written in a unit is an error
// naming the unit, not a broken file.
func TestRenderErrors(t *testing.T) {
	tests := []struct {
		file string
		o    Options
	}{
		{"/etc/berth/x.toml", Options{Exe: "berth", Root: "/var/lib/berth"}},
		{"/etc/berth/x.toml", Options{Exe: "/usr/bin/my berth", Root: "/r"}},
		{"/etc/be\nrth/x.toml", Options{Exe: "/usr/bin/berth", Root: "/r"}},
	}
	for _, tt := range tests {
		app, err := Parse(tt.file, []byte("[service.web]\nimage = \"busybox\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Render(app, tt.o); err == nil || !strings.Contains(err.Error(), "unit x-") {
			t.Errorf("Render of %q with %+v: %v, want an error naming the unit", tt.file, tt.o, err)
		}
	}
}

// TestGoldenCoversEveryKey: every key of the format, every condition,
// restart policy and systemd section appears in one of the golden apps,
// so that the golden units show what each becomes.
func TestGoldenCoversEveryKey(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.toml")
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	text := all.String()
	lists := [][]string{topKeys, serviceKeys, buildKeys, serviceNetKeys, dependsOnKeys, healthcheckKeys,
		networkKeys, volumeKeys, installKeys, volumeOptionKeys}
	for _, l := range lists {
		for _, k := range l {
			if !regexp.MustCompile(`(^|[\s{,.\[])` + regexp.QuoteMeta(k) + `(\s*=|[.\]])`).MatchString(text) {
				t.Errorf("no golden app sets the key %q", k)
			}
		}
	}
	for _, l := range [][]string{conditionNames, restartPolicyKeys} {
		for _, v := range l {
			if !regexp.MustCompile(`"` + v + `(:\d+)?"`).MatchString(text) {
				t.Errorf("no golden app uses %q", v)
			}
		}
	}
	for _, s := range systemdSections {
		if !strings.Contains(text, ".systemd."+s+"]") {
			t.Errorf("no golden app has a [service.NAME.systemd.%s] table", s)
		}
	}
}
