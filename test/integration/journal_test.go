package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/machine/journal"
)

// journalID returns a value unique to this run, to match entries by.
func journalID(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// readAll reads the entries q selects, after syncing journald.
func readAll(t *testing.T, ctx context.Context, q journal.Query) []journal.Entry {
	t.Helper()
	var got []journal.Entry
	if err := journal.Read(ctx, q, func(e journal.Entry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatalf("Read %+v: %v", q, err)
	}
	return got
}

// TestJournalSendStreamRead writes through both of journald's write
// interfaces, the native socket (a plain, a multi-line, a binary and a
// memfd-sized entry) and a stdout stream, syncs, and reads it all back in
// order through journalctl.
func TestJournalSendStreamRead(t *testing.T) {
	testutil.RequiresTestbed(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := journalID(t)
	ident := "berth-it-" + id
	start := time.Now()

	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB: too large for a datagram
	sends := [][]journal.Field{
		{{Name: "MESSAGE", Value: "native"}, {Name: "PRIORITY", Value: "5"}, {Name: "BERTH_TEST_ID", Value: id}, {Name: "BERTH_TEST_TAG", Value: "a"}, {Name: "BERTH_TEST_TAG", Value: "b"}},
		{{Name: "MESSAGE", Value: "two\nlines"}, {Name: "BERTH_TEST_ID", Value: id}},
		{{Name: "MESSAGE", Value: "bin\x01\x00ary"}, {Name: "BERTH_TEST_ID", Value: id}},
		{{Name: "MESSAGE", Value: big}, {Name: "BERTH_TEST_ID", Value: id}},
	}
	for _, fields := range sends {
		if err := journal.Send(fields...); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	f, err := journal.OpenStream(ident, "", 3)
	if err != nil {
		t.Fatalf("OpenStream: %v", err)
	}
	peer, err := journal.StreamPeer(f, 5*time.Second)
	if err != nil {
		t.Fatalf("StreamPeer: %v", err)
	}
	if _, err := f.WriteString("first\nsecond\nlast"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// journald has read the stream to its end once its socket is gone.
	if err := journal.WaitStreamsDrained(ctx, []uint64{peer}); err != nil {
		t.Fatalf("WaitStreamsDrained: %v", err)
	}
	if err := journal.Synchronize(ctx); err != nil {
		t.Fatalf("Synchronize: %v", err)
	}

	// Different fields AND, so "+" ORs the two sets (journalctl(1)).
	match := []string{"BERTH_TEST_ID=" + id, "+", "SYSLOG_IDENTIFIER=" + ident}
	all := readAll(t, ctx, journal.Query{Matches: match})
	// journald orders entries by when it reads them, and it reads its
	// native socket and each stream as it gets round to them: only the
	// order within one transport is given.
	var got, fromStream []journal.Entry
	for _, e := range all {
		if e.Fields["_TRANSPORT"] == "stdout" {
			fromStream = append(fromStream, e)
		} else {
			got = append(got, e)
		}
	}
	got = append(got, fromStream...)
	type want struct {
		msg       string
		prio      int
		transport string
		lineBreak string // _LINE_BREAK; "" absent
	}
	wants := []want{
		{"native", 5, "journal", ""},
		{"two\nlines", -1, "journal", ""},
		{"bin\x01\x00ary", -1, "journal", ""},
		{big, -1, "journal", ""},
		{"first", 3, "stdout", ""},
		{"second", 3, "stdout", ""},
		{"last", 3, "stdout", "eof"},
	}
	if len(got) != len(wants) {
		for _, e := range got {
			t.Logf("got %.40q %v", e.Message, e.Fields)
		}
		t.Fatalf("read %d entries, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		e := got[i]
		if string(e.Message) != w.msg {
			t.Errorf("entry %d: MESSAGE %.40q (%d bytes), want %.40q (%d bytes)", i, e.Message, len(e.Message), w.msg, len(w.msg))
		}
		if e.Priority != w.prio {
			t.Errorf("entry %d (%.20q): priority %d, want %d", i, e.Message, e.Priority, w.prio)
		}
		if e.Fields["_TRANSPORT"] != w.transport {
			t.Errorf("entry %d (%.20q): _TRANSPORT %q, want %q", i, e.Message, e.Fields["_TRANSPORT"], w.transport)
		}
		if lb, ok := e.Fields["_LINE_BREAK"]; lb != w.lineBreak || ok != (w.lineBreak != "") {
			t.Errorf("entry %d (%.20q): _LINE_BREAK %q (present %v), want %q", i, e.Message, lb, ok, w.lineBreak)
		}
		if e.Cursor == "" || e.Time.Before(start.Add(-time.Second)) || e.Time.After(time.Now()) {
			t.Errorf("entry %d (%.20q): cursor %q, time %v (test started %v)", i, e.Message, e.Cursor, e.Time, start)
		}
		if i >= 4 && e.Fields["SYSLOG_IDENTIFIER"] != ident {
			t.Errorf("entry %d: SYSLOG_IDENTIFIER %q, want %q", i, e.Fields["SYSLOG_IDENTIFIER"], ident)
		}
		if i > 0 && i != 4 && e.Time.Before(got[i-1].Time) {
			t.Errorf("entry %d is older than entry %d", i, i-1)
		}
	}
	if tag := got[0].Fields["BERTH_TEST_TAG"]; tag != "b" {
		t.Errorf("BERTH_TEST_TAG given twice: %q, want the last, b", tag)
	}
	t.Logf("stream entry fields: %.300v", got[6].Fields)

	// Tail, Since and a match on one field (within one transport: only
	// there is the order given).
	stream := []string{"SYSLOG_IDENTIFIER=" + ident}
	tests := []struct {
		name string
		q    journal.Query
		want []string
	}{
		{"tail", journal.Query{Matches: stream, Tail: 2}, []string{"second", "last"}},
		{"since the first stream line", journal.Query{Matches: stream, Since: got[4].Time}, []string{"first", "second", "last"}},
		{"stream only", journal.Query{Matches: []string{"SYSLOG_IDENTIFIER=" + ident}}, []string{"first", "second", "last"}},
		{"nothing", journal.Query{Matches: []string{"BERTH_TEST_ID=none-" + id}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var msgs []string
			for _, e := range readAll(t, ctx, tt.q) {
				msgs = append(msgs, string(e.Message))
			}
			if strings.Join(msgs, "|") != strings.Join(tt.want, "|") {
				t.Errorf("read %q, want %q", msgs, tt.want)
			}
		})
	}
}

// TestJournalFollow checks that a following Read sees the entries already
// there and one sent after it started, and that it ends on ErrStop and on
// the end of its context.
func TestJournalFollow(t *testing.T) {
	testutil.RequiresTestbed(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := journalID(t)
	match := []string{"BERTH_TEST_ID=" + id}
	if err := journal.Send(journal.Field{Name: "MESSAGE", Value: "before"}, journal.Field{Name: "BERTH_TEST_ID", Value: id}); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		sent <- journal.Send(journal.Field{Name: "MESSAGE", Value: "after"}, journal.Field{Name: "BERTH_TEST_ID", Value: id})
	}()
	var got []string
	err := journal.Read(ctx, journal.Query{Matches: match, Follow: true}, func(e journal.Entry) error {
		got = append(got, string(e.Message))
		if len(got) == 2 {
			return journal.ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("Send: %v", err)
	}
	if strings.Join(got, "|") != "before|after" {
		t.Errorf("followed %q, want [before after]", got)
	}

	// Nothing more comes: the context ends the read.
	short, cancel2 := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel2()
	n := 0
	err = journal.Read(short, journal.Query{Matches: match, Follow: true, Tail: 1}, func(journal.Entry) error {
		n++
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) || n != 1 {
		t.Errorf("Read until the context ends: %v after %d entries, want DeadlineExceeded after 1", err, n)
	}
}
