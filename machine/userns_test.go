package machine

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestParseUserns(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode string
		size uint32
		bad  bool
	}{
		{"", UsernsHost, 0, false},
		{"host", UsernsHost, 0, false},
		{"auto", UsernsAuto, 65536, false},
		{"auto:size=1024", UsernsAuto, 1024, false},
		{"auto:size=0", "", 0, true},
		{"auto:size=x", "", 0, true},
		{"auto:uidmapping=0:1:2", "", 0, true},
		{"keep-id", "", 0, true},
		{"private", "", 0, true},
	} {
		mode, size, err := ParseUserns(tc.in)
		if tc.bad {
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Errorf("ParseUserns(%q) = %v, want an ErrInvalid", tc.in, err)
			}
			continue
		}
		if err != nil || mode != tc.mode || size != tc.size {
			t.Errorf("ParseUserns(%q) = %q, %d, %v; want %q, %d", tc.in, mode, size, err, tc.mode, tc.size)
		}
	}
}

func TestValidateUserns(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    RunOptions
		bad  string
	}{
		{"auto", RunOptions{Userns: "auto"}, ""},
		{"host and privileged", RunOptions{Userns: "host", Privileged: true}, ""},
		{"auto and privileged", RunOptions{Userns: "auto", Privileged: true}, "privileged mode is incompatible with user namespaces"},
		{"auto and a device", RunOptions{Userns: "auto:size=10", Devices: []Device{{HostPath: "/dev/net/tun", ContainerPath: "/dev/net/tun", Permissions: "rwm", Type: "c"}}}, ""},
		{"auto and another's network", RunOptions{Userns: "auto", Network: "container:web"}, "--network container:"},
		{"auto and the host's network", RunOptions{Userns: "auto", Network: "host"}, ""},
		{"bad", RunOptions{Userns: "nope"}, "invalid --userns"},
	} {
		tc.o.Image = "busybox"
		err := tc.o.Validate()
		if tc.bad == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%s: %v, want an ErrInvalid with %q", tc.name, err, tc.bad)
		}
	}
}

func TestParseSubIDs(t *testing.T) {
	const file = "# comment\nalice:100000:65536\nberth:1048576:131072\n998:5000000:65536\nberth:bad:1\nberth:7:0\n\nberth:200:100\n"
	got, err := ParseSubIDs(strings.NewReader(file), "berth", "998")
	if err != nil {
		t.Fatal(err)
	}
	want := []SubIDRange{{1048576, 131072}, {5000000, 65536}, {200, 100}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("range %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestSubIDLine(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "berth:1048576:67108864\n"},
		{"others below", "alice:100000:65536\nbob:165536:65536\n", "berth:1048576:67108864\n"},
		{"overlapping other", "alice:100000:65536\nbig:1000000:100000\n", "berth:1114112:67108864\n"},
	} {
		if got := SubIDLine(tc.file); got != tc.want {
			t.Errorf("%s: SubIDLine = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAllocateIDs(t *testing.T) {
	r := []SubIDRange{{100000, 4 * 65536}}
	for _, tc := range []struct {
		name       string
		uids, gids []SubIDRange
		used       []IDMap
		size       uint32
		want       IDMap
		fail       bool
	}{
		{"first", r, r, nil, 65536, IDMap{100000, 65536}, false},
		{"after used", r, r, []IDMap{{100000, 65536}}, 65536, IDMap{165536, 65536}, false},
		{"hole between", r, r, []IDMap{{100000, 65536}, {231072, 65536}}, 65536, IDMap{165536, 65536}, false},
		{"unsorted used", r, r, []IDMap{{165536, 65536}, {100000, 65536}}, 65536, IDMap{231072, 65536}, false},
		{"small size fits a hole", r, r, []IDMap{{100000, 1000}, {101024, 65536}}, 24, IDMap{101000, 24}, false},
		{"full", r, r, []IDMap{{100000, 4 * 65536}}, 1, IDMap{}, true},
		{"too big", r, r, nil, 5 * 65536, IDMap{}, true},
		{"uid and gid ranges intersect", []SubIDRange{{100000, 200000}}, []SubIDRange{{200000, 200000}}, nil, 65536, IDMap{200000, 65536}, false},
		{"disjoint uid and gid ranges", []SubIDRange{{100000, 65536}}, []SubIDRange{{300000, 65536}}, nil, 65536, IDMap{}, true},
		{"second range", []SubIDRange{{100000, 10}, {500000, 65536}}, r[:0:0], nil, 65536, IDMap{}, true},
		{"zero", r, r, nil, 0, IDMap{}, true},
	} {
		got, err := AllocateIDs(tc.uids, tc.gids, tc.used, tc.size)
		if tc.fail {
			if err == nil {
				t.Errorf("%s: got %v, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestReserveIDsAddsRanges(t *testing.T) {
	dir := t.TempDir()
	cs, err := OpenContainers(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := SubIDFiles{UID: dir + "/subuid", GID: dir + "/subgid"}
	if err := os.WriteFile(files.UID, []byte("alice:100000:65536"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, release, err := cs.ReserveIDs(files, 65536)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if m != (IDMap{DefaultSubIDStart, 65536}) {
		t.Errorf("block = %v, want the default range's first", m)
	}
	for f, want := range map[string]string{
		files.UID: "alice:100000:65536\nberth:1048576:67108864\n",
		files.GID: "berth:1048576:67108864\n",
	} {
		if b, _ := os.ReadFile(f); string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
}
