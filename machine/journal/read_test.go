package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// Lines as journalctl 252 prints them with --output=json --all (trimmed
// of fields the cases do not need).
const (
	lineStream = `{"_TRANSPORT":"stdout","SYSLOG_IDENTIFIER":"probe","PRIORITY":"3","_LINE_BREAK":"eof","MESSAGE":"last","__REALTIME_TIMESTAMP":"1795608545104217","__CURSOR":"s=4d9e;i=2e;b=6389;m=ce1462bc;t=66118b17c9159;x=5e59","_PID":"94"}`
	lineNative = `{"MESSAGE":[120,10,121,1],"NL":"a\nb","FOO":["1","2"],"BAR":[[0,1],[2]],"EMPTY":"","TAB":"a\tb","__REALTIME_TIMESTAMP":"1795608548571367","__CURSOR":"s=4d9e;i=2f"}`
)

func TestParseEntry(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    Entry
		wantErr string
	}{
		{
			name: "stream entry",
			line: lineStream,
			want: Entry{
				Message: []byte("last"), Priority: 3,
				Time:   time.UnixMicro(1795608545104217),
				Cursor: "s=4d9e;i=2e;b=6389;m=ce1462bc;t=66118b17c9159;x=5e59",
				Fields: map[string]string{
					"_TRANSPORT": "stdout", "SYSLOG_IDENTIFIER": "probe", "PRIORITY": "3", "_LINE_BREAK": "eof",
					"MESSAGE": "last", "__REALTIME_TIMESTAMP": "1795608545104217",
					"__CURSOR": "s=4d9e;i=2e;b=6389;m=ce1462bc;t=66118b17c9159;x=5e59", "_PID": "94",
				},
			},
		},
		{
			name: "binary MESSAGE, fields given twice, no PRIORITY",
			line: lineNative,
			want: Entry{
				Message: []byte("x\ny\x01"), Priority: -1,
				Time: time.UnixMicro(1795608548571367), Cursor: "s=4d9e;i=2f",
				Fields: map[string]string{
					"MESSAGE": "x\ny\x01", "NL": "a\nb", "FOO": "2", "BAR": "\x02", "EMPTY": "", "TAB": "a\tb",
					"__REALTIME_TIMESTAMP": "1795608548571367", "__CURSOR": "s=4d9e;i=2f",
				},
			},
		},
		{
			name: "null values are left out",
			line: `{"MESSAGE":null,"BIG":null,"A":["x",null],"B":[null,[104,105]],"C":[null,null],"PRIORITY":"4"}`,
			want: Entry{Priority: 4, Fields: map[string]string{"A": "x", "B": "hi", "PRIORITY": "4"}},
		},
		{
			name: "empty binary value, non-numeric PRIORITY",
			line: `{"MESSAGE":[],"PRIORITY":"warning"}`,
			want: Entry{Message: []byte{}, Priority: -1, Fields: map[string]string{"MESSAGE": "", "PRIORITY": "warning"}},
		},
		{
			name: "unicode string",
			line: `{"MESSAGE":"h\u00e9llo \u2603"}`,
			want: Entry{Message: []byte("héllo ☃"), Priority: -1, Fields: map[string]string{"MESSAGE": "héllo ☃"}},
		},
		{name: "not JSON", line: `MESSAGE=x`, wantErr: "invalid character"},
		{name: "not an object", line: `["MESSAGE"]`, wantErr: "cannot unmarshal"},
		{name: "number value", line: `{"MESSAGE":5}`, wantErr: "field MESSAGE: unexpected value"},
		{name: "byte out of range", line: `{"MESSAGE":[1,256]}`, wantErr: "256 is not a byte"},
		{name: "nested too deep", line: `{"MESSAGE":[["a"]]}`, wantErr: "unexpected nested array"},
		{name: "bad timestamp", line: `{"__REALTIME_TIMESTAMP":"soon"}`, wantErr: "field __REALTIME_TIMESTAMP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEntry([]byte(tt.line))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseEntry: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseEntry: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseEntry:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestQueryArgs(t *testing.T) {
	base := "--output=json --all --no-pager --quiet"
	since := time.Date(2026, 1, 2, 3, 4, 5, 6007000, time.UTC)
	tests := []struct {
		name    string
		q       Query
		want    string
		wantErr bool
	}{
		{"all", Query{}, base, false},
		{"matches", Query{Matches: []string{"A=1", "+", "B=2"}}, base + " -- A=1 + B=2", false},
		{"since", Query{Since: since}, base + fmt.Sprintf(" --since=@%d.006007", since.Unix()), false},
		{"since, whole second", Query{Since: time.Unix(1700000000, 0)}, base + " --since=@1700000000.000000", false},
		{"until", Query{Until: time.Unix(1700000000, 5000)}, base + " --until=@1700000000.000005", false},
		{"after cursor", Query{AfterCursor: "s=1;i=2", Since: time.Unix(1700000000, 0)}, base + " --after-cursor=s=1;i=2", false},
		{"tail", Query{Tail: 5}, base + " --lines=5", false},
		{"follow from the start", Query{Follow: true}, base + " --no-tail --follow", false},
		{"follow the tail", Query{Follow: true, Tail: 3}, base + " --lines=3 --follow", false},
		{"unit and match", Query{Unit: "berth-x.service", Matches: []string{"PRIORITY=3"}}, base + " --unit=berth-x.service -- PRIORITY=3", false},
		{"negative tail", Query{Tail: -1}, "", true},
		{"since before 1970", Query{Since: time.Unix(-5, 0)}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.q.args()
			if tt.wantErr {
				if !errors.Is(err, errdefs.ErrInvalid) {
					t.Fatalf("args: %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a, " "); got != tt.want {
				t.Errorf("args %q\nwant %q", got, tt.want)
			}
		})
	}
}

// fakeJournalctl installs a shell script as journalctl that records its
// arguments, prints out and a line on stderr, then sleeps sleep seconds
// if sleep > 0 (standing for following), else prints after and exits
// with code.
func fakeJournalctl(t *testing.T, out string, code int, sleep int, after string) (argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	outFile := filepath.Join(dir, "out")
	if err := os.WriteFile(outFile, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" > %s\ncat %s\necho 'journalctl says no' >&2\n", argsFile, outFile)
	if sleep > 0 {
		// exec: no child of the shell keeps the pipes open once it is killed.
		script += fmt.Sprintf("exec sleep %d\n", sleep)
	}
	script += fmt.Sprintf("printf '%%s' '%s'\nexit %d\n", after, code)
	bin := filepath.Join(dir, "journalctl")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	old := journalctl
	journalctl = bin
	t.Cleanup(func() { journalctl = old })
	return argsFile
}

func TestRead(t *testing.T) {
	three := `{"MESSAGE":"one","PRIORITY":"6"}` + "\n\n" + `{"MESSAGE":"two"}` + "\n" + `{"MESSAGE":[116,104,114,101,101]}` + "\n"
	stop := errors.New("enough")
	tests := []struct {
		name    string
		out     string
		code    int
		sleep   int
		after   string
		q       Query
		timeout time.Duration
		stopAt  int   // fn returns stopErr at this entry (1-based); 0 never
		stopErr error // what fn returns
		want    []string
		wantErr string
		wantIs  error
	}{
		{name: "all, blank line skipped", out: three, want: []string{"one", "two", "three"}},
		{name: "last line without newline", out: three, after: `{"MESSAGE":"four"}`, want: []string{"one", "two", "three", "four"}},
		{name: "ErrStop", out: three, sleep: 30, stopAt: 2, stopErr: ErrStop, want: []string{"one", "two"}},
		{name: "fn's error", out: three, sleep: 30, stopAt: 1, stopErr: stop, want: []string{"one"}, wantIs: stop},
		{name: "parse error names the line", out: three + "garbage\n", sleep: 30, want: []string{"one", "two", "three"}, wantErr: "line 5"},
		{name: "exit status and stderr", out: three, code: 1, want: []string{"one", "two", "three"}, wantErr: "exit status 1: journalctl says no"},
		{name: "ctx ends while following", out: three, sleep: 30, q: Query{Follow: true}, timeout: 300 * time.Millisecond, want: []string{"one", "two", "three"}, wantIs: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argsFile := fakeJournalctl(t, tt.out, tt.code, tt.sleep, tt.after)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			var got []string
			start := time.Now()
			err := Read(ctx, tt.q, func(e Entry) error {
				got = append(got, string(e.Message))
				if len(got) == tt.stopAt {
					return tt.stopErr
				}
				return nil
			})
			if time.Since(start) > 5*time.Second {
				t.Errorf("Read took %v: journalctl was not killed", time.Since(start))
			}
			switch {
			case tt.wantErr == "" && tt.wantIs == nil && err != nil:
				t.Fatalf("Read: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Read: %v, want an error with %q", err, tt.wantErr)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Fatalf("Read: %v, want %v", err, tt.wantIs)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("entries %q, want %q", got, tt.want)
			}
			args, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tt.q.args()
			if strings.TrimSpace(string(args)) != strings.Join(want, " ") {
				t.Errorf("journalctl ran with %q, want %q", args, want)
			}
		})
	}
}

func TestReadWithoutJournalctl(t *testing.T) {
	old := journalctl
	journalctl = "journalctl-that-is-not-installed"
	defer func() { journalctl = old }()
	err := Read(context.Background(), Query{}, func(Entry) error { return nil })
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "journalctl is not installed") {
		t.Fatalf("Read: %v, want a clear error", err)
	}
}
