package unitgen

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want Port
		err  string
	}{
		{"80", Port{ContainerStart: 80, ContainerEnd: 80, Protocol: "tcp"}, ""},
		{"8080:80", Port{HostStart: 8080, HostEnd: 8080, ContainerStart: 80, ContainerEnd: 80, Protocol: "tcp"}, ""},
		{"127.0.0.1:8080:80/udp", Port{HostIP: "127.0.0.1", HostStart: 8080, HostEnd: 8080, ContainerStart: 80, ContainerEnd: 80, Protocol: "udp"}, ""},
		{"127.0.0.1::80", Port{HostIP: "127.0.0.1", ContainerStart: 80, ContainerEnd: 80, Protocol: "tcp"}, ""},
		{"[::1]:53:53/udp", Port{HostIP: "::1", HostStart: 53, HostEnd: 53, ContainerStart: 53, ContainerEnd: 53, Protocol: "udp"}, ""},
		{"[::1]::53", Port{HostIP: "::1", ContainerStart: 53, ContainerEnd: 53, Protocol: "tcp"}, ""},
		{"8000-8010:9000-9010", Port{HostStart: 8000, HostEnd: 8010, ContainerStart: 9000, ContainerEnd: 9010, Protocol: "tcp"}, ""},
		{"8000-8010:80", Port{HostStart: 8000, HostEnd: 8010, ContainerStart: 80, ContainerEnd: 80, Protocol: "tcp"}, ""},
		{"3000-3002", Port{ContainerStart: 3000, ContainerEnd: 3002, Protocol: "tcp"}, ""},
		{"0:80", Port{}, `invalid port "0:80": invalid host port "0"`},
		{"80:65536", Port{}, `invalid port "80:65536": invalid container port "65536"`},
		{"80/", Port{}, `invalid port "80/": unknown protocol ""`},
		{":80", Port{ContainerStart: 80, ContainerEnd: 80, Protocol: "tcp"}, ""}, // as Docker: an empty host port is ephemeral
		{"80-81:90-95", Port{}, `invalid port "80-81:90-95": the host and container ranges must have the same size`},
		{"fe80::1%eth0:80:80", Port{}, `invalid port "fe80::1%eth0:80:80": invalid host address "fe80::1%eth0"`},
	}
	for _, tt := range tests {
		got, p := parsePort(tt.in)
		if msg := problemMsg(p); msg != tt.err || got != tt.want {
			t.Errorf("parsePort(%q) = %+v, %q; want %+v, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}

func problemMsg(p *problem) string {
	if p == nil {
		return ""
	}
	return p.msg
}

func TestParseVolumeAndTmpfs(t *testing.T) {
	tests := []struct {
		in   string
		want Mount
		err  string
	}{
		{"data:/var/lib/data", Mount{Type: MountVolume, Source: "data", Target: "/var/lib/data"}, ""},
		{"data:/x/:ro", Mount{Type: MountVolume, Source: "data", Target: "/x", ReadOnly: true}, ""},
		{"/srv/www:/www:rw", Mount{Type: MountBind, Source: "/srv/www", Target: "/www"}, ""},
		{"./www:/www", Mount{Type: MountBind, Source: "/etc/berth/www", Target: "/www"}, ""},
		{"../www:/www", Mount{Type: MountBind, Source: "/etc/www", Target: "/www"}, ""},
		{".:/app", Mount{Type: MountBind, Source: "/etc/berth", Target: "/app"}, ""},
		{"data:/x:q", Mount{}, `invalid volume "data:/x:q": unknown mode "q"`},
		{"data:/x:ro,nocopy,z", Mount{Type: MountVolume, Source: "data", Target: "/x", ReadOnly: true, NoCopy: true}, ""},
		{"/srv:/srv:rslave", Mount{Type: MountBind, Source: "/srv", Target: "/srv", Propagation: "rslave"}, ""},
		{"/cache/", Mount{Type: MountVolume, Target: "/cache", Anonymous: true}, ""},
		{"cache", Mount{}, `invalid volume "cache": the container path "cache" is not absolute`},
		{"data:/x:rshared", Mount{}, `invalid volume "data:/x:rshared": a propagation applies to bind mounts only`},
		{"/srv:/x:nocopy", Mount{}, `invalid volume "/srv:/x:nocopy": nocopy applies to volumes only`},
		{"/srv:/x:ro,rw", Mount{}, `invalid volume "/srv:/x:ro,rw": more than one mode or propagation`},
		{":/x", Mount{}, `invalid volume ":/x": empty source`},
	}
	for _, tt := range tests {
		got, p := parseVolume("/etc/berth", tt.in)
		if msg := problemMsg(p); msg != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseVolume(%q) = %+v, %q; want %+v, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
	got, p := parseTmpfs("/tmp/:size=1g,mode=700,nosuid,ro,rw,noexec")
	want := Mount{Type: MountTmpfs, Target: "/tmp", TmpfsSize: 1 << 30, TmpfsMode: 0o700, TmpfsFlags: []string{"nosuid", "noexec"}}
	if p != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseTmpfs = %+v, %v; want %+v", got, p, want)
	}
	if _, p := parseTmpfs("/tmp:mode=0"); problemMsg(p) != `invalid tmpfs "/tmp:mode=0": mode "0" is not an octal mode between 1 and 7777` {
		t.Errorf("mode=0: %v", p)
	}
}

func TestParseDevice(t *testing.T) {
	tests := []struct {
		in   string
		want Device
		err  string
	}{
		{"/dev/fuse", Device{"/dev/fuse", "/dev/fuse", "rwm"}, ""},
		{"/dev/sda:/dev/xvda", Device{"/dev/sda", "/dev/xvda", "rwm"}, ""},
		{"/dev/sda:r", Device{"/dev/sda", "/dev/sda", "r"}, ""},
		{"/dev/sda:/dev/xvda:mr", Device{"/dev/sda", "/dev/xvda", "rm"}, ""},
		{"/dev/sda:/dev/xvda:rr", Device{}, `invalid device "/dev/sda:/dev/xvda:rr": permissions "rr" are not a combination of r, w and m`},
		{"/dev/sda:xvda", Device{}, `invalid device "/dev/sda:xvda": device paths must be absolute`},
	}
	for _, tt := range tests {
		got, p := parseDevice(tt.in)
		if msg := problemMsg(p); msg != tt.err || got != tt.want {
			t.Errorf("parseDevice(%q) = %+v, %q; want %+v, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]string{
		"SIGTERM": "SIGTERM", "term": "SIGTERM", "15": "SIGTERM", "sigkill": "SIGKILL",
		"6": "SIGABRT", "IOT": "SIGABRT", "CLD": "SIGCHLD", "29": "SIGIO",
		"RTMIN": "SIGRTMIN+0", "SIGRTMIN+3": "SIGRTMIN+3", "RTMAX-1": "SIGRTMIN+29", "64": "SIGRTMIN+30",
		"0": "", "65": "", "32": "", "RTMIN+31": "", "RTMIN++1": "", "FOO": "",
	} {
		got, p := parseSignal(in)
		if got != want || (p == nil) != (want != "") {
			t.Errorf("parseSignal(%q) = %q, %v; want %q", in, got, p, want)
		}
	}
}

func TestParseRestart(t *testing.T) {
	for in, want := range map[string]string{
		"no": "{no 0}", "always": "{always 0}", "unless-stopped": "{unless-stopped 0}",
		"on-failure": "{on-failure 0}", "on-failure:3": "{on-failure 3}",
		"on-failure:-1": `invalid restart policy "on-failure:-1": the maximum retry count must be a whole number ≥ 0`,
		"on-failure:":   `invalid restart policy "on-failure:": the maximum retry count must be a whole number ≥ 0`,
		"no:1":          `invalid restart policy "no:1": a maximum retry count can only be used with "on-failure"`,
		"allways":       `invalid restart policy "allways"`,
	} {
		rp, p := parseRestart(in)
		got := fmt.Sprint(rp)
		if p != nil {
			got = p.msg
		}
		if got != want {
			t.Errorf("parseRestart(%q) = %s; want %s", in, got, want)
		}
	}
	if _, p := parseRestart("allways"); p.hint != `did you mean "always"?` {
		t.Errorf("hint %q", p.hint)
	}
}

func TestMemoryCPUsCaps(t *testing.T) {
	for in, want := range map[string]int64{"64m": 64 << 20, "1.5g": 3 << 29, "512MB": 512 << 20, "0": 0, "6291456": 6 << 20} {
		if got, p := parseMemory(in); got != want || p != nil {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", in, got, p, want)
		}
	}
	for _, in := range []string{"5m", "-1", "64x", "", "1e30"} {
		if _, p := parseMemory(in); p == nil {
			t.Errorf("parseMemory(%q) succeeded", in)
		}
	}
	for c, ok := range map[float64]bool{0: true, 0.01: true, 0.5: true, 2: true, 0.123456789: true, 0.009: false, -1: false, 0.1234567891: false} {
		if p := checkCPUs(c); (p == nil) != ok {
			t.Errorf("checkCPUs(%v) = %v", c, p)
		}
	}
	for in, want := range map[string]string{"net_admin": "CAP_NET_ADMIN", "CAP_SYS_ADMIN": "CAP_SYS_ADMIN", "all": "ALL", "cap_bpf": "CAP_BPF", "FOO": ""} {
		if got, _ := parseCapability(in); got != want {
			t.Errorf("parseCapability(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"", []string{}, ""},
		{"  ", []string{}, ""},
		{`nginx -g "daemon off;"`, []string{"nginx", "-g", "daemon off;"}, ""},
		{`echo 'a  b' "c\"d" e\ f`, []string{"echo", "a  b", `c"d`, "e f"}, ""},
		{`sh -c 'echo $HOME && ls | wc'`, []string{"sh", "-c", "echo $HOME && ls | wc"}, ""},
		{`a"b"'c'd`, []string{"abcd"}, ""},
		{`"" ''`, []string{"", ""}, ""},
		{`"\a\$\\"`, []string{`\a$\`}, ""},
		{"a\\\nb", []string{"ab"}, ""},
		{`echo "x`, nil, `unterminated " in "echo \"x"`},
		{`echo 'x`, nil, `unterminated ' in "echo 'x"`},
	}
	for _, tt := range tests {
		got, p := shellSplit(tt.in)
		if msg := problemMsg(p); msg != tt.err || tt.err == "" && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("shellSplit(%q) = %q, %q; want %q, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"enviroment": "environment", "Image": "image", "cpu": "cpus", "restat": "restart",
		"pids-limit": "pids_limit", "xyz": "", "frobnicate": "", "ports": "ports",
	} {
		got := suggest(in, serviceKeys)
		if want != "" {
			want = fmt.Sprintf("did you mean %q?", want)
		}
		if got != want {
			t.Errorf("suggest(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestPositionIndex checks the scanner on the TOML forms that could
// mislead it: comments and strings that look like keys or headers,
// multi-line strings ending in extra quotes, quoted and dotted keys,
// arrays and inline tables over several lines, arrays of tables.
func TestPositionIndex(t *testing.T) {
	src := strings.Join([]string{
		`# comment with "quotes" and [brackets]`, // 1
		`top = """multi`,                         // 2
		`line = "not a key"`,                     // 3
		`ends here"""""`,                         // 4
		`lit = '''a ''b'' c'''`,                  // 5
		`[ "a b" . 'c' ]  # header`,              // 6
		`x.y = [ 1, "two",`,                      // 7
		`  { z = 3 }, # comment`,                 // 8
		`] `,                                     // 9
		`"q\"k\u00e9" = 1979-05-27 07:32:00Z`,    // 10
		`[[arr]]`,                                // 11
		`v = 1`,                                  // 12
		`[[arr]]`,                                // 13
		`v = { w = [ 2 ], u = '#' }`,             // 14
		`[arr.sub]`,                              // 15
		`k = "\\"`,                               // 16
		`t = {`,                                  // 17
		`  n = 1,`,                               // 18
		`}`,                                      // 19
	}, "\n")
	if _, err := Parse("x.toml", []byte(src)); err == nil || strings.Contains(err.Error(), "syntax") {
		t.Fatalf("the test document must be valid TOML (and no app): %v", err)
	}
	ix := indexPositions([]byte(src))
	for _, tt := range []struct {
		path     string // joined by "/"
		key, val pos
	}{
		{"top", pos{2, 1}, pos{2, 7}},
		{"lit", pos{5, 1}, pos{5, 7}},
		{"a b", pos{6, 3}, pos{}},
		{"a b/c", pos{6, 11}, pos{}},
		{"a b/c/x", pos{7, 1}, pos{}},
		{"a b/c/x/y", pos{7, 3}, pos{7, 7}},
		{"a b/c/x/y/1", pos{}, pos{7, 12}},
		{"a b/c/x/y/2", pos{}, pos{8, 3}},
		{"a b/c/x/y/2/z", pos{8, 5}, pos{8, 9}},
		{"a b/c/q\"k\u00e9", pos{10, 1}, pos{10, 16}},
		{"arr", pos{11, 3}, pos{}},
		{"arr/0/v", pos{12, 1}, pos{12, 5}},
		{"arr/1/v/w/0", pos{}, pos{14, 13}},
		{"arr/1/v/u", pos{14, 18}, pos{14, 22}},
		{"arr/1/sub", pos{15, 6}, pos{}},
		{"arr/1/sub/k", pos{16, 1}, pos{16, 5}},
		{"arr/1/sub/t/n", pos{18, 3}, pos{18, 7}},
	} {
		got := ix[joinPath(strings.Split(tt.path, "/"))]
		if got.key != tt.key || got.val != tt.val {
			t.Errorf("%s: key %v val %v; want key %v val %v", tt.path, got.key, got.val, tt.key, tt.val)
		}
	}
	// A path the index does not know falls back to its nearest ancestor.
	if got := ix.val([]string{"arr", "1", "sub", "nope"}); got != (pos{15, 6}) {
		t.Errorf("fallback: %v", got)
	}
}
