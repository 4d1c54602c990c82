package main

import (
	"fmt"
	"os"

	"github.com/berth/berth/machine"
)

// readSeccompOpt is the value of --security-opt seccomp=V: "unconfined",
// or a file in Docker's profile format whose text is kept in the
// container's options, as Docker's CLI keeps it.
func readSeccompOpt(v string) (string, error) {
	if v == machine.SeccompUnconfined {
		return v, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("seccomp profile %s is empty", v)
	}
	return string(b), nil
}
