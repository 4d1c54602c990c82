package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/journal"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "10m", want: now.Add(-10 * time.Minute)},
		{in: "1h30m", want: now.Add(-90 * time.Minute)},
		{in: "2.5s", want: now.Add(-2500 * time.Millisecond)},
		{in: "0s", want: now},
		{in: "1700000000", want: time.Unix(1700000000, 0)},
		{in: "1700000000.5", want: time.Unix(1700000000, 500000000)},
		{in: "1700000000.25", want: time.Unix(1700000000, 250000000)},
		{in: "2024-05-01T10:20:30Z", want: time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC)},
		{in: "2024-05-01T10:20:30.5+02:00", want: time.Date(2024, 5, 1, 8, 20, 30, 500000000, time.UTC)},
		{in: "2024-05-01T10:20:30", want: time.Date(2024, 5, 1, 10, 20, 30, 0, time.Local)},
		{in: "2024-05-01", want: time.Date(2024, 5, 1, 0, 0, 0, 0, time.Local)},
		{in: "garbage", err: true},
		{in: "", err: true},
		{in: "10x", err: true},
		{in: "2024-13-01", err: true},
		{in: "2024-05-01 10:20:30", err: true},
		{in: "yesterday", err: true},
	} {
		got, err := parseSince(tc.in, now)
		switch {
		case tc.err && err == nil:
			t.Errorf("parseSince(%q) = %v, want an error", tc.in, got)
		case tc.err && !strings.Contains(err.Error(), "invalid --since"):
			t.Errorf("parseSince(%q): %v, want it to say invalid --since", tc.in, err)
		case !tc.err && err != nil:
			t.Errorf("parseSince(%q): %v", tc.in, err)
		case !tc.err && !got.Equal(tc.want):
			t.Errorf("parseSince(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestParseSinceZero: Docker reads --since 0 as the Unix epoch (all
// logs), not as a duration of nothing (its GetTimestamp skips the
// duration parse for "0").
func TestParseSinceZero(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	got, err := parseSince("0", now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Equal(now) {
		t.Error(`cmd/berth/containers.go parseSince: "0" parses as the duration 0, so ` +
			"`berth logs --since 0` shows nothing from now on; Docker treats it as the Unix time 0 (all logs)")
	}
	if !got.Equal(time.Unix(0, 0)) {
		t.Errorf(`parseSince("0") = %v, want the Unix epoch`, got)
	}
}

func TestWriteEntry(t *testing.T) {
	entry := func(prio int, msg string, fields ...string) journal.Entry {
		e := journal.Entry{Priority: prio, Fields: map[string]string{}}
		if msg != "\x00nil" {
			e.Message = []byte(msg)
		}
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			e.Fields[k] = v
		}
		return e
	}
	for _, tc := range []struct {
		name           string
		e              journal.Entry
		stdout, stderr string
	}{
		{"info is stdout", entry(6, "hello"), "hello\n", ""},
		{"err is stderr", entry(3, "oops"), "", "oops\n"},
		{"notice is berth's own", entry(5, "container started"), "", ""},
		{"warning is not the container's", entry(4, "x"), "", ""},
		{"debug is not the container's", entry(7, "x"), "", ""},
		{"no priority", entry(-1, "x"), "", ""},
		{"last line without newline", entry(6, "prompt> ", "_LINE_BREAK=eof"), "prompt> ", ""},
		{"stderr without newline", entry(3, "partial", "_LINE_BREAK=eof"), "", "partial"},
		{"empty line", entry(6, ""), "\n", ""},
		{"no MESSAGE", entry(6, "\x00nil"), "\n", ""},
		{"bytes as they are", entry(6, "a\tb\x00c\xff%s\\n"), "a\tb\x00c\xff%s\\n\n", ""},
		{"other fields do not matter", entry(6, "x", "MESSAGE=y", "_LINE_BREAK="), "x\n", ""},
	} {
		var out, errb bytes.Buffer
		writeEntry(tc.e, &out, &errb)
		if out.String() != tc.stdout || errb.String() != tc.stderr {
			t.Errorf("%s: stdout %q stderr %q, want %q %q", tc.name, out.String(), errb.String(), tc.stdout, tc.stderr)
		}
	}
}

// TestWriteEntryLineMax: journald splits a line longer than LineMax=
// (48K by default) and marks the pieces _LINE_BREAK=line-max; the
// container wrote no newline there, so none may be added.
func TestWriteEntryLineMax(t *testing.T) {
	var out, errb bytes.Buffer
	writeEntry(journal.Entry{Priority: 6, Message: []byte("{\"a\":"), Fields: map[string]string{"_LINE_BREAK": "line-max"}}, &out, &errb)
	if out.String() == "{\"a\":\n" {
		t.Error("cmd/berth/run.go writeEntry adds a newline after every entry but _LINE_BREAK=eof; " +
			"a line journald split at LineMax (_LINE_BREAK=line-max) comes out as several lines")
	}
	if out.String() != "{\"a\":" {
		t.Errorf("stdout %q, want the piece without a newline", out.String())
	}
}

// TestRunFlagErrors checks that bad run and create flags fail with exit
// 125 and Docker's message before berth touches its state or systemd.
func TestRunFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad --memory", []string{"run", "--memory", "1x", "busybox"}, []string{"invalid suffix: 'x'"}},
		{"-m below the minimum", []string{"run", "-m", "1k", "busybox"}, []string{"Minimum memory limit allowed is 6MB"}},
		{"bad --cpus", []string{"run", "--cpus", "abc", "busybox"}, []string{"failed to parse abc as a rational number"}},
		{"--cpus too small", []string{"run", "--cpus", "0.001", "busybox"}, []string{"range of CPUs is from 0.01"}},
		{"--cpus too precise", []string{"run", "--cpus", "0.0000000001", "busybox"}, []string{"value is too precise"}},
		{"bad --restart", []string{"run", "--restart", "sometimes", "busybox"},
			[]string{"invalid restart policy: unknown policy 'sometimes'"}},
		{"bad retry count", []string{"run", "--restart", "on-failure:x", "busybox"},
			[]string{"maximum retry count must be an integer"}},
		{"retry count without on-failure", []string{"run", "--restart", "always:3", "busybox"},
			[]string{"maximum retry count can only be used with 'on-failure'"}},
		{"--rm with --restart always", []string{"run", "--rm", "--restart", "always", "busybox"},
			[]string{"conflicting options: cannot specify both --restart and --rm"}},
		{"--rm with --restart on-failure", []string{"run", "--restart", "on-failure:2", "--rm", "busybox"},
			[]string{"conflicting options"}},
		{"bad --name", []string{"run", "--name", "bad name", "busybox"},
			[]string{"Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"}},
		{"one-letter --name", []string{"run", "--name", "a", "busybox"}, []string{"Invalid container name (a)"}},
		{"--name with a path", []string{"run", "--name", "../etc", "busybox"}, []string{"Invalid container name (../etc)"}},
		{"relative -w", []string{"run", "-w", "rel/dir", "busybox"},
			[]string{"the working directory 'rel/dir' is invalid, it needs to be an absolute path"}},
		{"bad --stop-signal", []string{"run", "--stop-signal", "NOPE", "busybox"}, []string{"invalid signal: NOPE"}},
		{"reserved label", []string{"run", "-l", "berth.name=x", "busybox"}, []string{"is reserved for berth"}},
		{"bad -e", []string{"run", "-e", "=x", "busybox"}, []string{"invalid environment variable: =x"}},
		{"bad --hostname", []string{"run", "-h", "a b", "busybox"}, []string{"invalid hostname"}},
		{"missing --env-file", []string{"run", "--env-file", "/nonexistent/env", "busybox"}, []string{"open env file", "no such file"}},
		{"several problems at once", []string{"run", "--name", "x y", "-w", "rel", "busybox"},
			[]string{"Invalid container name (x y)", "the working directory 'rel' is invalid"}},
		{"no image", []string{"run"}, []string{`"berth run" requires at least 1 argument(s), got 0`}},
		{"no image after flags", []string{"run", "-d", "--rm"}, []string{"requires at least 1 argument"}},
		{"unknown flag", []string{"run", "--bogus", "busybox"}, []string{"unknown flag: --bogus", "See 'berth run --help'."}},
		{"create shares the checks", []string{"create", "--memory", "1x", "busybox"}, []string{"invalid suffix: 'x'"}},
		{"create --rm --restart", []string{"create", "--rm", "--restart", "unless-stopped", "busybox"}, []string{"conflicting options"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			code, stdout, stderr := run(t, root, tc.args...)
			if code != exitEngine {
				t.Errorf("berth %q: exit %d, want %d\nstderr: %s", tc.args, code, exitEngine, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("berth %q: stderr %q, want %q", tc.args, stderr, w)
				}
			}
			if !strings.HasPrefix(stderr, "berth: ") {
				t.Errorf("berth %q: stderr %q, want it to start with \"berth: \"", tc.args, stderr)
			}
			if strings.Contains(strings.ToLower(stderr), "systemd") || strings.Contains(stderr, "D-Bus") {
				t.Errorf("berth %q: reached systemd before checking its flags: %s", tc.args, stderr)
			}
			if stdout != "" {
				t.Errorf("berth %q: stdout %q", tc.args, stdout)
			}
			// Nothing was created.
			cs, err := machine.OpenContainers(root)
			if err != nil {
				t.Fatal(err)
			}
			if ids, _ := cs.IDs(); len(ids) != 0 {
				t.Errorf("berth %q left containers %q", tc.args, ids)
			}
		})
	}
}

// TestRunFlagsAfterImage checks that flags after IMAGE belong to the
// container's command, as in Docker: `create IMAGE --memory 1x` is an
// image lookup, not a flag error. (create, because run reaches systemd
// before it looks for the image.)
func TestRunFlagsAfterImage(t *testing.T) {
	code, _, stderr := run(t, t.TempDir(), "create", "busybox", "--memory", "1x", "--name", "bad name")
	if code != exitEngine || !strings.Contains(stderr, "Unable to find image 'busybox' locally") {
		t.Errorf("exit %d, stderr %q; want 125 and the image lookup's error", code, stderr)
	}
	if strings.Contains(stderr, "invalid size") || strings.Contains(stderr, "Invalid container name") {
		t.Errorf("flags after IMAGE were parsed as berth's: %s", stderr)
	}
}

func TestContainerVerbsEmptyRoot(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string
		inStderr []string
	}{
		{"ps -a --format json", []string{"ps", "-a", "--format", "json"}, 0, "", nil},
		{"ps --format json", []string{"ps", "--format", "json"}, 0, "", nil},
		{"ps -a -q", []string{"ps", "-a", "-q"}, 0, "", nil},
		{"ps -a --format template", []string{"ps", "-a", "--format", "{{.Names}}"}, 0, "", nil},
		{"rm nosuch", []string{"rm", "nosuch"}, exitError, "", []string{"No such container: nosuch", "hint: `berth ps -a` lists the containers"}},
		{"rm -f nosuch", []string{"rm", "-f", "nosuch"}, exitError, "", []string{"No such container: nosuch"}},
		{"rm two", []string{"rm", "nosuch", "other"}, exitError, "", []string{"No such container: nosuch", "No such container: other"}},
		{"stop nosuch", []string{"stop", "nosuch"}, exitError, "", []string{"No such container: nosuch"}},
		{"restart nosuch", []string{"restart", "nosuch"}, exitError, "", []string{"No such container: nosuch"}},
		{"start nosuch", []string{"start", "nosuch"}, exitError, "", []string{"No such container: nosuch"}},
		{"kill nosuch", []string{"kill", "nosuch"}, exitError, "", []string{"No such container: nosuch"}},
		{"kill with a bad signal", []string{"kill", "-s", "NOPE", "nosuch"}, exitEngine, "", []string{"invalid signal: NOPE"}},
		{"wait nosuch", []string{"wait", "nosuch"}, exitError, "", []string{"No such container: nosuch"}},
		{"logs nosuch", []string{"logs", "nosuch"}, exitError, "", []string{"No such container: nosuch"}},
		{"rm without arguments", []string{"rm"}, exitEngine, "", []string{"requires at least 1 argument"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, t.TempDir(), tc.args...)
			if code != tc.code || stdout != tc.stdout {
				t.Errorf("berth %q: exit %d, stdout %q; want %d, %q\nstderr: %s", tc.args, code, stdout, tc.code, tc.stdout, stderr)
			}
			if tc.inStderr == nil && stderr != "" {
				t.Errorf("berth %q: stderr %q", tc.args, stderr)
			}
			for _, w := range tc.inStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("berth %q: stderr %q, want %q", tc.args, stderr, w)
				}
			}
			if strings.Contains(strings.ToLower(stderr), "systemd") {
				t.Errorf("berth %q: reached systemd: %s", tc.args, stderr)
			}
		})
	}

	// The table has a header even with nothing to show.
	code, stdout, _ := run(t, t.TempDir(), "ps", "-a")
	if code != 0 || !strings.HasPrefix(stdout, "CONTAINER ID") || !strings.Contains(stdout, "NAMES") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("ps -a on an empty root: exit %d, %q", code, stdout)
	}
}

// TestContainerVerbsCreated lists and removes a container that was
// created and never started: neither needs systemd.
func TestContainerVerbsCreated(t *testing.T) {
	root := t.TempDir()
	cs, err := machine.OpenContainers(root)
	if err != nil {
		t.Fatal(err)
	}
	id := machine.NewID()
	rec := &machine.Container{
		ID: id, Name: "web", Created: time.Now().UTC().Add(-time.Minute), Image: "busybox:latest",
		Unit: machine.UnitName("web"), Machine: "web", StopSignal: "SIGTERM", StopTimeout: machine.DefaultStopTimeout,
		State: machine.State{Status: machine.StatusCreated},
	}
	spec := &specs.Spec{Version: specs.Version, Process: &specs.Process{Args: []string{"sh", "-c", "echo hello from a long command"}}}
	if err := cs.Create(rec, spec); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := run(t, root, "ps", "-a", "--format", "json")
	var row map[string]string
	if code != 0 || json.Unmarshal([]byte(stdout), &row) != nil {
		t.Fatalf("ps -a --format json: exit %d, %q, %s", code, stdout, stderr)
	}
	for k, want := range map[string]string{
		"ID": id[:12], "Names": "web", "Image": "busybox:latest", "State": "created", "Status": "Created",
		"Command": `"sh -c echo hello fr…"`, "RunningFor": "About a minute ago",
	} {
		if row[k] != want {
			t.Errorf("ps row %s = %q, want %q", k, row[k], want)
		}
	}
	// Not running: only -a shows it.
	if code, stdout, _ := run(t, root, "ps", "-q"); code != 0 || stdout != "" {
		t.Errorf("ps -q: exit %d, %q; want nothing", code, stdout)
	}
	if code, stdout, _ := run(t, root, "ps", "-a", "-q", "--no-trunc"); code != 0 || stdout != id+"\n" {
		t.Errorf("ps -a -q --no-trunc: exit %d, %q", code, stdout)
	}

	code, stdout, stderr = run(t, root, "rm", "web")
	if code != 0 || stdout != "web\n" {
		t.Errorf("rm web: exit %d, %q, %s", code, stdout, stderr)
	}
	if code, _, stderr := run(t, root, "rm", "web"); code != exitError || !strings.Contains(stderr, "No such container: web") {
		t.Errorf("second rm web: exit %d, %s", code, stderr)
	}
	if code, stdout, _ := run(t, root, "ps", "-a", "--format", "json"); code != 0 || stdout != "" {
		t.Errorf("ps -a after rm: exit %d, %q", code, stdout)
	}
}

// TestRunWithoutSystemd: on a machine whose PID 1 is not systemd (this
// one, outside the testbed), run says so in one sentence and exits 125,
// having created nothing.
func TestRunWithoutSystemd(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd is PID 1 here; the case needs a machine without it (the host of the testbed)")
	}
	root := t.TempDir()
	var out, errb bytes.Buffer
	code := execute([]string{"--root", root, "run", "--rm", "busybox", "true"}, &out, &errb)
	if code != 125 {
		t.Fatalf("exit %d, want 125; stderr %q", code, errb.String())
	}
	msg := errb.String()
	if !strings.Contains(msg, "cannot reach systemd") || !strings.Contains(msg, "testbed") {
		t.Errorf("stderr %q does not say that systemd is missing and how to get one", msg)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "containers")); len(ents) > 1 {
		t.Errorf("containers left: %v", ents)
	}
}

// TestRunBadDetachKeys: bad detach keys are a usage error (125) before
// anything is made.
func TestRunBadDetachKeys(t *testing.T) {
	for _, flag := range []string{"--detach-keys=ctrl-1", "--detach-keys=ab"} {
		var out, errb bytes.Buffer
		code := execute([]string{"--root", t.TempDir(), "run", "-it", flag, "busybox", "sh"}, &out, &errb)
		if code != 125 || !strings.Contains(errb.String(), "invalid detach keys") {
			t.Errorf("run %s: exit %d, stderr %q", flag, code, errb.String())
		}
	}
}

func TestPsFilter(t *testing.T) {
	rec := &machine.Container{ID: strings.Repeat("ab", 32), Name: "shop-web", Image: "busybox", ImageID: "sha256:" + strings.Repeat("cd", 32),
		Options: machine.RunOptions{Labels: map[string]string{"tier": "web", "io.berth.app": "shop"}},
		State:   machine.State{Status: machine.StatusExited}}
	for _, tc := range []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"status=exited"}, true},
		{[]string{"status=running"}, false},
		{[]string{"status=running", "status=exited"}, true}, // same key: either
		{[]string{"name=web"}, true},
		{[]string{"name=/shop-web"}, true},
		{[]string{"name=db"}, false},
		{[]string{"id=abab"}, true},
		{[]string{"label=tier"}, true},
		{[]string{"label=tier=web"}, true},
		{[]string{"label=tier=db"}, false},
		{[]string{"label=tier=web", "name=db"}, false}, // different keys: all
		{[]string{"ancestor=busybox"}, true},
		{[]string{"ancestor=cdcd"}, true},
		{[]string{"ancestor=nginx"}, false},
	} {
		match, err := psFilter(tc.filters)
		if err != nil {
			t.Fatalf("%v: %v", tc.filters, err)
		}
		if got := match(rec); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.filters, got, tc.want)
		}
	}
	for _, bad := range []string{"status", "status=sleeping", "color=red"} {
		if _, err := psFilter([]string{bad}); err == nil {
			t.Errorf("filter %q accepted", bad)
		}
	}
}
