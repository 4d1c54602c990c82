package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
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
	if len(units) != 2 || units[0].Name != "shop-db.service" || units[1].Name != "shop-web.service" {
		t.Fatalf("units: %+v", units)
	}
	web := units[1].Text
	for _, want := range []string{
		"SourcePath=/etc/berth/shop.toml\n", "Requires=shop-db.service\n", "After=shop-db.service\n",
		"Description=berth app shop: service web (busybox)\n",
		"Documentation=https://example.com/%n\n", // raw directives pass as written
		`ExecStartPre=/usr/bin/berth "--root" "/var/lib/berth" "__prepare" "/etc/berth/shop.toml" "web"` + "\n",
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
	if !strings.Contains(units[0].Text, "Restart=always\n") || strings.Contains(units[0].Text, "Requires=") {
		t.Errorf("db unit:\n%s", units[0].Text)
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
	app, err := unitgen.Parse("/x/a.toml", []byte("[service.web]\nimage = \"busybox\"\ndepends_on = { ok = { condition = \"completed\" } }\n[service.ok]\nimage = \"busybox\"\nports = [\"8080:80\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	units, err := renderApp(app, "/x/a.toml", "/usr/bin/berth", "/var/lib/berth")
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), `service web: not supported yet: depends_on condition "completed"`) {
		t.Errorf("render of an app with a condition completed: %v", err)
	}
	if len(units) != 1 || units[0].Name != "a-ok.service" {
		t.Errorf("the supported service should still render: %+v", units)
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
	var names []string
	for _, u := range units {
		names = append(names, u.Name)
	}
	if strings.Join(names, " ") != "r-worker@1.service r-worker@2.service r-worker@3.service r-web.service" {
		t.Fatalf("units %q", names)
	}
	if !strings.Contains(units[1].Text, `"__prepare" "/x/r.toml" "worker@2"`) || !strings.Contains(units[1].Text, appContainerID("r", "worker@2")) {
		t.Errorf("worker@2's unit:\n%s", units[1].Text)
	}
	if !strings.Contains(units[3].Text, "Requires=r-worker@1.service r-worker@2.service r-worker@3.service") {
		t.Errorf("web's unit needs every replica:\n%s", units[3].Text)
	}
	o, err := instanceOptions(app, app.Service("worker"), "worker@2")
	if err != nil || o.Name != "r-worker-2" || o.NetworkAliases[0] != "worker" {
		t.Errorf("replica 2: name %q aliases %q, %v", o.Name, o.NetworkAliases, err)
	}
	if appContainerID("r", "worker@1") == appContainerID("r", "worker@2") {
		t.Error("replicas share a container ID")
	}
}
