package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// apiUnit runs berth's Engine API service during the bench, as
// berth.socket starts it (a unit of its own, KillMode=process), but
// listening itself on apiSocket and without the idle exit, so that no
// measured run pays for its start.
const (
	apiUnit   = "berth-bench-api.service"
	apiSocket = work + "/api.sock"
)

// dockerRunCommand starts berth's API service and returns the command `docker
// run --rm --network none busybox true` through its socket, with the
// docker CLI docker (issue 12's peer of berth run and podman run): the
// same container as berth run's, and the API's cost on top of it.
func (b *bench) dockerRunCommand(ctx context.Context, docker string, settle func(context.Context) error) (*command, error) {
	if _, err := quiet(ctx, docker, "--version"); err != nil {
		return nil, fmt.Errorf("the docker CLI (-docker): %w", err)
	}
	if _, err := quiet(ctx, "systemd-run", "-q", "--unit", apiUnit, "-p", "KillMode=process", "--",
		b.berth, "system", "service", "-H", "unix://"+apiSocket, "--idle-timeout", "0"); err != nil {
		return nil, err
	}
	b.apiUp = true
	b.atExit(b.stopAPI)
	if err := poll(ctx, "the API's socket", func() (bool, error) {
		_, err := os.Stat(apiSocket)
		return err == nil, nil
	}); err != nil {
		return nil, err
	}
	env := []string{"DOCKER_HOST=unix://" + apiSocket, "DOCKER_CONFIG=" + filepath.Join(work, "docker-config")}
	// The service answers before the first measured run.
	c := exec.CommandContext(ctx, docker, "version", "--format", "{{.Server.Platform.Name}} {{.Server.APIVersion}}")
	c.Env = append(os.Environ(), env...)
	out, err := c.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "berth") {
		return nil, fmt.Errorf("docker version through %s: %v: %s", apiSocket, err, out)
	}
	b.env.Docker = strings.TrimPrefix(firstLine(ctx, docker, "--version"), "Docker version ")
	return &command{label: "docker run (berth's API)", argv: []string{docker, "run", "--rm", "--network", "none", "busybox", "true"},
		env: env, settle: settle}, nil
}

// apiVerdict compares docker run through berth's API with berth run.
func (r *report) apiVerdict() string {
	d := r.docker.p50 - r.berth.p50
	return fmt.Sprintf("`docker run` through berth's API against `berth run` (p50): **%.2f×** (%s more); against `podman run`: **%.2f×**",
		float64(r.docker.p50)/float64(r.berth.p50), ms(d), float64(r.docker.p50)/float64(r.podman.p50))
}

// stopAPI stops the API service, if the bench started it.
func (b *bench) stopAPI() {
	if !b.apiUp {
		return
	}
	b.apiUp = false
	bestEffort("systemctl", "stop", apiUnit)
	exec.Command("systemctl", "reset-failed", apiUnit).Run()
}
