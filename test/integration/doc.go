// Package integration holds berth's integration tests: they run inside
// the testbed (contrib/testbed), against the real systemd, D-Bus and
// journald that the testbed boots. `make test-integration` builds this
// package's test binary and runs it there.
//
// Outside the testbed every test skips, saying how to run it. Inside it
// nothing skips: a missing binary or service is a failure.
package integration
