// Command berth-nsinit is the first program a berth container runs in
// its new namespaces: `berth __init` (the unit's main process) starts it
// with the container's configuration on a socket pair, and it mounts the
// root file system, pivots into it, drops privileges, installs the
// seccomp filter the parent compiled, and execs the container's command
// (see package nsinit). It is berth's own code, as small as that work
// allows: every container start pays for starting it, and the berth CLI
// (with its image store, registry client and Dockerfile parser) costs
// several times as much to start. berth finds it next to its own binary
// or in ../libexec/berth/, and runs `berth __nsinit` when it is missing.
package main

import (
	"fmt"
	"os"

	"github.com/berth/berth/machine/nsinit"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "__nsinit" {
		nsinit.Child() // does not return
	}
	fmt.Fprintln(os.Stderr, "berth-nsinit: berth runs this program to start a container; it is not for use by hand")
	os.Exit(2)
}
