package machine

import (
	"strings"
	"testing"
)

func TestRenderUnitFile(t *testing.T) {
	rec := unitRecord(RunOptions{Memory: 64 << 20, CPUs: 0.5, PidsLimit: 30, Restart: RestartPolicy{Name: RestartOnFailure, MaximumRetryCount: 2}})
	text, err := RenderUnitFile(UnitProperties(rec, testExe, testStateRoot), []string{"multi-user.target"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\n[Unit]\nDescription=berth container web (busybox:latest)\n",
		"StartLimitBurst=3\n",
		"StartLimitIntervalSec=infinity\n",
		"\n[Service]\nType=notify\nNotifyAccess=all\n",
		"ExecStart=/usr/bin/berth \"--root\" \"/var/lib/berth\" \"__init\" \"" + testID + "\"\n",
		"ExecStopPost=/usr/bin/berth \"--root\" \"/var/lib/berth\" \"__cleanup\" \"" + testID + "\"\n",
		"Slice=machine.slice\n", "Delegate=yes\n", "KillMode=mixed\n", "KillSignal=15\n",
		"TimeoutStopSec=10000000us\n", "SyslogLevel=notice\n",
		"LogExtraFields=\"CONTAINER_ID=" + testID[:12] + "\" \"CONTAINER_ID_FULL=" + testID + "\" \"CONTAINER_NAME=web\"",
		"LogRateLimitIntervalSec=0us\n",
		"MemoryMax=67108864\n", "CPUQuota=50%\n", "TasksMax=30\n",
		"Restart=on-failure\n", "RestartSec=100000us\n",
		"RestartForceExitStatus=SIGHUP SIGINT SIGPIPE SIGTERM\n",
		"\n[Install]\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("unit file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ExecStop=") {
		t.Errorf("a 10 s stop timeout is systemd's own, but the unit has an ExecStop:\n%s", text)
	}
	if strings.Index(text, "[Unit]") > strings.Index(text, "[Service]") || strings.Index(text, "[Service]") > strings.Index(text, "[Install]") {
		t.Errorf("sections out of order:\n%s", text)
	}
}

// TestRenderUnitFileEscaping: '%' is doubled everywhere (specifiers),
// command words and list entries are quoted with C escapes, and what
// cannot be one line is refused.
func TestRenderUnitFileEscaping(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prop    Property
		want    string
		wantErr bool
	}{
		{"percent in a description", Property{"Description", `100% "real" \o/`}, `Description=100%% "real" \o/`, false},
		{"newline in a description", Property{"Description", "two\nlines"}, "", true},
		{"trailing backslash", Property{"Description", `ends in \`}, "", true},
		{"command words", Property{"ExecStart", ExecCommand{Path: "/bin/echo", Argv: []string{"/bin/echo", `a "b"`, `c\d`, "e\nf", "50%", "$$HOME", "tab\there"}}},
			`ExecStart=/bin/echo "a \"b\"" "c\\d" "e\nf" "50%%" "$$HOME" "tab\there"`, false},
		{"ignore failure", Property{"ExecStopPost", ExecCommand{Path: "/bin/true", Argv: []string{"/bin/true"}, IgnoreFailure: true}}, `ExecStopPost=-/bin/true`, false},
		{"argv[0] other than the path", Property{"ExecStart", ExecCommand{Path: "/bin/true", Argv: []string{"true"}}}, "", true},
		{"fields with spaces and quotes", Property{"LogExtraFields", [][]byte{[]byte(`A=x y`), []byte(`B="q"`), []byte("C=100%")}},
			`LogExtraFields="A=x y" "B=\"q\"" "C=100%%"`, false},
		{"control character", Property{"LogExtraFields", [][]byte{[]byte("A=\x01")}}, `LogExtraFields="A=\x01"`, false},
		{"unknown property", Property{"Bogus", "x"}, "", true},
		{"wrong type", Property{"MemoryMax", "64M"}, "", true},
	} {
		text, err := RenderUnitFile([]Property{tc.prop}, nil)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: rendered %q, want an error", tc.name, text)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !strings.Contains(text, "\n"+tc.want+"\n") {
			t.Errorf("%s: got\n%s\nwant the line %s", tc.name, text, tc.want)
		}
	}
}

func TestUnitFileRawAndLists(t *testing.T) {
	text, err := UnitFile{
		Props: []Property{{"SourcePath", "/etc/berth/a.toml"}, {"Requires", []string{"a-db.service", "a-x.service"}},
			{"ExecStartPre", ExecCommand{Path: "/usr/bin/berth", Argv: []string{"/usr/bin/berth", "__prepare", "/etc/berth/a b.toml", "web"}}}},
		WantedBy: []string{"multi-user.target"},
		Raw:      map[string][]string{"Unit": {"Documentation=https://example.com/%n"}, "Install": {"Alias=web.service"}},
	}.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[Unit]\nSourcePath=/etc/berth/a.toml\nRequires=a-db.service a-x.service\nDocumentation=https://example.com/%n\n",
		`ExecStartPre=/usr/bin/berth "__prepare" "/etc/berth/a b.toml" "web"`,
		"[Install]\nWantedBy=multi-user.target\nAlias=web.service\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("unit file lacks %q:\n%s", want, text)
		}
	}
	if _, err := (UnitFile{Raw: map[string][]string{"Unit": {"A=1\nB=2"}}}).Render(); err == nil {
		t.Error("a raw line with a newline was written")
	}
	if _, err := (UnitFile{Props: []Property{{"Requires", []string{"a b.service"}}}}).Render(); err == nil {
		t.Error("a unit name with a space was written")
	}
}
