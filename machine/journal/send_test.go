package journal

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/errdefs"
	"golang.org/x/sys/unix"
)

// datagram is what a fake journald received: the data, or the content of
// the one memfd passed instead.
type datagram struct {
	data  []byte
	memfd bool
	seals int
}

// receive reads one datagram from conn, following a passed fd.
func receive(t *testing.T, conn *net.UnixConn) datagram {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("fake journald: %v", err)
	}
	if oobn == 0 {
		return datagram{data: buf[:n]}
	}
	if n != 0 {
		t.Errorf("a datagram with an fd also carries %d bytes of data; journald ignores such", n)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %v %v", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("want one fd, got %v %v", fds, err)
	}
	f := os.NewFile(uintptr(fds[0]), "memfd")
	defer f.Close()
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		t.Fatalf("F_GET_SEALS: %v (not a memfd?)", err)
	}
	// The sender's writes left the shared offset at the end; journald
	// mmaps the memfd, so read from 0 likewise.
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(io.NewSectionReader(f, 0, st.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return datagram{data: data, memfd: true, seals: seals}
}

func TestSend(t *testing.T) {
	big := strings.Repeat("x", 4<<20) // above the default socket send buffer: EMSGSIZE
	allSeals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	tests := []struct {
		name      string
		fields    []Field
		threshold int // maxDatagram; 0 keeps the default
		want      string
		wantMemfd bool
	}{
		{
			name:   "plain",
			fields: []Field{{"MESSAGE", "hello world"}, {"PRIORITY", "6"}, {"BERTH_ID", "abc"}},
			want:   "MESSAGE=hello world\nPRIORITY=6\nBERTH_ID=abc\n",
		},
		{
			name:   "empty value and '=' in a value",
			fields: []Field{{"EMPTY", ""}, {"EQ", "a=b"}},
			want:   "EMPTY=\nEQ=a=b\n",
		},
		{
			name:   "newline: binary form",
			fields: []Field{{"MESSAGE", "two\nlines"}, {"X", "y"}},
			want:   "MESSAGE\n\x09\x00\x00\x00\x00\x00\x00\x00two\nlines\nX=y\n",
		},
		{
			name:   "only a newline",
			fields: []Field{{"NL", "\n"}},
			want:   "NL\n\x01\x00\x00\x00\x00\x00\x00\x00\n\n",
		},
		{
			name:   "binary without newline stays in the plain form",
			fields: []Field{{"B", "a\x00\x01b"}},
			want:   "B=a\x00\x01b\n",
		},
		{
			name:   "field given twice",
			fields: []Field{{"TAG", "a"}, {"TAG", "b"}},
			want:   "TAG=a\nTAG=b\n",
		},
		{
			name:      "above the threshold: memfd",
			fields:    []Field{{"MESSAGE", "in a memfd"}, {"NL", "a\nb"}},
			threshold: 8,
			want:      "MESSAGE=in a memfd\nNL\n\x03\x00\x00\x00\x00\x00\x00\x00a\nb\n",
			wantMemfd: true,
		},
		{
			name:      "EMSGSIZE: memfd",
			fields:    []Field{{"MESSAGE", big}},
			want:      "MESSAGE=" + big + "\n",
			wantMemfd: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t, &nativeSocket)
			if tt.threshold > 0 {
				old := maxDatagram
				maxDatagram = tt.threshold
				defer func() { maxDatagram = old }()
			}
			srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := Send(tt.fields...); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := receive(t, srv)
			if got.memfd != tt.wantMemfd {
				t.Errorf("sent through a memfd: %v, want %v", got.memfd, tt.wantMemfd)
			}
			if got.memfd && got.seals&allSeals != allSeals {
				t.Errorf("memfd seals %#x, want %#x set", got.seals, allSeals)
			}
			if !bytes.Equal(got.data, []byte(tt.want)) {
				t.Errorf("sent %s\nwant %s", abbrev(got.data), abbrev([]byte(tt.want)))
			}
		})
	}
}

func abbrev(b []byte) string {
	if len(b) > 200 {
		return strings.ReplaceAll(string(b[:100]), "\n", `\n`) + "..." + strings.ReplaceAll(string(b[len(b)-100:]), "\n", `\n`)
	}
	return strings.ReplaceAll(string(b), "\n", `\n`)
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name   string
		fields []Field
		listen bool
		want   error
	}{
		{"no fields", nil, true, errdefs.ErrInvalid},
		{"lower case", []Field{{"message", "x"}}, true, errdefs.ErrInvalid},
		{"trusted field", []Field{{"_PID", "1"}}, true, errdefs.ErrInvalid},
		{"empty name", []Field{{"", "x"}}, true, errdefs.ErrInvalid},
		{"leading digit", []Field{{"1A", "x"}}, true, errdefs.ErrInvalid},
		{"dash", []Field{{"A-B", "x"}}, true, errdefs.ErrInvalid},
		{"65 bytes", []Field{{strings.Repeat("A", 65), "x"}}, true, errdefs.ErrInvalid},
		{"one bad among good", []Field{{"MESSAGE", "x"}, {"Bad", "y"}}, true, errdefs.ErrInvalid},
		{"no journald", []Field{{"MESSAGE", "x"}}, false, unix.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t, &nativeSocket)
			if tt.listen {
				srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
			}
			err := Send(tt.fields...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Send: %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "journal: send") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestValidNameMax(t *testing.T) {
	if !validName(strings.Repeat("A", 64)) || !validName("A_1") {
		t.Error("valid names refused")
	}
}
