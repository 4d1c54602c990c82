package console

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Pty is a pseudo-terminal: Master and Slave ends, the slave's number
// (Index, as in /dev/pts/N) and its devpts instance (Dev, st_dev), which
// identify it among the masters systemd holds.
type Pty struct {
	Master, Slave *os.File
	Index         int
	Dev           uint64
}

// Open opens a new pseudo-terminal on the host's /dev/ptmx.
func Open() (*Pty, error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open a terminal: %w", err)
	}
	master := os.NewFile(uintptr(m), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, fmt.Errorf("open a terminal: unlock: %w", err)
	}
	sfd, err := peer(m)
	if err != nil {
		master.Close()
		return nil, err
	}
	p := &Pty{Master: master, Slave: os.NewFile(uintptr(sfd), "pty")}
	if err := p.identify(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// peer opens the slave of master m (TIOCGPTPEER: no path lookup).
func peer(m int) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return -1, fmt.Errorf("open a terminal's slave: %w", errno)
	}
	return int(fd), nil
}

// FromFiles makes a Pty of a master and slave kept elsewhere (systemd's
// file descriptor store, on a restart).
func FromFiles(master, slave *os.File) (*Pty, error) {
	p := &Pty{Master: master, Slave: slave}
	return p, p.identify()
}

func (p *Pty) identify() error {
	n, err := unix.IoctlGetInt(int(p.Master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("terminal number: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(p.Slave.Fd()), &st); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	p.Index, p.Dev = n, st.Dev
	return nil
}

// Close closes both ends.
func (p *Pty) Close() {
	p.Master.Close()
	p.Slave.Close()
}

// SetSize sets the terminal's size; 0 leaves it as it is.
func SetSize(f *os.File, rows, cols uint16) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	return unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}

// Size is the size of the terminal f, if it is one.
func Size(f *os.File) (rows, cols uint16, ok bool) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0, false
	}
	return ws.Row, ws.Col, true
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// MakeRaw puts the terminal f in raw mode, as cfmakeraw(3), and returns
// a function that restores it.
func MakeRaw(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
