package butane

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
	"gopkg.in/yaml.v3"

	"github.com/berth/berth/unitgen"
)

// config is the part of Butane's fcos/flatcar schema that berth.bu
// uses; decoding with KnownFields refuses any other key, so a typo in
// the config fails here as `butane --strict` would.
type config struct {
	Variant string `yaml:"variant"`
	Version string `yaml:"version"`
	Storage struct {
		Files []struct {
			Path     string `yaml:"path"`
			Mode     int    `yaml:"mode"`
			Contents struct {
				Source       string `yaml:"source"`
				Inline       string `yaml:"inline"`
				Verification struct {
					Hash string `yaml:"hash"`
				} `yaml:"verification"`
			} `yaml:"contents"`
		} `yaml:"files"`
	} `yaml:"storage"`
	Systemd struct {
		Units []struct {
			Name     string `yaml:"name"`
			Enabled  bool   `yaml:"enabled"`
			Contents string `yaml:"contents"`
		} `yaml:"units"`
	} `yaml:"systemd"`
}

func load(t *testing.T) config {
	t.Helper()
	b, err := os.ReadFile("berth.bu")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c config
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("berth.bu: %v", err)
	}
	return c
}

var sha512Hash = regexp.MustCompile(`^sha512-[0-9a-f]{128}$`)

// TestConfig checks what the host gets: the sysext where systemd-sysext
// looks, fetched and verified; an app berth can parse, whose image a
// unit imports; systemd-sysext enabled; units that parse.
func TestConfig(t *testing.T) {
	c := load(t)
	if c.Variant != "fcos" || !strings.HasPrefix(c.Version, "1.") {
		t.Errorf("variant %q version %q, want fcos 1.x", c.Variant, c.Version)
	}
	files := map[string]bool{}
	var apps []*unitgen.App
	for _, f := range c.Storage.Files {
		files[f.Path] = true
		if f.Mode != 0o644 {
			t.Errorf("%s: mode %o, want 0644", f.Path, f.Mode)
		}
		switch {
		case f.Contents.Source != "":
			if !strings.HasPrefix(f.Contents.Source, "https://") || !sha512Hash.MatchString(f.Contents.Verification.Hash) {
				t.Errorf("%s: a remote file needs an https source and a sha512 hash: %q, %q", f.Path, f.Contents.Source, f.Contents.Verification.Hash)
			}
		case strings.HasPrefix(f.Path, "/etc/berth/") && strings.HasSuffix(f.Path, ".toml"):
			app, err := unitgen.Parse(f.Path, []byte(f.Contents.Inline))
			if err != nil {
				t.Errorf("the app %s does not parse: %v", f.Path, err)
				continue
			}
			apps = append(apps, app)
		}
	}
	if !files["/var/lib/extensions/berth.raw"] {
		t.Error("no /var/lib/extensions/berth.raw: systemd-sysext would not find berth")
	}
	if len(apps) != 1 {
		t.Fatalf("%d apps in /etc/berth, want 1", len(apps))
	}
	units := map[string]map[string][]string{}
	for _, u := range c.Systemd.Units {
		if u.Contents == "" {
			units[u.Name] = nil
			if !u.Enabled {
				t.Errorf("%s: neither contents nor enabled", u.Name)
			}
			continue
		}
		opts, err := unit.Deserialize(strings.NewReader(u.Contents))
		if err != nil {
			t.Errorf("%s: %v", u.Name, err)
			continue
		}
		m := map[string][]string{}
		for _, o := range opts {
			m[o.Section+"."+o.Name] = append(m[o.Section+"."+o.Name], o.Value)
		}
		units[u.Name] = m
		if u.Enabled && len(m["Install.WantedBy"]) == 0 {
			t.Errorf("%s is enabled but has no WantedBy=", u.Name)
		}
		for _, x := range m["Service.ExecStart"] {
			if !strings.HasPrefix(x, "/") {
				t.Errorf("%s: ExecStart=%s is not an absolute path", u.Name, x)
			}
		}
	}
	if _, ok := units["systemd-sysext.service"]; !ok {
		t.Error("systemd-sysext.service is not enabled: the sysext would never be merged")
	}
	// The app's image: every service requires the unit that imports it,
	// and that unit imports the file the config fetches.
	imp := units["berth-images.service"]
	if imp == nil || !strings.Contains(strings.Join(imp["Service.ExecStart"], " "), "/usr/bin/berth import /var/lib/berth-images/busybox.tar busybox") {
		t.Errorf("berth-images.service does not import the app's image: %v", imp)
	}
	if !files["/var/lib/berth-images/busybox.tar"] {
		t.Error("the image berth-images.service imports is not provisioned")
	}
	for _, s := range apps[0].Services {
		if s.Image != "busybox" {
			t.Errorf("service %s runs %q, not the imported busybox", s.Name, s.Image)
		}
		var req bool
		for _, d := range s.Systemd {
			req = req || d.Section == "Unit" && d.Key == "Requires" && strings.Contains(strings.Join(d.Values, " "), "berth-images.service")
		}
		if !req {
			t.Errorf("service %s does not require berth-images.service", s.Name)
		}
	}
	// berth runs from where the sysext puts it (packaging/install.golden).
	golden, err := os.ReadFile("../../packaging/install.golden")
	if err != nil || !strings.Contains(string(golden), "\n/usr/bin/berth\n") {
		t.Errorf("the sysext does not install /usr/bin/berth (packaging/install.golden): %v", err)
	}
}

// TestButane transpiles the config with the real butane, when it is
// installed (Debian 12 has no package; see README.md).
func TestButane(t *testing.T) {
	bin := os.Getenv("BUTANE")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("butane"); err != nil {
			t.Skip("butane is not installed (set BUTANE=/path/to/butane): only the YAML structure is checked (TestConfig)")
		}
	}
	out, err := exec.Command(bin, "--strict", "berth.bu").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("butane --strict berth.bu: %v: %s", err, stderr)
	}
	var ign struct {
		Ignition struct{ Version string }
		Storage  struct{ Files []struct{ Path string } }
		Systemd  struct{ Units []struct{ Name string } }
	}
	if err := json.Unmarshal(out, &ign); err != nil {
		t.Fatalf("butane's output is not JSON: %v", err)
	}
	if !strings.HasPrefix(ign.Ignition.Version, "3.") || len(ign.Storage.Files) != 3 || len(ign.Systemd.Units) != 3 {
		t.Errorf("Ignition config: version %q, %d files, %d units", ign.Ignition.Version, len(ign.Storage.Files), len(ign.Systemd.Units))
	}
}
