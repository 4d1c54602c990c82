package integration

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/testutil"
	"github.com/berth/berth/machine/journal"
	"github.com/berth/berth/machine/journal/journalfile"
)

// TestJournalFileRead: berth's own reader of journald's files
// (journalfile, which `berth run` uses for its last read) returns what
// journalctl returns for the same query, entry for entry: cursors,
// messages (multi-line, binary, compressed by journald), priorities and
// every field, from the start, after a cursor and from a time.
func TestJournalFileRead(t *testing.T) {
	testutil.RequiresTestbed(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := journalID(t)
	match := "BERTH_TEST_ID=" + id
	sends := [][]journal.Field{
		{{Name: "MESSAGE", Value: "native"}, {Name: "PRIORITY", Value: "5"}, {Name: "BERTH_TEST_TAG", Value: "a"}, {Name: "BERTH_TEST_TAG", Value: "b"}},
		{{Name: "MESSAGE", Value: "two\nlines"}},
		{{Name: "MESSAGE", Value: "bin\x01\x00ary"}, {Name: "PRIORITY", Value: "3"}},
		// Above journald's compression threshold (512 bytes): stored
		// compressed (zstd on Debian 12).
		{{Name: "MESSAGE", Value: strings.Repeat("0123456789abcdef", 4096)}},
		{{Name: "MESSAGE", Value: "last"}, {Name: "BERTH_TEST_BIG", Value: strings.Repeat("z", 2000)}},
	}
	// Identical lines in one write to a stream: journald stamps them
	// alike, and they are distinct entries all the same.
	stream, err := journal.OpenStream("berth-it-jf", "", 6)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := journal.StreamPeer(stream, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var mid time.Time
	for i, fields := range sends {
		if i == 3 {
			time.Sleep(20 * time.Millisecond)
			mid = time.Now()
		}
		if err := journal.Send(append(fields, journal.Field{Name: "BERTH_TEST_ID", Value: id})...); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	// (A stream's entries carry no BERTH_TEST_ID: they are matched by
	// its identifier below.)
	if _, err := stream.WriteString("same\nsame\nsame\n"); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if err := journal.WaitStreamsDrained(ctx, []uint64{peer}); err != nil {
		t.Fatal(err)
	}
	if err := journal.Synchronize(ctx); err != nil {
		t.Fatalf("Synchronize: %v", err)
	}
	native := func(q journalfile.Query) []journal.Entry {
		t.Helper()
		var got []journal.Entry
		if err := journalfile.Read(q, func(e journal.Entry) error {
			got = append(got, e)
			return nil
		}); err != nil {
			t.Fatalf("journalfile.Read %+v: %v", q, err)
		}
		return got
	}
	same := func(what string, got, want []journal.Entry) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d entries, journalctl %d", what, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Cursor != w.Cursor || !bytes.Equal(g.Message, w.Message) || g.Priority != w.Priority || !g.Time.Equal(w.Time) {
				t.Errorf("%s: entry %d: cursor %s, message %.40q, priority %d, time %s; journalctl: %s, %.40q, %d, %s",
					what, i, g.Cursor, g.Message, g.Priority, g.Time, w.Cursor, w.Message, w.Priority, w.Time)
			}
			for k, v := range w.Fields {
				if g.Fields[k] != v {
					t.Errorf("%s: entry %d: field %s = %.40q, journalctl %.40q", what, i, k, g.Fields[k], v)
				}
			}
			for k := range g.Fields {
				if _, ok := w.Fields[k]; !ok {
					t.Errorf("%s: entry %d: field %s that journalctl does not show", what, i, k)
				}
			}
		}
	}
	all := readAll(t, ctx, journal.Query{Matches: []string{match}})
	if len(all) != len(sends) {
		t.Fatalf("journalctl: %d entries, sent %d", len(all), len(sends))
	}
	same("all", native(journalfile.Query{Match: match}), all)
	same("after the second", native(journalfile.Query{Match: match, AfterCursor: all[1].Cursor}),
		readAll(t, ctx, journal.Query{Matches: []string{match}, AfterCursor: all[1].Cursor}))
	same("after the last", native(journalfile.Query{Match: match, AfterCursor: all[len(all)-1].Cursor}), nil)
	fromMid := native(journalfile.Query{Match: match, Since: mid})
	same("since the fourth", fromMid, readAll(t, ctx, journal.Query{Matches: []string{match}, Since: mid}))
	if len(fromMid) != 2 {
		t.Errorf("since the fourth: %d entries, want 2", len(fromMid))
	}
	same("no such value", native(journalfile.Query{Match: "BERTH_TEST_ID=x" + id}), nil)
	streamMatch := "SYSLOG_IDENTIFIER=berth-it-jf"
	fromStream := native(journalfile.Query{Match: streamMatch, Since: mid})
	same("three identical lines", fromStream, readAll(t, ctx, journal.Query{Matches: []string{streamMatch}, Since: mid}))
	if len(fromStream) != 3 {
		t.Errorf("three identical lines in one write: %d entries", len(fromStream))
	}
}
