package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	// For its initialiser, which runs long before main (see there).
	_ "github.com/berth/berth/cmd/internal/startwarm"
	"github.com/berth/berth/cmd/internal/unitproc"
	"github.com/berth/berth/imagestore"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/machine/nsinit"
	"github.com/spf13/cobra"
)

// Docker's exit codes for the engine itself; a container's own status
// passes through unchanged (126 and 127 come with berth run).
const (
	exitError  = 1   // the command failed (no such image…)
	exitEngine = 125 // bad flags or usage, or berth itself failed
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError marks errors in the command line itself.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCodeError carries an exit status chosen by a command (for example
// a container's own status).
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

type globalOptions struct {
	root string
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "berth",
		Short:         "Containers built into systemd",
		Long:          "berth runs containers as systemd units: Docker's images and CLI, with systemd owning every container.",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nSee '%s --help'.", err, c.CommandPath())}
	})
	defRoot := imagestore.DefaultRoot
	if r := os.Getenv("BERTH_ROOT"); r != "" {
		defRoot = r
	}
	root.PersistentFlags().StringVar(&g.root, "root", defRoot, "berth's state directory (env BERTH_ROOT)")
	root.AddCommand(newImageCommand(g), newImagesCommand(g), newRmiCommand(g), newImportCommand(g), newVersionCommand(),
		newRunCommand(g), newCreateCommand(g), newStartCommand(g), newStopCommand(g), newRestartCommand(g),
		newKillCommand(g), newRmCommand(g), newPsCommand(g), newLogsCommand(g), newInspectCommand(g),
		newWaitCommand(g), newGenerateCommand(g), newContainerCommand(g), newEventsCommand(g), newPortCommand(g), newExecCommand(g), newCpCommand(g), newTopCommand(g), newStatsCommand(g), newPauseCommand(g), newUnpauseCommand(g), newAttachCommand(g), newVolumeCommand(g), newUpCommand(g), newDownCommand(g), newPrepareCommand(g), newPullCommand(g), newPushCommand(g), newTagCommand(g), newSaveCommand(g), newLoadCommand(g), newNetworkCommand(g), newInitCommand(g), newCleanupCommand(g), newDNSCommand(g), newHealthCommand(g), newWaitHealthyCommand(g), newPullMissingCommand(g), newWaitCompletedCommand(g),
		newSystemCommand(g), newHistoryCommand(g), newLoginCommand(g), newLogoutCommand(g),
		newBuildCommand(g), newCommitCommand(g), newUpdateCommand(g), newRenameCommand(g))
	return root
}

func main() {
	// The container's PID 1 before exec: no CLI, no flags (see nsinit).
	if len(os.Args) == 2 && os.Args[1] == "__nsinit" {
		nsinit.Child()
	}
	// `berth exec` in a container with a user namespace (see nsinit).
	if len(os.Args) == 2 && os.Args[1] == nsinit.ExecStageArg {
		nsinit.ExecStage()
	}
	// The reader of a -t container's terminal (ttylog.go).
	if len(os.Args) == 2 && os.Args[1] == ttyRelayArg {
		os.Exit(ttyRelay())
	}
	// The unit's own processes (machine.UnitProperties runs them as
	// `berth --root ROOT __init|__cleanup ID`): straight to their work,
	// without building the CLI, on every container's path.
	if len(os.Args) == 5 && os.Args[1] == "--root" {
		g := &globalOptions{root: os.Args[2]}
		switch os.Args[3] {
		case "__init":
			os.Exit(exitStatus(unitproc.Init(g.root, os.Args[4]), os.Stderr))
		case "__cleanup":
			os.Exit(exitStatus(unitproc.Cleanup(g.root, os.Args[4]), os.Stderr))
		}
	}
	// Installed as /usr/lib/systemd/system-generators/berth-generator.
	if filepath.Base(os.Args[0]) == "berth-generator" {
		os.Exit(runGenerator(os.Args[1:]))
	}
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the CLI with args and returns the process exit status.
func execute(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return exitStatus(root.Execute(), stderr)
}

// exitStatus prints err, if any, to stderr with a hint where one helps,
// and returns the exit status it means: a container's own, or Docker's
// codes for the engine.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var xe unitproc.ExitError
	if errors.As(err, &xe) {
		return xe.Code // __init's or __cleanup's; its message is printed
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	fmt.Fprintf(stderr, "berth: %v\n", err)
	var sf startFailure
	if errors.As(err, &sf) {
		return sf.code
	}
	if hint := hintFor(err); hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", hint)
	}
	var ue usageError
	var ee engineError
	if errors.As(err, &ue) || errors.As(err, &ee) || isCobraUsage(err) {
		return exitEngine
	}
	return exitError
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong number of arguments), which it does not type.
func isCobraUsage(err error) bool {
	var ae argsError
	return errors.As(err, &ae)
}

// argsError is returned by our Args validators.
type argsError struct{ error }

func (e argsError) Unwrap() error { return e.error }

// exactArgs, minArgs and rangeArgs replace cobra's validators so that a
// wrong argument count is a usage error (exit 125) with a clear message.
func exactArgs(n int) cobra.PositionalArgs { return rangeArgs(n, n) }
func minArgs(n int) cobra.PositionalArgs   { return rangeArgs(n, -1) }
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) >= lo && (hi < 0 || len(args) <= hi) {
			return nil
		}
		want := fmt.Sprintf("%d argument(s)", lo)
		switch {
		case hi < 0:
			want = fmt.Sprintf("at least %d argument(s)", lo)
		case hi != lo:
			want = fmt.Sprintf("%d to %d arguments", lo, hi)
		}
		return argsError{fmt.Errorf("%q requires %s, got %d\nUsage: %s", c.CommandPath(), want, len(args), c.UseLine())}
	}
}

// hintFor suggests what to do about common failures.
func hintFor(err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "berth manages system state (/var/lib/berth, systemd units): run it as root"
	case errors.Is(err, errdefs.ErrUnavailable) && strings.Contains(err.Error(), "systemd"):
		return "on a machine without systemd as PID 1, `bin/testbed run NAME -- CMD` (contrib/testbed) boots one to try berth in"
	case errdefs.IsNotFound(err) && strings.Contains(err.Error(), "image"):
		return "`berth images` lists the images in the store"
	case errdefs.IsNotFound(err):
		return "`berth ps -a` lists the containers"
	}
	return ""
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the berth version",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			fmt.Fprintf(c.OutOrStdout(), "berth version %s\n", version)
			return nil
		},
	}
}
