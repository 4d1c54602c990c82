package unitproc

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berth/berth/machine"
	"github.com/berth/berth/machine/console"
	"github.com/berth/berth/machine/systemd"
)

// ConsoleMarker is the file a `run -it` client creates in the
// container's directory once it holds the terminal; __init waits for it
// (State.ConsoleWait) before the command runs.
const ConsoleMarker = "console-attached"

// consoleWait bounds __init's wait for that client.
const consoleWait = 10 * time.Second

// initConsole gives a -t container its terminal in __init: the one
// systemd kept for this unit and passed back (a restart), else a new
// one that systemd is given to keep (see package console).
func initConsole(rec *machine.Container, passed map[string]*os.File) (*console.Pty, error) {
	if m, s := passed["tty-master"], passed["tty-slave"]; m != nil && s != nil {
		return console.FromFiles(m, s)
	}
	p, err := console.Open()
	if err != nil {
		return nil, err
	}
	if err := console.SetSize(p.Master, rec.Options.ConsoleSize[0], rec.Options.ConsoleSize[1]); err != nil {
		p.Close()
		return nil, fmt.Errorf("terminal size: %w", err)
	}
	for _, f := range []struct {
		f    *os.File
		name string
	}{{p.Master, "tty-master"}, {p.Slave, "tty-slave"}} {
		if err := systemd.StoreFD(f.f, f.name); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// waitForConsoleClient waits until the client that asked for it holds
// the terminal (its marker in dir), or consoleWait has passed.
func waitForConsoleClient(dir string) {
	marker := filepath.Join(dir, ConsoleMarker)
	for deadline := time.Now().Add(consoleWait); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if os.Remove(marker) == nil {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "berth: warning: no client took the terminal in %v; the command runs all the same\n", consoleWait)
}

// initStdin makes the stdin pipe of a `run -i` container without -t
// whose client waits for it (State.ConsoleWait); else nothing.
func initStdin(rec *machine.Container) (r, w *os.File, err error) {
	if !rec.Options.Interactive || rec.Options.Tty || !rec.State.ConsoleWait {
		return nil, nil, nil
	}
	if r, w, err = os.Pipe(); err != nil {
		return nil, nil, fmt.Errorf("stdin pipe: %w", err)
	}
	return r, w, nil
}
