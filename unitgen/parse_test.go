package unitgen

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files: testdata/*.json and the \"# want:\" trailers of testdata/bad/*.toml")

// TestGolden parses each good app in testdata/*.toml as if it were
// /etc/berth/NAME.toml and compares the model, as JSON, with
// testdata/NAME.json.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.toml: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			app, err := Parse("/etc/berth/"+name+".toml", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(app, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".toml") + ".json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./unitgen -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("model differs from %s (go test ./unitgen -update rewrites it; review the diff):\n%s", golden, got)
			}
		})
	}
}

// wantRE matches the assertion lines at the end of a bad file.
var wantRE = regexp.MustCompile(`(?m)^# want: (.*)$`)

// TestBadFiles parses each testdata/bad/*.toml, passing its base name as
// the file, and compares the errors, one a line, with the file's trailing
// "# want: " lines (which come after everything else, so that rewriting
// them never moves the positions they assert).
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/bad/*.toml: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			app, err := Parse(filepath.Base(f), data)
			if err == nil {
				t.Fatalf("Parse succeeded, want errors; app: %+v", app)
			}
			if app != nil {
				t.Errorf("Parse returned an app with its errors")
			}
			got := err.Error()
			for i, e := range Errors(err) {
				if e.File != filepath.Base(f) || e.Msg == "" {
					t.Errorf("error %d has File %q, Msg %q", i, e.File, e.Msg)
				}
			}
			if n := len(Errors(err)); n != strings.Count(got, "\n")+1 {
				t.Errorf("Errors found %d *Error values in %d lines", n, strings.Count(got, "\n")+1)
			}
			body := data
			if m := wantRE.FindIndex(data); m != nil {
				body = data[:m[0]]
			}
			if *update {
				var b bytes.Buffer
				b.Write(bytes.TrimRight(body, "\n"))
				b.WriteString("\n\n")
				for _, line := range strings.Split(got, "\n") {
					b.WriteString("# want: " + line + "\n")
				}
				if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			var want []string
			for _, m := range wantRE.FindAllSubmatch(data, -1) {
				want = append(want, string(m[1]))
			}
			if len(want) == 0 {
				t.Fatalf("%s has no \"# want:\" lines; got:\n%s", f, got)
			}
			if got != strings.Join(want, "\n") {
				t.Errorf("errors differ\n got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

// TestParseCases covers what fixture files cannot show well: syntax
// errors, app names from file names, and the shape of the model.
func TestParseCases(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            string // the error text; "" means success
		check           func(t *testing.T, a *App)
	}{
		{
			name: "syntax error has the parser's position",
			file: "/etc/berth/x.toml",
			src:  "[service.web]\nimage = \"busybox\nmemory = \"64m\"\n",
			want: `/etc/berth/x.toml:2:17: TOML syntax: strings cannot contain newlines`,
		},
		{
			name: "duplicate key is a syntax error",
			file: "x.toml",
			src:  "[service.web]\nimage = \"a\"\nimage = \"b\"\n",
			want: `x.toml:3:13: TOML syntax: Key 'service.web.image' has already been defined.`,
		},
		{
			name: "an empty service table is no services",
			file: "e.toml",
			src:  "service = {}\n",
			want: `e.toml: the app has no services; hint: add a [service.NAME] table with an image`,
		},
		{
			name: "app name from the file name",
			file: "/etc/berth/shop.toml",
			src:  "[service.web]\nimage = \"busybox\"\n",
			check: func(t *testing.T, a *App) {
				if a.Name != "shop" || a.File != "/etc/berth/shop.toml" {
					t.Errorf("Name %q File %q", a.Name, a.File)
				}
			},
		},
		{
			name: "invalid app name from the file name",
			file: "/etc/berth/my shop.toml",
			src:  "[service.web]\nimage = \"busybox\"\n",
			want: `/etc/berth/my shop.toml: invalid app name "my shop": only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed (from the file name); hint: rename the file or set name = "..." at the top level`,
		},
		{
			name: "name overrides an invalid file name",
			file: "/etc/berth/my shop.toml",
			src:  "name = \"shop\"\n[service.web]\nimage = \"busybox\"\n",
			check: func(t *testing.T, a *App) {
				if a.Name != "shop" {
					t.Errorf("Name %q", a.Name)
				}
			},
		},
		{
			name: "defaults",
			file: "d.toml",
			src:  "[service.web]\nimage = \"busybox\"\nhealthcheck = { cmd = \"true\" }\n",
			check: func(t *testing.T, a *App) {
				s := a.Service("web")
				if s.Replicas != 1 || s.Restart.Name != RestartNo || s.StopTimeout != DefaultStopTimeout {
					t.Errorf("defaults: %+v", s)
				}
				h := s.Healthcheck
				if h.Interval != DefaultHealthInterval || h.Timeout != DefaultHealthTimeout || h.Retries != DefaultHealthRetries || h.StartPeriod != 0 {
					t.Errorf("healthcheck defaults: %+v", h)
				}
				if strings.Join(h.Test, "|") != "CMD-SHELL|true" {
					t.Errorf("Test %q", h.Test)
				}
				if s.Command != nil || s.Entrypoint != nil || s.Networks != nil {
					t.Errorf("unset command, entrypoint or networks are not nil: %+v", s)
				}
				if strings.Join(a.Install.WantedBy, ",") != "multi-user.target" {
					t.Errorf("WantedBy %q", a.Install.WantedBy)
				}
			},
		},
		{
			name: "empty command and entrypoint are empty, not nil",
			file: "e.toml",
			src:  "[service.web]\nimage = \"busybox\"\ncommand = []\nentrypoint = \"\"\nnetworks = []\n",
			check: func(t *testing.T, a *App) {
				s := a.Service("web")
				if s.Command == nil || len(s.Command) != 0 || s.Entrypoint == nil || len(s.Entrypoint) != 0 {
					t.Errorf("Command %#v Entrypoint %#v", s.Command, s.Entrypoint)
				}
			},
		},
		{
			name: "relative paths resolve against the file's directory",
			file: "/srv/apps/a.toml",
			src:  "[service.web]\nbuild = \"../src\"\nenv_file = \"web.env\"\nvolumes = [\"./html:/www\", \"/abs/../x:/x\"]\n",
			check: func(t *testing.T, a *App) {
				s := a.Service("web")
				if s.Build.Context != "/srv/src" || s.EnvFiles[0] != "/srv/apps/web.env" || s.Mounts[0].Source != "/srv/apps/html" || s.Mounts[1].Source != "/x" {
					t.Errorf("paths: %+v %+v %+v", s.Build, s.EnvFiles, s.Mounts)
				}
			},
		},
		{
			name: "errors inside multi-line inline tables (TOML 1.1) and after multi-line strings",
			file: "m.toml",
			src: "[service.web]\nimage = \"\"\"\nbusybox\"\"\"\nlabels = {\n  a = \"1\",\n  b = 2,\n}\n" +
				"environment = { 'x y' = \"1\", \"q\\\"k\" = 3 }\n",
			want: "m.toml:6:7: labels.b must be a string; hint: quote it: b = \"2\"\n" +
				"m.toml:8:39: environment.\"q\\\"k\" must be a string; hint: quote it: \"q\\\"k\" = \"3\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.file, []byte(tt.src))
			if tt.want != "" {
				if err == nil {
					t.Fatalf("no error, want %s", tt.want)
				}
				if err.Error() != tt.want {
					t.Fatalf("error\n got: %s\nwant: %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, a)
		})
	}
}

// TestDocsExamples parses every ```toml block of docs/services.md, so the
// documentation cannot drift from the parser.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/services.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) == 0 {
		t.Fatal("docs/services.md has no ```toml block")
	}
	for i, b := range blocks {
		if _, err := Parse("/etc/berth/shop.toml", b[1]); err != nil {
			t.Errorf("docs/services.md, toml block %d:\n%v", i+1, err)
		}
	}
}

// TestDocsErrors checks that the bad file in docs/services.md ("```toml
// bad") gives exactly the errors shown after it ("```text").
func TestDocsErrors(t *testing.T) {
	doc, err := os.ReadFile("../docs/services.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```toml bad\n(.*?)```\\s*\n.*?```text\n(.*?)\n```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/services.md has no ```toml bad block followed by a ```text block")
	}
	_, err = Parse("/etc/berth/shop.toml", m[1])
	if err == nil || err.Error() != string(m[2]) {
		t.Errorf("docs/services.md shows:\n%s\nParse gives:\n%v", m[2], err)
	}
}

// TestFullUsesEveryKey makes sure testdata/full.toml, whose golden model
// documents the format, sets every key the format has.
func TestFullUsesEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	lists := [][]string{topKeys, serviceKeys, buildKeys, serviceNetKeys, dependsOnKeys, healthcheckKeys, networkKeys, volumeKeys, installKeys, systemdSections, volumeOptionKeys}
	for _, keys := range lists {
		for _, k := range keys {
			re := regexp.MustCompile(`(?m)(^|[\s{.,\[])` + regexp.QuoteMeta(k) + `(\s*=|\]|\.)`)
			if !re.Match(data) {
				t.Errorf("testdata/full.toml does not use the key %q", k)
			}
		}
	}
}

// FuzzParse checks that Parse never panics, and that it returns either an
// app or errors that are all *Error with a message.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.toml")
	bad, _ := filepath.Glob("testdata/bad/*.toml")
	for _, file := range append(files, bad...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		app, err := Parse("/etc/berth/fuzz.toml", data)
		if (app == nil) == (err == nil) {
			t.Fatalf("app %v, err %v", app, err)
		}
		if err == nil {
			return
		}
		errs := Errors(err)
		if len(errs) == 0 {
			t.Fatalf("no *Error in %v", err)
		}
		for _, e := range errs {
			if e.Msg == "" || e.Line < 0 || e.Column < 0 {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}
