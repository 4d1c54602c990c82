// Command berth-unit is what systemd runs for a container's transient
// unit: `berth-unit --root ROOT --cli BERTH __init ID` as its ExecStart
// and `berth-unit --root ROOT __cleanup ID` as its ExecStopPost (see
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

	"github.com/berth/berth/cmd/internal/unitproc"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var root, cli string
	for len(args) > 2 && len(args[0]) > 2 && args[0][:2] == "--" {
		switch args[0] {
		case "--root":
			root = args[1]
		case "--cli":
			cli = args[1]
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
	var err error
	switch args[0] {
	case "__init":
		err = unitproc.Init(root, args[1])
	case "__cleanup":
		err = unitproc.Cleanup(root, args[1])
	default:
		return usage()
	}
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
	fmt.Fprintln(os.Stderr, "berth-unit: systemd runs this program for berth's containers (--root ROOT [--cli BERTH] __init|__cleanup ID); it is not for use by hand")
	return 2
}
