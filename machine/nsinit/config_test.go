package nsinit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	layerParent = "/var/lib/berth/layers/sha256"
	testUpper   = "/var/lib/berth/containers/c1/upper"
	testWork    = "/var/lib/berth/containers/c1/work"
)

// layerNames returns n distinct 64-hex-digit layer directory names.
func layerNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%064x", i+1)
	}
	return out
}

func under(parent string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = parent + "/" + n
	}
	return out
}

func TestOverlayData(t *testing.T) {
	tail := ",upperdir=" + testUpper + ",workdir=" + testWork
	// A layer list whose absolute form is exactly one page minus the NUL
	// (4095 bytes), and one byte more.
	fit := func(dir string, extra int) []string {
		fixed := len("lowerdir=") + len(tail) + len(dir)
		return []string{dir + strings.Repeat("x", maxOverlayData-fixed+extra)}
	}
	x := func(extra int) string { return fit("/a/", extra)[0][len("/a/"):] }
	many := layerNames(50)    // absolute: 50*94 > 4095; relative: 50*65 < 4095
	tooMany := layerNames(70) // relative: 70*65 > 4095
	for _, tc := range []struct {
		name    string
		lowers  []string
		want    string
		wantRel bool
		err     string
	}{
		{"one layer", []string{"/l/a"}, "lowerdir=/l/a" + tail, false, ""},
		{"top first, as given", []string{"/l/top", "/l/mid", "/l/bottom"}, "lowerdir=/l/top:/l/mid:/l/bottom" + tail, false, ""},
		{"exactly a page", fit("/a/", 0), "lowerdir=" + fit("/a/", 0)[0] + tail, false, ""},
		{"a byte over a page: relative", fit("/a/", 1), "lowerdir=" + x(1) + tail, true, ""},
		{"a byte over a page, layer in /", fit("/", 1), "", false, "1 layers do not fit"},
		{"many layers: relative form", under(layerParent, many), "lowerdir=" + strings.Join(many, ":") + tail, true, ""},
		{"relative form still too long", under(layerParent, tooMany), "", false, "70 layers do not fit"},
		{"too long, no common parent", append(under(layerParent, many[:25]), under("/other/layers", many[25:])...), "", false, "do not fit"},
		{"too long, layers at different depths", append(under(layerParent, many[:49]), layerParent+"/sub/"+many[49]), "", false, "do not fit"},
		{"no layers", nil, "", false, "no layers"},
		{"empty layer list", []string{}, "", false, "no layers"},
		{"',' in a layer", []string{"/l/a", "/l/b,upperdir=/"}, "", false, `"/l/b,upperdir=/" contains ',' or ':'`},
		{"':' in a layer", []string{"/l/a:b"}, "", false, "contains ',' or ':'"},
	} {
		data, rel, err := OverlayData(tc.lowers, testUpper, testWork)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: OverlayData = %q, %v; want an error with %q", tc.name, data, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if data != tc.want || rel != tc.wantRel {
			t.Errorf("%s: OverlayData = %q, rel %v; want %q, rel %v", tc.name, data, rel, tc.want, tc.wantRel)
		}
		if len(data) > maxOverlayData {
			t.Errorf("%s: %d bytes of mount data, more than a page", tc.name, len(data))
		}
		if rel {
			if p := commonParent(tc.lowers); p == "" || !strings.HasPrefix(tc.lowers[0], p+"/") {
				t.Errorf("%s: the caller would chdir to %q", tc.name, p)
			}
			if strings.Contains(strings.TrimPrefix(strings.Split(data, ",")[0], "lowerdir="), "/") {
				t.Errorf("%s: relative lowerdir has a '/': %q", tc.name, data)
			}
		}
	}
}

// TestOverlayDataUpperWork checks that the writable layer's paths are
// held to the layers' rule: a ',' would end the option and start another.
func TestOverlayDataUpperWork(t *testing.T) {
	var bugs []string
	for _, tc := range []struct{ upper, work string }{
		{"/state,lowerdir=/etc/upper", testWork},
		{testUpper, "/a,b/work"},
	} {
		data, _, err := OverlayData([]string{"/l/a"}, tc.upper, tc.work)
		if err == nil {
			bugs = append(bugs, fmt.Sprintf("%q", data))
		}
	}
	if len(bugs) > 0 {
		t.Errorf("machine/nsinit/config.go OverlayData checks only the lower dirs for ',' and ':', "+
			"not upper and work for ',' (they come from --root), so the mount data becomes %s", strings.Join(bugs, ", "))
	}
}

func TestParseMountOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  []string
		flags uintptr
		data  string
	}{
		{nil, 0, ""},
		{[]string{}, 0, ""},
		{[]string{"nosuid", "noexec", "nodev"}, unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, ""},
		{[]string{"ro"}, unix.MS_RDONLY, ""},
		{[]string{"ro", "rw"}, 0, ""},
		{[]string{"rw", "ro"}, unix.MS_RDONLY, ""},
		{[]string{"nosuid", "suid"}, 0, ""},
		{[]string{"nodev", "dev"}, 0, ""},
		{[]string{"noexec", "exec"}, 0, ""},
		{[]string{"relatime", "norelatime"}, 0, ""},
		{[]string{"nosuid", "ro", "rw", "nodev"}, unix.MS_NOSUID | unix.MS_NODEV, ""},
		{[]string{"strictatime", "noatime", "nodiratime"}, unix.MS_STRICTATIME | unix.MS_NOATIME | unix.MS_NODIRATIME, ""},
		{[]string{"bind"}, unix.MS_BIND, ""},
		{[]string{"rbind", "ro"}, unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, ""},
		// Docker's default mounts.
		{[]string{"nosuid", "strictatime", "mode=755", "size=65536k"}, unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k"},
		{[]string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{[]string{"nosuid", "noexec", "nodev", "relatime", "ro"},
			unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RELATIME | unix.MS_RDONLY, ""},
		// Unknown options are data, in their order, flags taken out.
		{[]string{"z=1", "nosuid", "a=2", "ro", "m"}, unix.MS_NOSUID | unix.MS_RDONLY, "z=1,a=2,m"},
		{[]string{"RO"}, 0, "RO"},
	} {
		flags, data := ParseMountOptions(tc.opts)
		if flags != tc.flags || data != tc.data {
			t.Errorf("ParseMountOptions(%q) = %#x, %q; want %#x, %q", tc.opts, flags, data, tc.flags, tc.data)
		}
	}
}

func TestHostsFile(t *testing.T) {
	for _, h := range []string{"0123456789ab", "web"} {
		want := "127.0.0.1\tlocalhost\n" +
			"::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\n" +
			"ff00::0\tip6-mcastprefix\n" +
			"ff02::1\tip6-allnodes\n" +
			"ff02::2\tip6-allrouters\n" +
			"127.0.1.1\t" + h + "\n"
		if got := HostsFile(h); got != want {
			t.Errorf("HostsFile(%q) =\n%s\nwant\n%s", h, got, want)
		}
	}
}

// fakeFS is a stat for LookPath: a path maps to its mode, or to an error.
type fakeFS map[string]any

func (f fakeFS) stat(p string) (uint32, error) {
	switch v := f[p].(type) {
	case uint32:
		return v, nil
	case error:
		return 0, v
	}
	return 0, unix.ENOENT
}

const (
	exe    = unix.S_IFREG | 0o755
	noExec = unix.S_IFREG | 0o644
	dir    = unix.S_IFDIR | 0o755
)

func TestLookPath(t *testing.T) {
	files := fakeFS{
		"/bin/sh":              uint32(exe),
		"/usr/bin/sh":          uint32(exe),
		"/usr/local/bin/app":   uint32(exe),
		"/opt/bin/tool":        uint32(exe),
		"/opt/bin/data":        uint32(noExec),
		"/usr/bin/data":        uint32(noExec),
		"/usr/bin/etc":         uint32(dir),
		"/usr/sbin/both":       uint32(noExec),
		"/usr/bin/both":        uint32(exe),
		"/bin/only-group-exec": uint32(unix.S_IFREG | 0o010),
		"./rel":                uint32(exe),
		"sub/rel":              uint32(exe),
		"/dir":                 uint32(dir),
		"/data":                uint32(noExec),
		"/usr/bin/denied":      unix.EACCES,
		"/bin/denied":          uint32(exe),
	}
	for _, tc := range []struct {
		name string
		file string
		env  []string
		want string
		code int
		err  string
	}{
		{"absolute", "/bin/sh", nil, "/bin/sh", 0, ""},
		{"absolute, PATH not used", "/opt/bin/tool", []string{"PATH=/nowhere"}, "/opt/bin/tool", 0, ""},
		{"relative with a slash", "sub/rel", nil, "sub/rel", 0, ""},
		{"absolute, missing", "/bin/nope", nil, "", 127, `exec: "/bin/nope": stat /bin/nope: no such file or directory`},
		{"absolute, a directory", "/dir", nil, "", 126, `exec: "/dir": is a directory`},
		{"absolute, not executable", "/data", nil, "", 126, `exec: "/data": permission denied`},
		{"any exec bit will do", "/bin/only-group-exec", nil, "/bin/only-group-exec", 0, ""},
		{"default PATH", "app", nil, "/usr/local/bin/app", 0, ""},
		{"default PATH, first match wins", "sh", nil, "/usr/bin/sh", 0, ""},
		{"PATH from env", "tool", []string{"HOME=/", "PATH=/opt/bin:/usr/bin"}, "/opt/bin/tool", 0, ""},
		{"PATH from env, first match wins", "sh", []string{"PATH=/bin:/usr/bin"}, "/bin/sh", 0, ""},
		{"PATH from env, order reversed", "sh", []string{"PATH=/usr/bin:/bin"}, "/usr/bin/sh", 0, ""},
		{"PATH from env hides the default", "app", []string{"PATH=/opt/bin"}, "", 127, `exec: "app": executable file not found in $PATH`},
		{"empty PATH entry is the working directory", "rel", []string{"PATH=/opt/bin::/bin"}, "./rel", 0, ""},
		{"not found", "foo", nil, "", 127, `exec: "foo": executable file not found in $PATH`},
		{"not found in env PATH", "foo", []string{"PATH=/opt/bin"}, "", 127, `exec: "foo": executable file not found in $PATH`},
		{"a directory", "etc", nil, "", 126, `exec: "/usr/bin/etc": permission denied`},
		{"not executable", "data", []string{"PATH=/opt/bin:/usr/bin"}, "", 126, `exec: "/opt/bin/data": permission denied`},
		{"not executable, then executable", "both", nil, "/usr/bin/both", 0, ""},
		{"stat error, then executable", "denied", nil, "/bin/denied", 0, ""},
	} {
		path, code, err := LookPath(tc.file, tc.env, files.stat)
		if path != tc.want || code != tc.code {
			t.Errorf("%s: LookPath(%q) = %q, %d, %v; want %q, %d", tc.name, tc.file, path, code, err, tc.want, tc.code)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestLookPathStatPermission: a path that cannot be stat'ed for lack of
// search permission is not "no such file" (127) but "permission denied"
// (126), as execvp and Docker (Go's exec.LookPath in runc) report it.
func TestLookPathStatPermission(t *testing.T) {
	files := fakeFS{"/secret/app": unix.EACCES}
	_, code, err := LookPath("/secret/app", nil, files.stat)
	if code == ExitNotFound && err != nil && strings.Contains(err.Error(), "no such file") {
		t.Errorf("machine/nsinit/config.go LookPath: check maps every stat error to ExitNotFound and the "+
			"absolute branch prints \"no such file or directory\" whatever stat said: got %d, %q; want 126 and "+
			"\"permission denied\"", code, err)
	}
	if code != ExitCannotExec || err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("LookPath(/secret/app) = %d, %v; want 126, permission denied", code, err)
	}
}

// TestBPFJSON: a compiled filter crosses to the child as one base64
// string and comes back instruction for instruction.
func TestBPFJSON(t *testing.T) {
	in := BPF{{Op: 0x20, K: 4}, {Op: 0x15, Jt: 1, Jf: 0, K: 0xc000003e}, {Op: 0x6, K: 0x7fff0000}, {Op: 0xffff, Jt: 255, Jf: 254, K: 0xffffffff}}
	b, err := json.Marshal(Config{SeccompFilter: in})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"seccompFilter":"`)) {
		t.Errorf("the filter is not one string: %s", b)
	}
	var out Config
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.SeccompFilter, in) {
		t.Errorf("round trip: got %v, want %v", out.SeccompFilter, in)
	}
	var empty Config
	if b, _ := json.Marshal(empty); bytes.Contains(b, []byte("seccompFilter")) {
		t.Errorf("no filter still written: %s", b)
	}
	for _, bad := range []string{`{"seccompFilter":"AAA="}`, `{"seccompFilter":[1,2]}`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestTerminates: the signals berth-nsinit turns into an exit before the
// exec are those whose default action ends a process.
func TestTerminates(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGPWR, unix.SIGALRM, unix.Signal(34 + 3)} {
		if !terminates(sig) {
			t.Errorf("%v: not a terminating signal", sig)
		}
	}
	for _, sig := range []unix.Signal{unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH, unix.SIGCONT, unix.SIGPIPE, unix.SIGTSTP} {
		if terminates(sig) {
			t.Errorf("%v: counted as terminating", sig)
		}
	}
}
