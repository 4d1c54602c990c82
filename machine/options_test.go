package machine

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// wantErr checks err against a wanted message fragment: "" means no
// error; otherwise err must contain it and be of class ErrInvalid.
func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected error: %v", what, err)
	case want != "" && err == nil:
		t.Errorf("%s: no error, want %q", what, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q, want it to contain %q", what, err, want)
	case want != "" && !errors.Is(err, errdefs.ErrInvalid):
		t.Errorf("%s: error %q is not ErrInvalid", what, err)
	}
}

func TestParseRestartPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RestartPolicy
		err  string
	}{
		{"", RestartPolicy{Name: "no"}, ""},
		{"no", RestartPolicy{Name: "no"}, ""},
		{"always", RestartPolicy{Name: "always"}, ""},
		{"unless-stopped", RestartPolicy{Name: "unless-stopped"}, ""},
		{"on-failure", RestartPolicy{Name: "on-failure"}, ""},
		{"on-failure:3", RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}, ""},
		{"on-failure:-1", RestartPolicy{}, "maximum retry count cannot be negative"},
		{"on-failure:x", RestartPolicy{}, "invalid restart policy format: maximum retry count must be an integer"},
		{"always:3", RestartPolicy{}, "maximum retry count can only be used with 'on-failure'"},
		{"no:-1", RestartPolicy{}, "can only be used with 'on-failure' and cannot be negative"},
		{":3", RestartPolicy{}, "no policy provided before colon"},
		{"sometimes", RestartPolicy{}, "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"},
	} {
		got, err := ParseRestartPolicy(tc.in)
		wantErr(t, fmt.Sprintf("ParseRestartPolicy(%q)", tc.in), err, tc.err)
		if err == nil && got != tc.want {
			t.Errorf("ParseRestartPolicy(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"32m", 32 << 20, ""},
		{"32M", 32 << 20, ""},
		{"32mb", 32 << 20, ""},
		{"32MiB", 32 << 20, ""},
		{"1g", 1 << 30, ""},
		{"1.5g", 3 << 29, ""},
		{"6291456", 6 << 20, ""},
		{"8192k", 8 << 20, ""},
		{"1t", 1 << 40, ""},
		{"0", 0, ""},
		{"100", 0, "Minimum memory limit allowed is 6MB"},
		{"5m", 0, "Minimum memory limit allowed is 6MB"},
		{"abc", 0, "invalid size: 'abc'"},
		{"", 0, "invalid size"},
		{"10x", 0, "invalid suffix: 'x'"},
		{"-1g", 0, "invalid size"},
		{"1e30", 0, "invalid size"},
	} {
		got, err := ParseMemory(tc.in)
		wantErr(t, fmt.Sprintf("ParseMemory(%q)", tc.in), err, tc.err)
		if err == nil && got != tc.want {
			t.Errorf("ParseMemory(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	n := runtime.NumCPU()
	tests := []struct {
		in   string
		want float64
		err  string
	}{
		{"0.5", 0.5, ""},
		{"1", 1, ""},
		{"0.01", 0.01, ""},
		{"1/4", 0.25, ""},
		{"0", 0, ""},
		{"0.0001", 0, "range of CPUs is from 0.01 to"},
		{"-1", 0, "range of CPUs is from 0.01 to"},
		{fmt.Sprint(n + 1), 0, fmt.Sprintf("as there are only %d CPUs available", n)},
		{"0.0000000001", 0, "value is too precise"},
		{"abc", 0, "failed to parse abc as a rational number"},
		{"", 0, "failed to parse"},
	}
	if n >= 2 {
		tests = append(tests, struct {
			in   string
			want float64
			err  string
		}{"2", 2, ""})
	}
	for _, tc := range tests {
		got, err := ParseCPUs(tc.in)
		wantErr(t, fmt.Sprintf("ParseCPUs(%q)", tc.in), err, tc.err)
		if err == nil && got != tc.want {
			t.Errorf("ParseCPUs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want syscall.Signal
		err  string
	}{
		{"SIGTERM", syscall.SIGTERM, ""},
		{"TERM", syscall.SIGTERM, ""},
		{"term", syscall.SIGTERM, ""},
		{"sigkill", syscall.SIGKILL, ""},
		{"15", syscall.SIGTERM, ""},
		{"9", syscall.SIGKILL, ""},
		{"SIGQUIT", syscall.SIGQUIT, ""},
		{"SIGWINCH", syscall.SIGWINCH, ""},
		{"SIGRTMIN", 34, ""},
		{"SIGRTMIN+3", 37, ""},
		{"rtmin+3", 37, ""},
		{"SIGRTMAX", 64, ""},
		{"SIGRTMAX-1", 63, ""},
		{"64", 64, ""},
		{"0", 0, "invalid signal: 0"},
		{"65", 0, "invalid signal: 65"},
		{"-9", 0, "invalid signal: -9"},
		{"SIGRTMIN+31", 0, "invalid signal"},
		{"SIGRTMIN++3", 0, "invalid signal"},
		{"SIGFOO", 0, "invalid signal: SIGFOO"},
		{"", 0, "invalid signal"},
	} {
		got, err := ParseSignal(tc.in)
		wantErr(t, fmt.Sprintf("ParseSignal(%q)", tc.in), err, tc.err)
		if err == nil && got != tc.want {
			t.Errorf("ParseSignal(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"FROM_HOST": "host value", "EMPTY": ""}[k]
		return v, ok
	}
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{"literal", "A=1\nB=two words\nC=\"quoted\"\nD='single'\n", []string{"A=1", "B=two words", `C="quoted"`, "D='single'"}, ""},
		{"comments and blanks", "# comment\n\n   \n  # indented comment\nA=1\n", []string{"A=1"}, ""},
		{"leading whitespace trimmed, trailing kept", "  \tA=1  \n", []string{"A=1  "}, ""},
		{"value keeps = and #", "A=b=c # not a comment\n", []string{"A=b=c # not a comment"}, ""},
		{"empty value", "A=\n", []string{"A="}, ""},
		{"from lookup", "FROM_HOST\nEMPTY\nUNSET\n", []string{"FROM_HOST=host value", "EMPTY="}, ""},
		{"BOM and CRLF", "\xEF\xBB\xBFA=1\r\nB=2\r\n", []string{"A=1", "B=2"}, ""},
		{"no final newline", "A=1", []string{"A=1"}, ""},
		{"whitespace in name", "A=1\n# x\nBAD KEY=1\n", nil, "app.env:3: poorly formatted environment: variable 'BAD KEY' contains whitespaces"},
		{"bare name with whitespace", "A B\n", nil, "app.env:1: poorly formatted environment: variable 'A B' contains whitespaces"},
		{"no name", "A=1\n=1\n", nil, "app.env:2: poorly formatted environment: no variable name"},
		{"invalid utf8", "A=\xff\n", nil, "app.env:1: env file contains invalid utf8"},
	} {
		got, err := ParseEnvFile(strings.NewReader(tc.in), "app.env", lookup)
		wantErr(t, tc.name, err, tc.err)
		if err == nil && !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	got, err := ParseEnvFile(strings.NewReader("A\nB=1\n"), "x", nil)
	if err != nil || !slices.Equal(got, []string{"B=1"}) {
		t.Errorf("nil lookup: got %q, %v", got, err)
	}
}

func TestValidate(t *testing.T) {
	minus1 := -1
	for _, tc := range []struct {
		name string
		o    RunOptions
		err  string
	}{
		{"minimal", RunOptions{Image: "busybox"}, ""},
		{"full", RunOptions{Name: "web-1.a_b", Image: "busybox", Env: []string{"A=1", "B"}, WorkingDir: "/srv",
			Hostname: "web.example", Memory: 64 << 20, CPUs: 0.5, PidsLimit: -1, StopSignal: "SIGQUIT",
			StopTimeout: &minus1, Labels: map[string]string{"com.example.x": "y"}, AutoRemove: true, Detach: true,
			Restart: RestartPolicy{Name: "no"}}, ""},
		{"two-char name", RunOptions{Name: "ab", Image: "x"}, ""},
		{"one-char name", RunOptions{Name: "a", Image: "x"}, "Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"},
		{"name starts with dash", RunOptions{Name: "-ab", Image: "x"}, "Invalid container name (-ab)"},
		{"name starts with underscore", RunOptions{Name: "_ab", Image: "x"}, "Invalid container name (_ab)"},
		{"name with slash", RunOptions{Name: "a/b", Image: "x"}, "Invalid container name (a/b)"},
		{"name with space", RunOptions{Name: "a b", Image: "x"}, "Invalid container name (a b)"},
		{"no image", RunOptions{}, "no image specified"},
		{"rm with restart", RunOptions{Image: "x", AutoRemove: true, Restart: RestartPolicy{Name: "always"}},
			"conflicting options: cannot specify both --restart and --rm"},
		{"rm with on-failure", RunOptions{Image: "x", AutoRemove: true, Restart: RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}},
			"conflicting options: cannot specify both --restart and --rm"},
		{"rm with restart no", RunOptions{Image: "x", AutoRemove: true, Restart: RestartPolicy{Name: "no"}}, ""},
		{"bad restart", RunOptions{Image: "x", Restart: RestartPolicy{Name: "bogus"}}, "unknown policy 'bogus'"},
		{"relative workdir", RunOptions{Image: "x", WorkingDir: "srv"}, "the working directory 'srv' is invalid, it needs to be an absolute path"},
		{"memory too small", RunOptions{Image: "x", Memory: 1 << 20}, "Minimum memory limit allowed is 6MB"},
		{"negative memory", RunOptions{Image: "x", Memory: -1}, "cannot be negative"},
		{"cpus too small", RunOptions{Image: "x", CPUs: 0.001}, "range of CPUs"},
		{"cpus negative", RunOptions{Image: "x", CPUs: -1}, "range of CPUs"},
		{"cpus above host", RunOptions{Image: "x", CPUs: float64(runtime.NumCPU() + 1)}, "range of CPUs"},
		{"bad stop signal", RunOptions{Image: "x", StopSignal: "SIGNOPE"}, "invalid signal: SIGNOPE"},
		{"env without name", RunOptions{Image: "x", Env: []string{"=1"}}, "invalid environment variable: =1"},
		{"empty label", RunOptions{Image: "x", Labels: map[string]string{" ": "v"}}, "empty name"},
		{"reserved label", RunOptions{Image: "x", Labels: map[string]string{"berth.name": "v"}}, `prefix "berth." is reserved`},
		{"long hostname", RunOptions{Image: "x", Hostname: strings.Repeat("h", 65)}, "longer than 64"},
		{"hostname with space", RunOptions{Image: "x", Hostname: "a b"}, "invalid hostname"},
	} {
		wantErr(t, tc.name, tc.o.Validate(), tc.err)
	}

	// Several problems are all reported.
	o := RunOptions{Name: "a", WorkingDir: "rel"}
	err := o.Validate()
	for _, want := range []string{"Invalid container name", "no image specified", "working directory"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("joined errors %v: missing %q", err, want)
		}
	}
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("joined errors are not ErrInvalid: %v", err)
	}
}

func TestStopSignalOf(t *testing.T) {
	for _, tc := range []struct {
		img, flag string
		want      syscall.Signal
		err       string
	}{
		{"", "", syscall.SIGTERM, ""},
		{"SIGQUIT", "", syscall.SIGQUIT, ""},
		{"SIGQUIT", "SIGINT", syscall.SIGINT, ""},
		{"", "9", syscall.SIGKILL, ""},
		{"SIGRTMIN+3", "", 37, ""},
		{"BOGUS", "", 0, "image StopSignal: invalid signal: BOGUS"},
		{"", "BOGUS", 0, "invalid signal: BOGUS"},
	} {
		got, err := StopSignalOf(ocispec.ImageConfig{StopSignal: tc.img}, RunOptions{StopSignal: tc.flag})
		wantErr(t, fmt.Sprintf("StopSignalOf(%q, %q)", tc.img, tc.flag), err, tc.err)
		if err == nil && got != tc.want {
			t.Errorf("StopSignalOf(%q, %q) = %v, want %v", tc.img, tc.flag, got, tc.want)
		}
	}
}

func TestStopTimeoutOf(t *testing.T) {
	n := func(i int) *int { return &i }
	for _, tc := range []struct {
		in   *int
		want time.Duration
	}{
		{nil, 10 * time.Second},
		{n(0), 0},
		{n(30), 30 * time.Second},
		{n(-1), -1},
		{n(-5), -1},
	} {
		if got := StopTimeoutOf(RunOptions{StopTimeout: tc.in}); got != tc.want {
			t.Errorf("StopTimeoutOf(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
