package integration

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/machine/console"
)

// terminal is a berth command run on a pseudo-terminal of the test's, as
// in a user's terminal emulator: the test types on the master and reads
// what the command shows.
type terminal struct {
	t    *testing.T
	pty  *console.Pty
	cmd  *exec.Cmd
	mu   sync.Mutex
	seen bytes.Buffer
	from int // expect looks after this offset
}

func onTerminal(t *testing.T, rows, cols uint16, args ...string) *terminal {
	t.Helper()
	return onTerminalCmd(t, rows, cols, exec.Command(binary(t, "BERTH_BIN"), args...))
}

// onTerminalCmd is onTerminal for any command (the docker CLI).
func onTerminalCmd(t *testing.T, rows, cols uint16, c *exec.Cmd) *terminal {
	t.Helper()
	p, err := console.Open()
	if err != nil {
		t.Fatal(err)
	}
	console.SetSize(p.Master, rows, cols)
	c.Stdin, c.Stdout, c.Stderr = p.Slave, p.Slave, p.Slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	p.Slave.Close()
	term := &terminal{t: t, pty: p, cmd: c}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := p.Master.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.Process.Kill(); p.Master.Close() })
	return term
}

// expect waits until the terminal shows want (after what earlier
// expects matched).
func (term *terminal) expect(want string) {
	term.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		term.mu.Lock()
		s := term.seen.String()
		term.mu.Unlock()
		if i := strings.Index(s[term.from:], want); i >= 0 {
			term.from += i + len(want)
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal never showed %q; it shows:\n%q", want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (term *terminal) typeIn(s string) {
	term.t.Helper()
	if _, err := term.pty.Master.Write([]byte(s)); err != nil {
		term.t.Fatal(err)
	}
}

// exit waits for the command and returns its exit status.
func (term *terminal) exit() int {
	term.t.Helper()
	done := make(chan error, 1)
	go func() { done <- term.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			term.t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		term.t.Fatalf("berth %v did not exit; the terminal shows:\n%q", term.cmd.Args, term.seen.String())
		return -1
	}
}

// TestRunTty: `berth run -it` gives the container a real terminal: a
// prompt, its size and its changes (stty size), Ctrl-C to the
// foreground command, and the shell's exit code as berth's.
func TestRunTty(t *testing.T) {
	busybox(t)
	term := onTerminal(t, 24, 80, "run", "-it", "--rm", "--name", "it_tty", "busybox", "sh")
	defer run(t, "rm", "-f", "it_tty")
	term.expect("/ # ")
	term.typeIn("stty size; [ -t 0 ] && echo is-a-tty\r")
	term.expect("24 80")
	term.expect("is-a-tty")
	console.SetSize(term.pty.Master, 40, 100) // the user resizes the window
	time.Sleep(200 * time.Millisecond)
	term.typeIn("stty size\r")
	term.expect("40 100")
	term.typeIn("sleep 100\r")
	time.Sleep(300 * time.Millisecond)
	term.typeIn("\x03") // Ctrl-C
	term.typeIn("echo status=$?\r")
	term.expect("status=130")
	term.typeIn("exit 3\r")
	if code := term.exit(); code != 3 {
		t.Errorf("berth run -it: exit %d, want the shell's 3", code)
	}
}

// TestAttachTty: Ctrl-P Ctrl-Q leaves a -it container running, `berth
// attach` takes its terminal again, and returns its exit code; a -t
// container's short output is not lost.
func TestAttachTty(t *testing.T) {
	busybox(t)
	term := onTerminal(t, 24, 80, "run", "-it", "--name", "it_tty2", "busybox", "sh")
	defer run(t, "rm", "-f", "it_tty2")
	term.expect("/ # ")
	term.typeIn("X=kept\r")
	term.typeIn("\x10\x11") // Ctrl-P Ctrl-Q
	if code := term.exit(); code != 0 {
		t.Fatalf("detach: exit %d", code)
	}
	if st := inspect(t, "it_tty2").State; !st.Running {
		t.Fatalf("after detach the container is not running: %+v", st)
	}
	if out := ok(t, "inspect", "it_tty2"); !strings.Contains(out, `"Tty": true`) || !strings.Contains(out, `"OpenStdin": true`) {
		t.Errorf("inspect of a -it container lacks Config.Tty and OpenStdin:\n%s", out)
	}
	// A client killed (SIGTERM) leaves the container running too.
	term = onTerminal(t, 24, 80, "attach", "it_tty2")
	term.typeIn("echo first-$X\r")
	term.expect("first-kept")
	term.cmd.Process.Signal(syscall.SIGTERM)
	if code := term.exit(); code != 0 {
		t.Errorf("attach killed with SIGTERM: exit %d", code)
	}
	if st := inspect(t, "it_tty2").State; !st.Running {
		t.Fatalf("after the client's SIGTERM the container is not running: %+v", st)
	}
	term = onTerminal(t, 30, 90, "attach", "it_tty2")
	term.typeIn("echo back-$X; stty size\r")
	term.expect("back-kept")
	term.expect("30 90")
	term.typeIn("exit 4\r")
	if code := term.exit(); code != 4 {
		t.Errorf("berth attach: exit %d, want the shell's 4", code)
	}
	if r := run(t, "attach", "it_tty2"); r.code != 1 || !strings.Contains(r.stderr, "cannot attach to a stopped container") {
		t.Errorf("attach to a stopped container: exit %d, %q", r.code, r.stderr)
	}

	if r := run(t, "run", "-it", "--rm", "busybox", "true"); r.code != 1 || !strings.Contains(r.stderr, "the input device is not a TTY") {
		t.Errorf("run -it without a terminal: exit %d, %q", r.code, r.stderr)
	}

	// -t without -i, output to a pipe: all of a quick command's output.
	out := ok(t, "run", "-t", "--rm", "busybox", "sh", "-c", "echo one; echo two")
	if out != "one\r\ntwo\r\n" {
		t.Errorf("run -t: %q, want both lines (a terminal's \\r\\n)", out)
	}
}

// TestExecTty: `berth exec -it` in a running container shows a prompt on
// the user's terminal, follows its size, and returns the exit code.
func TestExecTty(t *testing.T) {
	busybox(t)
	ok(t, "run", "-d", "--name", "it_exectty", "busybox", "sleep", "1000")
	defer run(t, "rm", "-f", "it_exectty")
	term := onTerminal(t, 24, 80, "exec", "-it", "it_exectty", "sh")
	term.expect("/ # ")
	term.typeIn("stty size\r")
	term.expect("24 80")
	console.SetSize(term.pty.Master, 50, 120)
	time.Sleep(200 * time.Millisecond)
	term.typeIn("stty size\r")
	term.expect("50 120")
	term.typeIn("exit 5\r")
	if code := term.exit(); code != 5 {
		t.Errorf("berth exec -it: exit %d, want 5", code)
	}
}

// TestStartAttachTty: a container created with -it starts attached to
// the terminal with `start -a`, as `run -it` does.
func TestStartAttachTty(t *testing.T) {
	busybox(t)
	ok(t, "create", "-it", "--name", "it_tty3", "busybox", "sh")
	defer run(t, "rm", "-f", "it_tty3")
	term := onTerminal(t, 24, 80, "start", "-a", "it_tty3")
	term.expect("/ # ")
	term.typeIn("exit 6\r")
	if code := term.exit(); code != 6 {
		t.Errorf("berth start -a: exit %d, want 6", code)
	}
}

// TestRunInteractivePipe: `berth run -i` without -t feeds berth's stdin
// to the container, which sees its end, and returns the exit code.
func TestRunInteractivePipe(t *testing.T) {
	busybox(t)
	for _, tc := range []struct {
		in, script, out string
		code            int
	}{
		{"hello\nworld\n", "cat", "hello\nworld\n", 0},
		{"a\nb\nc\n", "wc -l", "3\n", 0},
		{"7\n", "read x; exit $x", "", 7},
		{"", "cat; echo eof-seen", "eof-seen\n", 0},
	} {
		c := exec.Command(binary(t, "BERTH_BIN"), "run", "-i", "--rm", "busybox", "sh", "-c", tc.script)
		c.Stdin = strings.NewReader(tc.in)
		out, err := c.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if string(out) != tc.out || code != tc.code {
			t.Errorf("run -i sh -c %q with %q: %q, exit %d; want %q, %d", tc.script, tc.in, out, code, tc.out, tc.code)
		}
	}
}
