package journal

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestSynchronize(t *testing.T) {
	tests := []struct {
		name    string
		reply   string // written after the request; "" writes nothing and waits
		close   bool   // close without replying
		timeout time.Duration
		wantErr string // substring; "" for success
		wantIs  error
	}{
		{name: "ok", reply: `{"parameters":{}}` + "\x00"},
		{name: "ok, parameters left out", reply: `{}` + "\x00"},
		{name: "varlink error", reply: `{"error":"io.systemd.System","parameters":{"errno":5}}` + "\x00", wantErr: `journald replied io.systemd.System {"errno":5}`},
		{name: "empty error name", reply: `{"error":"","parameters":{}}` + "\x00", wantErr: "journald replied"},
		{name: "not JSON", reply: "nope\x00", wantErr: "reply"},
		{name: "closed without a reply", close: true, wantErr: "EOF"},
		{name: "reply without NUL", reply: `{"parameters":{}}`, close: true, wantErr: "EOF"},
		{name: "no reply before ctx ends", timeout: 100 * time.Millisecond, wantErr: "deadline", wantIs: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t, &varlinkSocket)
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			request := make(chan string, 1)
			release := make(chan struct{})
			defer close(release)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					request <- err.Error()
					return
				}
				defer c.Close()
				req, err := bufio.NewReader(c).ReadString(0)
				if err != nil {
					request <- err.Error()
					return
				}
				request <- req
				if tt.reply != "" {
					c.Write([]byte(tt.reply))
				}
				if !tt.close {
					<-release
				}
			}()
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			err = Synchronize(ctx)
			// The exact call journalctl --sync makes in systemd 252.
			want := `{"method":"io.systemd.Journal.Synchronize","parameters":{}}` + "\x00"
			if got := <-request; got != want {
				t.Errorf("request %q, want %q", got, want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Synchronize: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Synchronize: %v, want an error with %q", err, tt.wantErr)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Fatalf("Synchronize: %v, want errors.Is %v", err, tt.wantIs)
			case err != nil && !strings.HasPrefix(err.Error(), "journal: synchronize: "):
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}
