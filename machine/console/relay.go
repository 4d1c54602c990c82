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

// A client starts by writing one byte, RelayNew or RelayFollow, and
// then reads RelayGreeting: from then on it gets every byte the terminal
// shows. A client that must not miss the container's first output (run
// -it) waits for the greeting before it lets the command run. A client
// that follows a container across a restart (its relay ended, a new one
// came) cannot have been there when the new run began: with RelayFollow
// it first gets what the terminal showed since this relay started (up to
// relayBacklog), as it would have found it in the terminal's buffer.
const (
	RelayNew      = 'N'
	RelayFollow   = 'F'
	RelayGreeting = 0
)

// relayBacklog bounds what a relay keeps for a following client.
const relayBacklog = 64 * 1024

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
	var backlog []byte // the first relayBacklog bytes, for RelayFollow
	register := func(c net.Conn) {
		var mode [1]byte
		c.SetReadDeadline(time.Now().Add(clientWriteTimeout))
		if _, err := io.ReadFull(c, mode[:]); err != nil {
			c.Close()
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if closed {
			c.Close()
			return
		}
		msg := []byte{RelayGreeting}
		if mode[0] == RelayFollow {
			msg = append(msg, backlog...)
		}
		c.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
		if _, err := c.Write(msg); err != nil {
			c.Close()
			return
		}
		clients[c] = true
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go register(c)
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
			if len(backlog) < relayBacklog {
				backlog = append(backlog, buf[:min(n, relayBacklog-len(backlog))]...)
			}
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
