// Package testutil marks tests by the tier they need. Unit tests need
// nothing; root tests need euid 0 and are skipped elsewhere with the
// reason; integration tests need the testbed (contrib/testbed), which
// sets BERTH_TESTBED in the environment of everything it runs.
//
// Inside the testbed nothing is skipped: a missing requirement there is a
// failure, so a green integration run always means the tests ran.
//
// Test code only: no production package may import it.
package testutil
