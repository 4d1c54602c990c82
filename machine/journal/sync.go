package journal

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// syncRequest is the Varlink call, terminated by NUL on the wire.
const syncRequest = `{"method":"io.systemd.Journal.Synchronize","parameters":{}}`

// Synchronize asks journald to process and write everything it has
// received so far and returns when it has: the Varlink call
// io.systemd.Journal.Synchronize on /run/systemd/journal/io.systemd.journal,
// what `journalctl --sync` does in systemd 252. The socket is root's only.
// A Varlink error in the reply is returned as an error naming it.
func Synchronize(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", varlinkSocket)
	if err != nil {
		return fmt.Errorf("journal: synchronize: %w: %w", errdefs.ErrUnavailable, err)
	}
	defer conn.Close()
	// Unblock the write or read below when ctx ends.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	reply, err := func() ([]byte, error) {
		if _, err := conn.Write([]byte(syncRequest + "\x00")); err != nil {
			return nil, err
		}
		return bufio.NewReader(conn).ReadBytes(0)
	}()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("journal: synchronize: %w", err)
	}
	var r struct {
		Error      *string         `json:"error"`
		Parameters json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(reply[:len(reply)-1], &r); err != nil {
		return fmt.Errorf("journal: synchronize: reply %q: %w", reply, err)
	}
	if r.Error != nil {
		return fmt.Errorf("journal: synchronize: journald replied %s %s", *r.Error, r.Parameters)
	}
	return nil
}
