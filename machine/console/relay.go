package console

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// The output of a -t container is its log too, as Docker's: a relay
// (`berth __ttylog`, started by the unit's __init, one process in the
// unit beside the container) is the only reader of the terminal's
// master. It copies what it reads to the container's journal stream
// (its log) and to every client connected on its socket (run -it,
// attach); the clients still write their input and window size to
// their own copy of the master (Fetch). Two readers of one master would
// each get part of the output, so a client never reads the master
// while the relay runs. Output while no client is attached is in the
// log only, as with Docker.

// RelayGreeting is the first byte a client reads from the relay: it is
// registered, and every byte the terminal shows from then on reaches
// it. A client that must not miss the container's first output (run
// -it) waits for it before letting the command run.
const RelayGreeting = 0

// clientWriteTimeout bounds a write to one client: a client that does
// not read for that long is dropped, so it cannot stall the log.
const clientWriteTimeout = 2 * time.Second

// Relay copies master to log and to every client that connects on l,
// until master fails (the terminal is hung up) or, once done is
// closed, master has nothing more to read within drain. It then closes
// l and every client, which is their end of the output. master should
// be non-blocking (os.NewFile on a non-blocking descriptor) for drain to
// work.
func Relay(master *os.File, log io.Writer, l net.Listener, done <-chan struct{}, drain time.Duration) error {
	var mu sync.Mutex
	clients := map[net.Conn]bool{}
	closed := false
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				c.Close()
			} else {
				// The greeting tells the client that it gets everything
				// from here on (see RelayGreeting).
				c.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
				if _, err := c.Write([]byte{RelayGreeting}); err == nil {
					clients[c] = true
				} else {
					c.Close()
				}
			}
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		closed = true
		for c := range clients {
			c.Close()
		}
		mu.Unlock()
		l.Close()
	}()
	go func() {
		<-done
		master.SetReadDeadline(time.Now().Add(drain))
	}()
	buf := make([]byte, 32*1024)
	for {
		n, err := master.Read(buf)
		if n > 0 {
			log.Write(buf[:n])
			mu.Lock()
			for c := range clients {
				c.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
				if _, err := c.Write(buf[:n]); err != nil {
					c.Close()
					delete(clients, c)
				}
			}
			mu.Unlock()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return nil // EIO: hung up
		}
	}
}
