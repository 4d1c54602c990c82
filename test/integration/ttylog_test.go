package integration

import (
	"strings"
	"testing"
	"time"
)

// TestTtyLogs: the output of a -t container is its log, as Docker's:
// `berth logs` has what it wrote detached, attached and before a
// restart; an attached client still sees everything, follows the
// container across a restart under its restart policy, and `berth top`
// shows the container's processes only.
func TestTtyLogs(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "-t", "--name", "it_ttylog", "busybox", "sh", "-c", "echo hello-tty; echo second")
	defer run(t, "rm", "-f", "it_ttylog")
	waitFor(t, 10*time.Second, "it_ttylog to exit", func() bool { return !inspect(t, "it_ttylog").State.Running })
	if out := ok(t, "logs", "it_ttylog"); !strings.Contains(out, "hello-tty") || !strings.Contains(out, "second") {
		t.Errorf("logs of a -t container: %q", out)
	}

	term := onTerminal(t, 24, 80, "run", "-it", "--name", "it_ttylog2", "busybox", "sh")
	defer run(t, "rm", "-f", "it_ttylog2")
	term.expect("/ # ")
	term.typeIn("echo typed-$((40+2))\r")
	term.expect("typed-42")
	if out := ok(t, "top", "it_ttylog2"); strings.Contains(out, "__ttylog") || !strings.Contains(out, "sh") {
		t.Errorf("top of a -t container:\n%s", out)
	}
	term.typeIn("exit 2\r")
	if code := term.exit(); code != 2 {
		t.Errorf("run -it: exit %d, want 2", code)
	}
	if out := ok(t, "logs", "it_ttylog2"); !strings.Contains(out, "typed-42") {
		t.Errorf("logs of an attached -it container: %q", out)
	}

	// A restart keeps the terminal: the client sees every run, the
	// first output of each included.
	term = onTerminal(t, 24, 80, "run", "-t", "--restart", "on-failure:2", "--name", "it_ttylog3", "busybox", "sh", "-c", "echo run-$(cat /proc/uptime | cut -d' ' -f1); sleep 0.5; exit 1")
	defer run(t, "rm", "-f", "it_ttylog3")
	term.exit()
	if n := strings.Count(term.seen.String(), "run-"); n != 3 {
		t.Errorf("a client across two restarts saw %d runs, want 3:\n%q", n, term.seen.String())
	}
	if n := strings.Count(ok(t, "logs", "it_ttylog3"), "run-"); n != 3 {
		t.Errorf("logs across two restarts: %d runs, want 3", n)
	}
}
