// Command berth-unit is what systemd runs for a container's transient
// unit: `berth-unit --root ROOT --protocol N --cli BERTH __init ID` as its
// ExecStart and `berth-unit --root ROOT --protocol N __cleanup ID` as its
// ExecStopPost (see
// machine.UnitProperties and package unitproc). It is berth's own code,
// the same the CLI runs as `berth __init` and `berth __cleanup`, in a
// program without the CLI's image store, registry client and Dockerfile
// parser: both run on every container's path, and this one starts in a
// fraction of the CLI's time. berth uses it when it finds it next to
// its own binary or in ../libexec/berth/ (where packages install it),
// and runs itself otherwise.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/berth/berth/cmd/internal/unitproc"
	"github.com/berth/berth/machine"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var root, cli, proto string
	for len(args) > 2 && len(args[0]) > 2 && args[0][:2] == "--" {
		switch args[0] {
		case "--root":
			root = args[1]
		case "--cli":
			cli = args[1]
		case "--protocol":
			proto = args[1]
		default:
			return usage()
		}
		args = args[2:]
	}
	if root == "" || len(args) != 2 {
		return usage()
	}
	if cli != "" {
		unitproc.SetCLI(cli)
	}
	step := map[string]func(string, string) error{"__init": unitproc.Init, "__cleanup": unitproc.Cleanup}[args[0]]
	if step == nil {
		return usage()
	}
	if want := strconv.Itoa(machine.UnitProtocol); proto != want {
		if proto == "" {
			proto = "none"
		}
		fmt.Fprintf(os.Stderr, "berth: %s speaks protocol %s, and berth gave %s: install berth and %s from one build\n", unitproc.ProgramName, want, proto, unitproc.ProgramName)
		return 125
	}
	err := step(root, args[1])
	var xe unitproc.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &xe):
		return xe.Code // its message is printed
	default:
		fmt.Fprintf(os.Stderr, "berth: %v\n", err)
		return 1
	}
}

func usage() int {
	fmt.Fprintln(os.Stderr, "berth-unit: systemd runs this program for berth's containers (--root ROOT --protocol N [--cli BERTH] __init|__cleanup ID); it is not for use by hand")
	return 2
}
