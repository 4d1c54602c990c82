package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const (
	work        = "/run/berth-bench"            // bundle, berth's copy, outputs; /run is a tmpfs in the testbed
	podmanStore = "/var/lib/containers/storage" // podman's default graphroot, where a tmpfs is mounted
	idleName    = "bench-idle"                  // the idle container of the memory check, in berth and podman
	crunID      = "berth-bench"
	settleMax   = 15 * time.Second // the longest an asynchronous cleanup may take
)

// command is one measured command line.
type command struct {
	label   string
	argv    []string
	settle  func(context.Context) error // untimed, after each run: wait for async cleanup
	env     []string                    // added to the environment
	out     *os.File                    // its stdout and stderr, truncated before each run
	samples []time.Duration
}

type bench struct {
	env       *environment
	berth     string // the private copy of the berth binary
	image     string // busybox.tar
	cleanups  []func()
	commands  []*command
	floor     *command
	berthRun  *command
	podmanRun *command
	berthNet  *command // on the default bridge with a published port
	podmanNet *command
	dockerRun *command // docker run through berth's API; nil without -docker
	apiUp     bool     // the bench started berth's API service (api.go)
}

func main() {
	os.Exit(run())
}

func run() int {
	berthBin := flag.String("berth", "bin/berth", "the berth binary to measure (a copy is run)")
	image := flag.String("image", "bin/images/busybox.tar", "the busybox rootfs tarball (make images)")
	n := flag.Int("n", 100, "measured runs of each command")
	warmup := flag.Int("warmup", 5, "unmeasured runs of each command first")
	doc := flag.String("doc", "", "rewrite the generated block of this markdown file (docs/BENCHMARKS.md)")
	rev := flag.String("rev", "", "the git revision berth was built from, for the report")
	phases := flag.Int("phases", 20, "runs of the floor and of berth run split into phases at their units' journal messages (0: none)")
	coldBuilds := flag.Int("cold-builds", 5, "measured cold builds of each builder (0: no build benchmark)")
	cachedBuilds := flag.Int("cached-builds", 10, "measured cached builds of each builder")
	pulls := flag.Int("pulls", 5, "measured rounds of the pull benchmark (0: none)")
	appRuns := flag.Int("apps", 10, "measured runs of berth up of a three-service app (0: none)")
	only := flag.String("only", "", "run only this benchmark: builds, pulls, apps or runs")
	docker := flag.String("docker", "", "the docker CLI for docker run through berth's API (empty: no such row)")
	flag.Parse()
	if flag.NArg() != 0 || *n < 1 || *warmup < 0 || !slices.Contains([]string{"", "builds", "pulls", "apps", "runs"}, *only) {
		flag.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "bench: FAILED: %v\n", err)
		return 1
	}
	if err := checkTestbed(); err != nil {
		return fail(err)
	}
	if err := enterScope(); err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	b := &bench{image: *image}
	defer b.cleanup()
	var err error
	if b.image, err = filepath.Abs(b.image); err != nil {
		return fail(err)
	}
	env, err := b.setup(ctx, *berthBin, *docker)
	if err != nil {
		return fail(err)
	}
	env.Runs, env.Warmup, env.Rev = *n, *warmup, *rev
	want := func(name string) bool { return *only == "" || *only == name }
	if *coldBuilds > 0 && want("builds") {
		bb, err := b.builds(ctx, *coldBuilds, max(1, *cachedBuilds))
		if err != nil {
			return fail(err)
		}
		fmt.Print(bb.text())
		if *doc != "" {
			if err := writeDoc(*doc, buildBlock, bb.markdown(env)); err != nil {
				return fail(err)
			}
		}
	}
	if *pulls > 0 && want("pulls") {
		pb, err := b.pulls(ctx, *pulls)
		if err != nil {
			return fail(err)
		}
		fmt.Print(pb.text())
		if *doc != "" {
			if err := writeDoc(*doc, pullBlock, pb.markdown(env)); err != nil {
				return fail(err)
			}
		}
	}
	if *appRuns > 0 && want("apps") {
		ab, err := b.apps(ctx, *appRuns)
		if err != nil {
			return fail(err)
		}
		fmt.Print(ab.text())
		if *doc != "" {
			if err := writeDoc(*doc, appsBlock, ab.markdown(env)); err != nil {
				return fail(err)
			}
		}
	}
	if !want("runs") {
		return 0
	}
	fmt.Printf("bench: %d warm-up and %d measured runs of each command, round-robin\n", *warmup, *n)
	if err := b.measure(ctx, *warmup, *n); err != nil {
		return fail(err)
	}
	b.stopAPI() // its process is no part of an idle container's cost
	var bds []*breakdown
	if *phases > 0 {
		if bds, err = b.breakdowns(ctx, *phases); err != nil {
			return fail(err)
		}
	}
	mem, err := b.memory(ctx)
	if err != nil {
		return fail(err)
	}
	env.LoadEnd = loadavg()
	r := b.report(env, mem)
	r.phases = bds
	fmt.Print(r.text())
	if *doc != "" {
		if err := writeDoc(*doc, runBlock, r.markdown()); err != nil {
			return fail(err)
		}
		fmt.Printf("bench: wrote %s\n", *doc)
	}
	return 0
}

// checkTestbed refuses to run where systemd is not PID 1 or outside a
// testbed: it mounts, installs units and runs podman as root.
func checkTestbed() error {
	if os.Getenv("BERTH_TESTBED") == "" {
		return errors.New("not inside a testbed (BERTH_TESTBED is unset): run it with `make bench`")
	}
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "systemd" {
		return fmt.Errorf("PID 1 is not systemd (%q)", strings.TrimSpace(string(comm)))
	}
	// `testbed exec` enters the testbed with a working directory that is
	// outside its root ("(unreachable)/work/main"); conmon then fails with
	// "Failed to get working directory". Resolve it again from inside.
	if wd, err := os.Getwd(); err == nil && filepath.IsAbs(wd) {
		if err := os.Chdir(wd); err != nil {
			return err
		}
	} else if err := os.Chdir("/"); err != nil {
		return err
	}
	return nil
}

// atExit registers f to run at the end, last registered first.
func (b *bench) atExit(f func()) { b.cleanups = append(b.cleanups, f) }

func (b *bench) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

// quiet runs argv and returns its trimmed stdout; a failure carries its
// stderr.
func quiet(ctx context.Context, argv ...string) (string, error) {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %v: %s%s", strings.Join(argv, " "), err, out, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// bestEffort runs argv for cleanup and says so when it fails.
func bestEffort(argv ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := quiet(ctx, argv...); err != nil {
		fmt.Fprintf(os.Stderr, "bench: cleanup: %v\n", err)
	}
}

// setup makes the image, the store and the bundle every command needs,
// and registers their removal.
func (b *bench) setup(ctx context.Context, berthBin, docker string) (*environment, error) {
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	b.atExit(func() { os.RemoveAll(work) })
	env := collectEnvironment(ctx)
	b.env = env

	// berth: a private copy of the binary, and the image.
	b.berth = filepath.Join(work, "berth")
	if err := copyFile(berthBin, b.berth, 0o755); err != nil {
		return nil, fmt.Errorf("copy berth: %w", err)
	}
	// and the small programs its containers' units run and their PID 1
	// starts as, where berth finds them (next to berth, as make build
	// leaves them).
	for _, name := range []string{"berth-nsinit", "berth-unit"} {
		if err := copyFile(filepath.Join(filepath.Dir(berthBin), name), filepath.Join(work, name), 0o755); err != nil {
			return nil, fmt.Errorf("copy %s (make build makes it next to berth): %w", name, err)
		}
	}
	v, err := quiet(ctx, b.berth, "--version")
	if err != nil {
		return nil, err
	}
	env.Berth = strings.TrimPrefix(v, "berth version ")
	if _, err := quiet(ctx, b.berth, "image", "import", b.image, "busybox"); err != nil {
		return nil, err
	}
	b.atExit(func() { bestEffort(b.berth, "rmi", "busybox") })

	// podman: its storage on a tmpfs of its own (overlayfs cannot have
	// its upper directory on the testbed's overlay root), the same rootfs.
	if err := os.MkdirAll(podmanStore, 0o700); err != nil {
		return nil, err
	}
	if err := syscall.Mount("tmpfs", podmanStore, "tmpfs", 0, "mode=0700"); err != nil {
		return nil, fmt.Errorf("mount tmpfs on %s: %w", podmanStore, err)
	}
	b.atExit(func() {
		// c/storage bind-mounts overlay/ onto itself: detach the tree.
		if err := syscall.Unmount(podmanStore, syscall.MNT_DETACH); err != nil {
			fmt.Fprintf(os.Stderr, "bench: cleanup: unmount %s: %v\n", podmanStore, err)
		}
		os.RemoveAll("/run/containers")
		os.RemoveAll("/run/libpod")
	})
	if _, err := quiet(ctx, "podman", "import", "-q", b.image, "localhost/busybox"); err != nil {
		return nil, err
	}
	b.atExit(func() { bestEffort("podman", "rmi", "-f", "localhost/busybox") })
	if env.PodmanSetup, err = quiet(ctx, "podman", "info", "--format",
		"{{.Store.GraphDriverName}} storage driver on a tmpfs at {{.Store.GraphRoot}}, cgroup manager {{.Host.CgroupManager}}, cgroups {{.Host.CgroupsVersion}}"); err != nil {
		return nil, err
	}

	// crun: the tarball unpacked, and `crun spec` running true.
	bundle := filepath.Join(work, "bundle")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		return nil, err
	}
	if _, err := quiet(ctx, "tar", "-xf", b.image, "-C", filepath.Join(bundle, "rootfs")); err != nil {
		return nil, err
	}
	if err := crunSpec(ctx, bundle); err != nil {
		return nil, err
	}
	b.atExit(func() { exec.Command("crun", "delete", "-f", crunID).Run() })

	berthSettle := func(ctx context.Context) error {
		return poll(ctx, "berth's --rm removal", func() (bool, error) {
			ids, err := quiet(ctx, b.berth, "ps", "-a", "-q")
			return ids == "", err
		})
	}
	podmanSettle := func(ctx context.Context) error {
		return poll(ctx, "podman's container cleanup", func() (bool, error) {
			return len(procsNamed("podman", "conmon")) == 0, nil
		})
	}
	b.floor = &command{label: "systemd-run (floor)", argv: []string{"systemd-run", "-P", "-q", "true"}}
	b.berthRun = &command{label: "berth run", argv: []string{b.berth, "run", "--rm", "--network", "none", "busybox", "true"}, settle: berthSettle}
	berthDetach := &command{label: "berth run -d", argv: []string{b.berth, "run", "-d", "--rm", "--network", "none", "busybox", "true"}, settle: berthSettle}
	b.podmanRun = &command{label: "podman run", argv: []string{"podman", "run", "--rm", "--runtime", "crun", "--network", "none", "localhost/busybox", "true"}, settle: podmanSettle}
	crunRun := &command{label: "crun run", argv: []string{"crun", "run", "--bundle", bundle, crunID}}
	// The network's cost (issue 6): the default bridge and one
	// published port, against --network none above.
	b.berthNet = &command{label: "berth run, bridge + port", argv: []string{b.berth, "run", "--rm", "-p", "18080:80", "busybox", "true"}, settle: berthSettle}
	b.podmanNet = &command{label: "podman run, bridge + port", argv: []string{"podman", "run", "--rm", "--runtime", "crun", "-p", "18081:80", "localhost/busybox", "true"}, settle: podmanSettle}
	b.commands = []*command{b.floor, b.berthRun, berthDetach, b.podmanRun, crunRun, b.berthNet, b.podmanNet}
	if docker != "" {
		if b.dockerRun, err = b.dockerRunCommand(ctx, docker, berthSettle); err != nil {
			return nil, err
		}
		b.commands = slices.Insert(b.commands, 4, b.dockerRun)
	}
	for i, c := range b.commands {
		f, err := os.Create(filepath.Join(work, fmt.Sprintf("out.%d", i)))
		if err != nil {
			return nil, err
		}
		c.out = f
		b.atExit(func() { f.Close() })
	}
	return env, nil
}

// crunSpec writes bundle/config.json: crun's default spec (read-only root,
// new pid, net, ipc, uts and mount namespaces), running `true` without a
// terminal.
func crunSpec(ctx context.Context, bundle string) error {
	if _, err := quiet(ctx, "crun", "spec", "--bundle", bundle); err != nil {
		return err
	}
	file := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("crun spec: %w", err)
	}
	proc, ok := spec["process"].(map[string]any)
	if !ok {
		return errors.New("crun spec: no process")
	}
	proc["args"], proc["terminal"] = []string{"true"}, false
	raw, err = json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(file, raw, 0o644)
}

// measure runs every command warmup times, then n times, round-robin
// with the order rotated each round.
func (b *bench) measure(ctx context.Context, warmup, n int) error {
	k := len(b.commands)
	for round := 0; round < warmup+n; round++ {
		for j := 0; j < k; j++ {
			c := b.commands[(round+j)%k]
			d, err := c.once(ctx)
			if err != nil {
				return err
			}
			if round >= warmup {
				c.samples = append(c.samples, d)
			}
		}
		if round == warmup-1 || (round >= warmup && (round-warmup+1)%25 == 0) {
			fmt.Printf("bench: %d/%d rounds\n", max(0, round-warmup+1), n)
		}
	}
	return nil
}

// once runs c and returns how long it took from fork to exit. Output
// goes to a file, not a pipe, so a grandchild that keeps it open is not
// waited for.
func (c *command) once(ctx context.Context) (time.Duration, error) {
	if err := c.out.Truncate(0); err != nil {
		return 0, err
	}
	if _, err := c.out.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	x := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	x.Stdout, x.Stderr = c.out, c.out
	if c.env != nil {
		x.Env = append(os.Environ(), c.env...)
	}
	start := time.Now()
	err := x.Run()
	d := time.Since(start)
	if err != nil {
		out, _ := os.ReadFile(c.out.Name())
		// The unit's side of a failure is in the journal.
		jl, _ := exec.Command("journalctl", "-q", "--no-pager", "-n", "15").CombinedOutput()
		return 0, fmt.Errorf("%s: %v\n%s\nthe journal's last lines:\n%s", strings.Join(c.argv, " "), err, out, jl)
	}
	if c.settle != nil {
		if err := c.settle(ctx); err != nil {
			return 0, fmt.Errorf("after %s: %w", strings.Join(c.argv, " "), err)
		}
	}
	return d, nil
}

// poll calls done every 5 ms until it is true, for at most settleMax.
func poll(ctx context.Context, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(settleMax)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still not done after %s", what, settleMax)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tabulate aligns rows of tab-separated cells.
func tabulate(w io.Writer, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
