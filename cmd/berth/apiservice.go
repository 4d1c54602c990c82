package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/machine/nsinit"
	"github.com/coreos/go-systemd/v22/activation"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// defaultAPISocket is where berth.socket listens and where the service
// listens itself when systemd passes it no socket.
const defaultAPISocket = "/run/berth/berth.sock"

func newSystemServiceCommand(g *globalOptions) *cobra.Command {
	var listen, group string
	var idle time.Duration
	c := &cobra.Command{
		Use:   "service [OPTIONS]",
		Short: "Serve the Docker Engine API (socket-activated by berth.socket)",
		Long: "Serve the Docker Engine API, so that the docker CLI and SDKs drive berth\n" +
			"(DOCKER_HOST=unix://" + defaultAPISocket + "). Given a socket by systemd (berth.socket)\n" +
			"it serves that one, else it listens on --host itself (0660, root). It holds no state:\n" +
			"containers stay systemd units, and it exits after --idle-timeout without requests.",
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			// exec enters containers: as berth exec, from a read-only
			// binary (the CVE-2019-5736 class, see nsinit). The
			// re-exec keeps the PID, so systemd's sockets stay ours.
			if err := nsinit.ReexecReadOnly(); err != nil {
				return err
			}
			ls, err := apiListeners(listen, group)
			if err != nil {
				return err
			}
			return serveAPI(c.Context(), newAPIServer(g), ls, idle)
		},
	}
	c.Flags().StringVarP(&listen, "host", "H", "unix://"+defaultAPISocket, "Socket to listen on when systemd passes none")
	c.Flags().StringVarP(&group, "group", "G", "", "Group that may use the socket besides root (when berth listens itself)")
	c.Flags().DurationVar(&idle, "idle-timeout", 5*time.Minute, "Exit after this long without a request (0: never)")
	return c
}

// apiListeners returns the sockets systemd passed (LISTEN_FDS), or
// listens on the unix socket of addr, 0660, owned by root and group (""
// is root's).
func apiListeners(addr, group string) ([]net.Listener, error) {
	ls, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("sockets from systemd: %w", err)
	}
	if len(ls) > 0 {
		return ls, nil
	}
	path, ok := strings.CutPrefix(addr, "unix://")
	if !ok {
		return nil, usageError{fmt.Errorf("invalid --host %q: berth serves unix://PATH only", addr)}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	old := unix.Umask(0o117)
	l, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			l.Close()
			return nil, usageError{fmt.Errorf("--group: %w", err)}
		}
		gid, _ := strconv.Atoi(g.Gid)
		if err := os.Chown(path, 0, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("socket %s for group %s: %w", path, group, err)
		}
	}
	return []net.Listener{l}, nil
}

// serveAPI serves h on ls until ctx ends or nothing was asked for idle
// (0: for ever). A request in progress (a log follow, a wait, an attach)
// keeps it up.
func serveAPI(ctx context.Context, h http.Handler, ls []net.Listener, idle time.Duration) error {
	var mu sync.Mutex
	busy, last := 0, time.Now()
	tracked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		busy++
		mu.Unlock()
		defer func() {
			mu.Lock()
			busy--
			last = time.Now()
			mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: tracked, ReadHeaderTimeout: 30 * time.Second, MaxHeaderBytes: 1 << 20}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func() { errc <- srv.Serve(l) }()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
		case <-ctx.Done():
			return srv.Close()
		case <-tick.C:
			mu.Lock()
			done := idle > 0 && busy == 0 && time.Since(last) >= idle
			mu.Unlock()
			if done {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return srv.Shutdown(sctx)
			}
		}
	}
}

func (s *apiServer) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("Docker-Experimental", "false")
	// The classic builder (POST /build), not BuildKit: the docker CLI
	// builds with it without asking for buildx.
	w.Header().Set("Builder-Version", "1")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", "0")
		return
	}
	w.Write([]byte("OK"))
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (s *apiServer) version(w http.ResponseWriter, r *http.Request) {
	v := types.Version{
		Platform:      struct{ Name string }{Name: "berth"},
		Version:       version,
		APIVersion:    apiMaxVersion,
		MinAPIVersion: apiMinVersion,
		GoVersion:     runtime.Version(),
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		KernelVersion: kernelRelease(),
	}
	v.Components = []types.ComponentVersion{{Name: "Engine", Version: version, Details: map[string]string{
		"ApiVersion": apiMaxVersion, "MinAPIVersion": apiMinVersion, "Os": v.Os, "Arch": v.Arch,
		"GoVersion": v.GoVersion, "KernelVersion": v.KernelVersion}}}
	writeJSON(w, http.StatusOK, v)
}

func (s *apiServer) info(w http.ResponseWriter, r *http.Request) {
	h, err := s.host(r)
	if err != nil {
		apiError(w, err)
		return
	}
	defer h.close()
	recs, err := h.cs.List()
	if err != nil {
		apiError(w, err)
		return
	}
	hostname, _ := os.Hostname()
	in := system.Info{
		ID: "berth", Name: hostname, ServerVersion: version, Driver: "overlay", LoggingDriver: "journald",
		CgroupDriver: "systemd", CgroupVersion: "2", KernelVersion: kernelRelease(), OSType: runtime.GOOS,
		Architecture: runtime.GOARCH, NCPU: runtime.NumCPU(), DockerRootDir: s.g.root,
		OperatingSystem: osPrettyName(), DefaultRuntime: "berth", IndexServerAddress: "https://index.docker.io/v1/",
		Containers: len(recs),
		// What berth's units can limit (MemoryMax, CPUQuota, TasksMax).
		MemoryLimit: true, CPUCfsPeriod: true, CPUCfsQuota: true, PidsLimit: true,
		// What docker info lists: berth's drivers, and no swarm (the 28
		// CLI prints the state as it comes: empty, without it).
		Plugins: system.PluginsInfo{Volume: []string{"local"}, Network: []string{"bridge", "host", "none"}, Log: []string{"journald"}},
		Swarm:   swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); err == nil {
		in.IPv4Forwarding = strings.TrimSpace(string(b)) == "1"
	}
	for _, rec := range recs {
		switch rec = h.refresh(r.Context(), rec); {
		case rec.State.Paused:
			in.ContainersPaused++
		case active(rec):
			in.ContainersRunning++
		default:
			in.ContainersStopped++
		}
	}
	if st, err := s.g.openStore(h.cmd); err == nil {
		if imgs, err := st.List(r.Context()); err == nil {
			in.Images = len(imgs)
		}
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		in.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	writeJSON(w, http.StatusOK, in)
}

// osPrettyName is os-release's PRETTY_NAME.
func osPrettyName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}
