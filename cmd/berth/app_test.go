package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine"
	"github.com/berth/berth/unitgen"
)

func TestRenderApp(t *testing.T) {
	app, err := unitgen.Parse("/etc/berth/shop.toml", []byte(`
[service.db]
image = "busybox"
command = ["sh", "-c", "echo 100% sure"]
volumes = ["data:/data", "/srv/conf:/etc/conf:ro"]
tmpfs = ["/run:size=1m"]
restart = "always"

[service.web]
image = "busybox"
depends_on = ["db"]
environment = { B = "2", A = "1" }
memory = "64m"
[service.web.systemd.Unit]
Documentation = "https://example.com/%n"

[volume.data]
`))
	if err != nil {
		t.Fatal(err)
	}
	units, err := renderApp(app, "/etc/berth/shop.toml", "/usr/bin/berth", "/var/lib/berth")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range units {
		names = append(names, u.Name)
	}
	if strings.Join(names, " ") != "shop-net-default.service shop-vol-data.service shop-pull-db.service shop-db.service shop-web.service" {
		t.Fatalf("units: %q", names)
	}
	web := units[4].Text
	for _, want := range []string{
		"Requires=shop-net-default.service shop-pull-db.service shop-db.service\n", // one pull for db's and web's busybox
		"Documentation=https://example.com/%n\n",                                   // raw directives pass as written
		`ExecStart=/usr/bin/berth "--root" "/var/lib/berth" "__init" "` + appContainerID("shop", "web") + `"`,
		"MemoryMax=67108864\n", "\n[Install]\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(web, want) {
			t.Errorf("web unit lacks %q:\n%s", want, web)
		}
	}
	if strings.Contains(web, "CollectMode") {
		t.Errorf("an app's unit must stay loaded (no CollectMode):\n%s", web)
	}
	// The options the container is made from.
	o, err := serviceOptions(app, app.Service("db"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "shop-db" || len(o.Mounts) != 3 || o.Mounts[0].Source != "shop-data" || !o.Mounts[1].ReadOnly ||
		o.Mounts[2].Options != "size=1048576" || strings.Join(o.Cmd, "|") != "sh|-c|echo 100% sure" {
		t.Errorf("db options: %+v", o)
	}
	w, _ := serviceOptions(app, app.Service("web"))
	if strings.Join(w.Env, ",") != "A=1,B=2" || w.Labels["io.berth.app"] != "shop" {
		t.Errorf("web options: env %v labels %v", w.Env, w.Labels)
	}
	if appContainerID("shop", "web") != appContainerID("shop", "web") || appContainerID("shop", "web") == appContainerID("shop", "db") {
		t.Error("container IDs of app services are not stable and distinct")
	}
}

func TestRenderAppUnsupported(t *testing.T) {
	app, err := unitgen.Parse("/x/a.toml", []byte("[service.web]\nimage = \"busybox\"\nports = [\"7000-7002\"]\nvolumes = [\"v:/v\"]\n[volume.v]\noptions = { type = \"nfs\" }\n[service.ok]\nimage = \"busybox\"\nports = [\"8080:80\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	units, err := renderApp(app, "/x/a.toml", "/usr/bin/berth", "/var/lib/berth")
	if !errors.Is(err, errdefs.ErrInvalid) || err.Error() != "/x/a.toml: service web: not supported yet: a container port range without host ports (publish each port, or give the host range); volume v: options (berth volumes take no driver options yet): invalid argument" {
		t.Errorf("render of an app berth cannot run: %v", err)
	}
	if len(units) != 0 {
		t.Errorf("units of an app berth cannot run: %+v", units)
	}
}

// TestAppUnitIsContainerUnit holds unitgen's copy of a container's
// directives to machine's: every [Service] line of the transient unit
// `berth run` would give the service's container (machine.UnitProperties)
// is in the app's unit, in the same order.
func TestAppUnitIsContainerUnit(t *testing.T) {
	app, err := unitgen.Parse("/etc/berth/x.toml", []byte(`
[service.a]
image = "busybox"
restart = "always"
memory = "64m"
cpus = 1.25
pids_limit = 100
stop_signal = "SIGRTMIN+3"
stop_timeout = 0
devices = ["/dev/null:/dev/n:rw"]
[service.b]
image = "busybox"
restart = "on-failure:4"
stop_timeout = 30
[service.c]
image = "busybox"
restart = "on-failure"
stop_signal = "QUIT"
replicas = 2
[service.d]
image = "busybox"
restart = "unless-stopped"
`))
	if err != nil {
		t.Fatal(err)
	}
	units, err := unitgen.Render(app, unitgen.Options{Exe: "/usr/bin/berth", Root: "/var/lib/berth"})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, u := range units {
		byName[u.Name] = u.Text()
	}
	section := func(text, name string) []string {
		_, rest, _ := strings.Cut(text, "\n["+name+"]\n")
		rest, _, _ = strings.Cut(rest, "\n\n")
		return strings.Split(strings.TrimSpace(rest), "\n")
	}
	n := 0
	for _, s := range app.Services {
		for _, key := range instanceKeys(s) {
			o, err := instanceOptions(app, s, key)
			if err != nil {
				t.Fatal(err)
			}
			rec := appRecord(app, key, o)
			text, err := machine.RenderUnitFile(machine.UnitProperties(rec, "/usr/bin/berth", "/var/lib/berth"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, n, ok := strings.Cut(key, "@"); ok {
				// A replica's unit is an instance of the template, "%i"
				// its number.
				byName[rec.Unit] = strings.ReplaceAll(byName[unitgen.TemplateUnit(app.Name, s.Name)], "%i", n)
			}
			got := section(byName[rec.Unit], "Service")
			i := 0
			for _, want := range section(text, "Service") {
				for i < len(got) && got[i] != want {
					i++
				}
				if i == len(got) {
					t.Errorf("%s lacks the container's line %q, or has it out of order:\n%s", rec.Unit, want, byName[rec.Unit])
					break
				}
			}
			// The start limits go in [Unit]: the same lines there too.
			for _, want := range section(text, "Unit") {
				if strings.HasPrefix(want, "StartLimit") && !strings.Contains(byName[rec.Unit], "\n"+want+"\n") {
					t.Errorf("%s lacks %q", rec.Unit, want)
				}
			}
			n++
		}
	}
	if n != 5 {
		t.Errorf("compared %d units, want 5", n)
	}
}

func TestServiceDevices(t *testing.T) {
	app, err := unitgen.Parse("/x/d.toml", []byte("[service.s]\nimage = \"busybox\"\ndevices = [\"/dev/null:/dev/mynull:r\", \"/dev/zero\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := serviceOptions(app, app.Service("s"))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Devices) != 2 {
		t.Fatalf("devices %+v", o.Devices)
	}
	d := o.Devices[0]
	if d.HostPath != "/dev/null" || d.ContainerPath != "/dev/mynull" || d.Permissions != "r" || d.Type != "c" || d.Major != 1 || d.Minor != 3 {
		t.Errorf("first device %+v", d)
	}
	if o.Devices[1].ContainerPath != "/dev/zero" || o.Devices[1].Permissions != "rwm" {
		t.Errorf("second device %+v", o.Devices[1])
	}
	bad, _ := unitgen.Parse("/x/d.toml", []byte("[service.s]\nimage = \"busybox\"\ndevices = [\"/dev/nosuchdevice\"]\n"))
	if _, err := serviceOptions(bad, bad.Service("s")); err == nil || !strings.Contains(err.Error(), "/dev/nosuchdevice") {
		t.Errorf("a device that does not exist: %v", err)
	}
}

func TestRenderAppReplicas(t *testing.T) {
	app, err := unitgen.Parse("/x/r.toml", []byte("[service.worker]\nimage = \"busybox\"\nreplicas = 3\n[service.web]\nimage = \"busybox\"\ndepends_on = [\"worker\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	units, err := renderApp(app, "/x/r.toml", "/usr/bin/berth", "/var/lib/berth")
	if err != nil {
		t.Fatal(err)
	}
	text := map[string]string{}
	for _, u := range units {
		text[u.Name] = u.Text
	}
	// One template, whose instance 2 is replica 2.
	tmpl := strings.ReplaceAll(text["r-worker@.service"], "%i", "2")
	if !strings.Contains(tmpl, `"__prepare" "/x/r.toml" "worker@2"`) || !strings.Contains(tmpl, `"__init" "`+appContainerID("r", "worker@2")+`"`) ||
		!strings.Contains(tmpl, "CONTAINER_NAME=r-worker-2") {
		t.Errorf("the template's instance 2:\n%s", tmpl)
	}
	if names, file := unitNames(units); strings.Join(names, " ") != "r-net-default.service r-pull-worker.service r-worker@1.service r-worker@2.service r-worker@3.service r-web.service" ||
		file["r-worker@3.service"] != "r-worker@.service" {
		t.Errorf("the app's units: %q, files %q", names, file)
	}
	if !strings.Contains(text["r-web.service"], " r-worker@1.service r-worker@2.service r-worker@3.service\n") {
		t.Errorf("web's unit needs every replica:\n%s", text["r-web.service"])
	}
	o, err := instanceOptions(app, app.Service("worker"), "worker@2")
	if err != nil || o.Name != "r-worker-2" || o.NetworkAliases[0] != "worker" {
		t.Errorf("replica 2: name %q aliases %q, %v", o.Name, o.NetworkAliases, err)
	}
	if appContainerID("r", "worker@1") == appContainerID("r", "worker@2") {
		t.Error("replicas share a container ID")
	}
}

// TestServiceNetworksAndBuild: a service on two networks joins the first
// and is connected to the second, with its name and aliases on each; a
// service built from a context runs the image its build unit tags.
func TestServiceNetworksAndBuild(t *testing.T) {
	app, err := unitgen.Parse("/x/Shop.toml", []byte(`
[network.front]
[network.back]
[service.web]
build = "./web"
networks = { front = { aliases = ["www"] }, back = { aliases = ["web.back"] } }
`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := serviceOptions(app, app.Service("web"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Network != "Shop_front" || strings.Join(o.NetworkAliases, ",") != "web,www" {
		t.Errorf("network %q aliases %q", o.Network, o.NetworkAliases)
	}
	if len(o.Connected) != 1 || o.Connected[0].Name != "Shop_back" || strings.Join(o.Connected[0].Aliases, ",") != "web,web.back" {
		t.Errorf("connected %+v", o.Connected)
	}
	if o.Image != "shop-web" {
		t.Errorf("image %q, want the build's tag shop-web", o.Image)
	}
}

// TestWriteRemoveUnits: units written and enabled in a directory are
// removed with their links; a file of the same name that berth did not
// write is left alone.
func TestWriteRemoveUnits(t *testing.T) {
	dir := t.TempDir()
	units := []renderedUnit{
		{Name: "a-net-default.service", Text: "# Generated by berth; x\n"},
		{Name: "a-web.service", Text: "# Generated by berth; y\n", Links: []string{"multi-user.target.wants/a-web.service", "a-www.service"}},
		{Name: "a-job@.service", Text: "# Generated by berth; z\n", Instances: []string{"a-job@1.service", "a-job@2.service"},
			Links: []string{"multi-user.target.wants/a-job@1.service", "multi-user.target.wants/a-job@2.service"}},
	}
	if err := writeUnits(dir, units, true, true); err != nil {
		t.Fatal(err)
	}
	// A template's instances are enabled as systemctl enable does it.
	if l, err := os.Readlink(filepath.Join(dir, "multi-user.target.wants", "a-job@2.service")); err != nil || l != "../a-job@.service" {
		t.Fatalf("instance link %q, %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "multi-user.target.wants", "a-web.service")); err != nil || l != "../a-web.service" {
		t.Fatalf("link %q, %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "a-www.service")); err != nil || l != "a-web.service" {
		t.Fatalf("alias %q, %v", l, err)
	}
	mine := filepath.Join(dir, "a-net-default.service")
	os.WriteFile(mine, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	if err := removeUnits(dir, units); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a-web.service", "multi-user.target.wants/a-web.service", "multi-user.target.wants", "a-www.service",
		"a-job@.service", "multi-user.target.wants/a-job@1.service"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s is left", p)
		}
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a unit berth did not write was removed: %v", err)
	}
}
