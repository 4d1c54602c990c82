package integration

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// TestDockerSDK drives berth through its socket with Docker's Go SDK
// (the moby client package, as tools such as Testcontainers use it):
// version negotiation, create, start, list, inspect, wait, logs, remove,
// and the SDK's typed errors for what is not there. The SDK is linked
// into this test only, never into berth.
func TestDockerSDK(t *testing.T) {
	busybox(t)
	installAPISocket(t)
	defer run(t, "rm", "-f", "it_apisdk")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+apiSocket), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ping, err := cli.Ping(ctx)
	if err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if ping.APIVersion != "1.51" || ping.OSType != "linux" {
		t.Errorf("Ping: API %q, OS %q; want 1.51 on linux", ping.APIVersion, ping.OSType)
	}
	sv, err := cli.ServerVersion(ctx)
	if err != nil || sv.MinAPIVersion != "1.24" || !strings.HasPrefix(sv.Platform.Name, "berth") {
		t.Errorf("ServerVersion: %+v, %v", sv, err)
	}
	// (The SDK negotiates before its first request but a ping.)
	if v := cli.ClientVersion(); v != "1.51" {
		t.Errorf("the SDK negotiated API %s, want 1.51", v)
	}

	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image:  "busybox",
		Cmd:    []string{"sh", "-c", "echo from-sdk; exec sleep 300"},
		Env:    []string{"WHO=sdk"},
		Labels: map[string]string{"it.sdk": "yes"},
	}, &container.HostConfig{Resources: container.Resources{Memory: 32 << 20}}, nil, nil, "it_apisdk")
	if err != nil {
		t.Fatalf("ContainerCreate: %v", err)
	}
	if len(created.ID) != 64 {
		t.Errorf("ContainerCreate: ID %q", created.ID)
	}
	if s := inspect(t, "it_apisdk").State.Status; s != "created" {
		t.Errorf("after ContainerCreate berth says %s, want created", s)
	}
	_, err = cli.ContainerCreate(ctx, &container.Config{Image: "busybox"}, nil, nil, nil, "it_apisdk")
	if !errdefs.IsConflict(err) {
		t.Errorf("ContainerCreate with a name in use: %v, want a conflict error", err)
	}

	if err := cli.ContainerStart(ctx, "it_apisdk", container.StartOptions{}); err != nil {
		t.Fatalf("ContainerStart: %v", err)
	}
	if s := unitProp(t, "berth-it_apisdk.service", "ActiveState"); s != "active" {
		t.Errorf("berth-it_apisdk.service is %s, want active", s)
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "it.sdk=yes"))})
	if err != nil || len(list) != 1 || list[0].ID != created.ID || list[0].Names[0] != "/it_apisdk" || list[0].State != "running" || list[0].Image != "busybox" {
		t.Errorf("ContainerList by label: %+v, %v", list, err)
	}
	js, err := cli.ContainerInspect(ctx, "it_apisdk")
	if err != nil {
		t.Fatalf("ContainerInspect: %v", err)
	}
	if js.ID != created.ID || !js.State.Running || js.State.Pid <= 0 || js.HostConfig.Memory != 32<<20 ||
		js.Config.Labels["it.sdk"] != "yes" || !containsString(js.Config.Env, "WHO=sdk") {
		t.Errorf("ContainerInspect: ID %s, state %+v, memory %d, labels %v, env %v", js.ID, js.State, js.HostConfig.Memory, js.Config.Labels, js.Config.Env)
	}

	// wait: not-running blocks until the container ends; kill ends it.
	waitC, errC := cli.ContainerWait(ctx, "it_apisdk", container.WaitConditionNotRunning)
	select {
	case r := <-waitC:
		t.Fatalf("ContainerWait returned %+v while the container runs", r)
	case err := <-errC:
		t.Fatalf("ContainerWait: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if err := cli.ContainerKill(ctx, "it_apisdk", "KILL"); err != nil {
		t.Fatalf("ContainerKill: %v", err)
	}
	select {
	case r := <-waitC:
		if r.StatusCode != 137 || r.Error != nil {
			t.Errorf("ContainerWait: %+v, want exit 137 (SIGKILL)", r)
		}
	case err := <-errC:
		t.Fatalf("ContainerWait: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("ContainerWait did not return after the kill")
	}
	js, err = cli.ContainerInspect(ctx, "it_apisdk")
	if err != nil || js.State.Running || js.State.Status != "exited" || js.State.ExitCode != 137 {
		t.Errorf("ContainerInspect after the kill: %+v, %v", js.State, err)
	}
	logs, err := cli.ContainerLogs(ctx, "it_apisdk", container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("ContainerLogs: %v", err)
	}
	var stdout, stderr bytes.Buffer
	_, err = stdcopy.StdCopy(&stdout, &stderr, logs)
	logs.Close()
	if err != nil || stdout.String() != "from-sdk\n" || stderr.Len() != 0 {
		t.Errorf("ContainerLogs: stdout %q, stderr %q, %v", stdout.String(), stderr.String(), err)
	}

	if err := cli.ContainerRemove(ctx, "it_apisdk", container.RemoveOptions{}); err != nil {
		t.Fatalf("ContainerRemove: %v", err)
	}
	assertGone(t, created.ID, "it_apisdk")
	_, err = cli.ContainerInspect(ctx, "it_apisdk")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such container: it_apisdk") {
		t.Errorf("ContainerInspect of a removed container: %v, want a not-found error", err)
	}
	if err := cli.ContainerRemove(ctx, "it_apisdk", container.RemoveOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("ContainerRemove of a removed container: %v, want a not-found error", err)
	}
	// docker run's order: wait for the next exit, then start; the
	// command's own exit code comes back.
	created, err = cli.ContainerCreate(ctx, &container.Config{Image: "busybox", Cmd: []string{"sh", "-c", "exit 7"}}, nil, nil, nil, "it_apisdk")
	if err != nil {
		t.Fatalf("ContainerCreate: %v", err)
	}
	waitC, errC = cli.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("ContainerStart: %v", err)
	}
	select {
	case r := <-waitC:
		if r.StatusCode != 7 {
			t.Errorf("ContainerWait next-exit: %+v, want exit 7", r)
		}
	case err := <-errC:
		t.Fatalf("ContainerWait next-exit: %v", err)
	}
	if err := cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{}); err != nil {
		t.Errorf("ContainerRemove: %v", err)
	}

	_, err = cli.ContainerCreate(ctx, &container.Config{Image: "it/nosuch:1"}, nil, nil, nil, "")
	if !errdefs.IsNotFound(err) {
		t.Errorf("ContainerCreate of a missing image: %v, want a not-found error", err)
	}
	if _, err := cli.ImageInspect(ctx, "busybox"); err != nil {
		t.Errorf("ImageInspect busybox: %v", err)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
