package machine

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestParseVolume(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    Mount
		wantErr bool
	}{
		{"/srv/www:/usr/share/www:ro", Mount{Type: MountBind, Source: "/srv/www", Target: "/usr/share/www", ReadOnly: true}, false},
		{"/srv//x/:/data/", Mount{Type: MountBind, Source: "/srv/x", Target: "/data"}, false},
		{"pgdata:/var/lib/postgresql/data:rw", Mount{Type: MountVolume, Source: "pgdata", Target: "/var/lib/postgresql/data"}, false},
		{"/data", Mount{Type: MountVolume, Target: "/data", Anonymous: true}, false},
		{"/srv:/srv:ro,rslave", Mount{Type: MountBind, Source: "/srv", Target: "/srv", ReadOnly: true, Propagation: "rslave"}, false},
		{"/srv:/srv:rshared,z", Mount{Type: MountBind, Source: "/srv", Target: "/srv", Propagation: "rshared"}, false},
		{"data:/data:nocopy", Mount{Type: MountVolume, Source: "data", Target: "/data", NoCopy: true}, false},
		{"data:/data:rshared", Mount{}, true}, // propagation is for binds
		{"/srv:/srv:nocopy", Mount{}, true},   // nocopy is for volumes
		{"/srv:/srv:ro,rw", Mount{}, true},    // two modes
		{"/srv:/srv:rslave,rshared", Mount{}, true},
		{"/srv:/srv:", Mount{}, true},
		{"data:relative", Mount{}, true}, // target not absolute
		{"data:/", Mount{}, true},        // over the root
		{"data:/x:rwz", Mount{}, true},   // bad mode
		{"a:b:c:d", Mount{}, true},       // too many parts
		{"../up:/x", Mount{}, true},      // neither a path nor a name
		{"my vol:/x", Mount{}, true},     // bad name
		{"_hidden:/x", Mount{}, true},    // a name starts with a letter or digit
	} {
		got, err := ParseVolume(tc.spec)
		if tc.wantErr {
			if !errdefs.IsInvalid(err) {
				t.Errorf("ParseVolume(%q) = %+v, %v; want an ErrInvalid", tc.spec, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseVolume(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    Mount
		wantErr bool
	}{
		{"type=bind,source=/srv,target=/srv,readonly", Mount{Type: MountBind, Source: "/srv", Target: "/srv", ReadOnly: true, MustExist: true}, false},
		{"type=bind,src=/srv/,dst=/x,bind-propagation=rslave", Mount{Type: MountBind, Source: "/srv", Target: "/x", Propagation: "rslave", MustExist: true}, false},
		{"type=volume,source=data,target=/data,volume-nocopy", Mount{Type: MountVolume, Source: "data", Target: "/data", NoCopy: true}, false},
		{"source=data,destination=/data,ro=false", Mount{Type: MountVolume, Source: "data", Target: "/data"}, false},
		{"target=/data", Mount{Type: MountVolume, Target: "/data", Anonymous: true}, false},
		{"type=tmpfs,target=/run,tmpfs-size=1m,tmpfs-mode=1770", Mount{Type: MountTmpfs, Target: "/run", Options: "size=1m,mode=1770"}, false},
		{"type=tmpfs,target=/run,readonly", Mount{Type: MountTmpfs, Target: "/run", Options: "ro"}, false},
		{"type=bind,target=/x", Mount{}, true},                         // no source
		{"type=bind,source=rel,target=/x", Mount{}, true},              // relative source
		{"type=volume,source=/srv,target=/x", Mount{}, true},           // not a name
		{"type=tmpfs,source=x,target=/x", Mount{}, true},               // tmpfs has no source
		{"type=nfs,target=/x", Mount{}, true},                          // unknown type
		{"source=data", Mount{}, true},                                 // no target
		{"target=/", Mount{}, true},                                    // over the root
		{"target=/x,bogus=1", Mount{}, true},                           // unknown key
		{"target=/x,readonly=maybe", Mount{}, true},                    // not a boolean
		{"target=/x,bind-propagation=rshared", Mount{}, true},          // bind only
		{"type=bind,source=/s,target=/x,tmpfs-size=1m", Mount{}, true}, // tmpfs only
		{"type=bind,source=/s,target=/x,bind-propagation=up", Mount{}, true},
		{"type=volume,target", Mount{}, true}, // a key without value
	} {
		got, err := ParseMount(tc.spec)
		if tc.wantErr {
			if !errdefs.IsInvalid(err) {
				t.Errorf("ParseMount(%q) = %+v, %v; want an ErrInvalid", tc.spec, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMount(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func TestSpecMountsPropagation(t *testing.T) {
	got := SpecMounts([]Mount{
		{Type: MountBind, Source: "/a", Target: "/a"},
		{Type: MountBind, Source: "/b", Target: "/b", Propagation: "rslave"},
		{Type: MountVolume, Source: "v", Target: "/v"},
	}, volPath)
	for i, want := range []string{"rprivate", "rslave", "rprivate"} {
		if got[i].Options[1] != want {
			t.Errorf("mount %d: options %v, want propagation %s", i, got[i].Options, want)
		}
	}
}

func TestRemoveAnonymousVolumes(t *testing.T) {
	v, err := OpenVolumes(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"anon1", "anon2", "named"} {
		if _, _, err := v.Create(n, nil); err != nil {
			t.Fatal(err)
		}
	}
	rec := &Container{ID: "a", Options: RunOptions{Mounts: []Mount{
		{Type: MountVolume, Source: "anon1", Target: "/1", Anonymous: true},
		{Type: MountVolume, Source: "anon2", Target: "/2", Anonymous: true},
		{Type: MountVolume, Source: "named", Target: "/3"},
		{Type: MountVolume, Source: "gone", Target: "/4", Anonymous: true},
	}}}
	other := &Container{ID: "b", Options: RunOptions{Mounts: []Mount{{Type: MountVolume, Source: "anon2", Target: "/2"}}}}
	removed, err := RemoveAnonymousVolumes(v, rec, []*Container{rec, other})
	if err != nil || !reflect.DeepEqual(removed, []string{"anon1"}) {
		t.Fatalf("removed %v, %v; want [anon1] (anon2 is in use, named is not anonymous)", removed, err)
	}
	for n, want := range map[string]bool{"anon1": false, "anon2": true, "named": true} {
		if _, err := v.Get(n); (err == nil) != want {
			t.Errorf("volume %s exists: %v, want %v", n, err == nil, want)
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	if m, err := ParseTmpfs("/run:size=64m,mode=1777"); err != nil || m.Target != "/run" || m.Options != "size=64m,mode=1777" || m.Type != MountTmpfs {
		t.Errorf("ParseTmpfs = %+v, %v", m, err)
	}
	for _, bad := range []string{"run", "/", "/x:bogus=1"} {
		if _, err := ParseTmpfs(bad); !errdefs.IsInvalid(err) {
			t.Errorf("ParseTmpfs(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestMountsInSpec(t *testing.T) {
	o := RunOptions{Image: "x", Mounts: []Mount{
		{Type: MountBind, Source: "/srv", Target: "/srv", ReadOnly: true},
		{Type: MountVolume, Source: "data", Target: "/data"},
		{Type: MountTmpfs, Target: "/run", Options: "size=1m"},
	}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	got := SpecMounts(o.Mounts, volPath)
	if len(got) != 3 || got[0].Source != "/srv" || got[0].Options[len(got[0].Options)-1] != "ro" ||
		got[1].Source != volPath("data") || got[1].Type != "bind" || got[2].Type != "tmpfs" || got[2].Options[2] != "size=1m" {
		t.Errorf("SpecMounts = %+v", got)
	}
	o.Mounts = append(o.Mounts, Mount{Type: MountTmpfs, Target: "/data"})
	if err := o.Validate(); !errdefs.IsInvalid(err) {
		t.Errorf("two mounts on /data: %v, want ErrInvalid", err)
	}
}

func TestVolumes(t *testing.T) {
	v, err := OpenVolumes(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	vol, created, err := v.Create("pgdata", map[string]string{"app": "shop"})
	if err != nil || !created || vol.Mountpoint != v.Path("pgdata") || vol.Driver != "local" {
		t.Fatalf("Create = %+v, %v, %v", vol, created, err)
	}
	if fi, err := os.Stat(v.Path("pgdata")); err != nil || !fi.IsDir() {
		t.Fatalf("no data directory: %v", err)
	}
	os.WriteFile(filepath.Join(v.Path("pgdata"), "keep"), []byte("x"), 0o644)
	if again, created, err := v.Create("pgdata", nil); err != nil || created || again.Labels["app"] != "shop" {
		t.Errorf("second Create = %+v, %v, %v; want the existing volume", again, created, err)
	}
	if _, err := os.Stat(filepath.Join(v.Path("pgdata"), "keep")); err != nil {
		t.Errorf("a second Create lost the data: %v", err)
	}
	v.Create("cache", nil)
	if list, err := v.List(); err != nil || len(list) != 2 || list[0].Name != "cache" || list[1].Name != "pgdata" {
		t.Errorf("List = %+v, %v", list, err)
	}
	if err := v.Remove("pgdata"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get("pgdata"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get after Remove: %v", err)
	}
	if _, _, err := v.Create("../escape", nil); !errdefs.IsInvalid(err) {
		t.Errorf("Create(../escape): %v, want ErrInvalid", err)
	}
	if err := v.Remove("nosuch"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Remove(nosuch): %v", err)
	}
}

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    PortMapping
		wantErr bool
	}{
		{"8080:80", PortMapping{HostPort: 8080, ContainerPort: 80, Count: 1, Proto: "tcp"}, false},
		{"127.0.0.1:53:53/udp", PortMapping{HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Count: 1, Proto: "udp"}, false},
		{"8000-8002:80-82", PortMapping{HostPort: 8000, ContainerPort: 80, Count: 3, Proto: "tcp"}, false},
		{"80", PortMapping{ContainerPort: 80, Count: 1, Proto: "tcp"}, false},                                     // a free host port
		{"127.0.0.1::53/udp", PortMapping{HostIP: "127.0.0.1", ContainerPort: 53, Count: 1, Proto: "udp"}, false}, // on that address
		{"80-81", PortMapping{}, true},        // a range needs a host range
		{"8000-8001:80", PortMapping{}, true}, // ranges differ
		{"70000:80", PortMapping{}, true},     // not a port
		{"1.2.3:80:80", PortMapping{}, true},  // bad address
		{"8080:80/sctp", PortMapping{}, true}, // protocol
		{"[::1]:80:80", PortMapping{}, true},  // IPv6: not yet
		{"0:80", PortMapping{}, true},         // port 0
	} {
		got, err := ParsePublish(tc.spec)
		if tc.wantErr {
			if !errdefs.IsInvalid(err) {
				t.Errorf("ParsePublish(%q) = %+v, %v; want ErrInvalid", tc.spec, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
	if s := (PortMapping{HostPort: 8000, ContainerPort: 80, Count: 2, Proto: "tcp"}).String(); s != "0.0.0.0:8000-8001->80-81/tcp" {
		t.Errorf("String = %q", s)
	}
}
