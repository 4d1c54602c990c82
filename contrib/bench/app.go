package main

import (
	"context"
	"os"
	"path/filepath"
)

// The app benchmark (issue 7): `berth up` of a three-service app, web →
// api → db with a named volume, a user network and a published port, until
// every service's unit is active ("all ready": berth up returns once the
// start job of each service's unit is done, and a unit is active once its
// container runs). Each run starts from nothing: the settle step, untimed,
// is `berth down -v`, which removes the units, containers, network and
// volume, so every `up` also creates them.
//
// To measure it, append the command to b.commands in setup:
//
//	app, err := b.appUpCommand()
//	if err != nil {
//		return nil, err
//	}
//	b.commands = append(b.commands, app)

// benchApp is the app: busybox only, so that it runs offline.
const benchApp = `
[network.back]

[volume.dbdata]

[service.db]
image = "busybox"
command = ["sh", "-c", "trap 'exit 0' TERM; while :; do date >> /data/log; sleep 1; done"]
volumes = ["dbdata:/data"]
networks = ["back"]
stop_timeout = 1

[service.api]
image = "busybox"
command = "httpd -f -p 8080 -h /var/www"
networks = ["back"]
depends_on = ["db"]
stop_timeout = 1

[service.web]
image = "busybox"
command = "httpd -f -p 80 -h /var/www"
networks = ["back"]
ports = ["18099:80"]
depends_on = ["api"]
stop_timeout = 1
`

// appUpCommand writes the app to the work directory and returns the
// measured command, `berth up -f FILE`, whose settle step takes the app
// down again; the app is taken down at exit too.
func (b *bench) appUpCommand() (*command, error) {
	file := filepath.Join(work, "benchapp.toml")
	if err := os.WriteFile(file, []byte(benchApp), 0o644); err != nil {
		return nil, err
	}
	down := []string{b.berth, "down", "-v", "-f", file}
	b.atExit(func() { bestEffort(down...) })
	return &command{
		label: "berth up (3 services)",
		argv:  []string{b.berth, "up", "-f", file},
		settle: func(ctx context.Context) error {
			_, err := quiet(ctx, down...)
			return err
		},
	}, nil
}
