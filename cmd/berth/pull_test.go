package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/berth/berth/imagestore"
	"github.com/opencontainers/go-digest"
)

// screen replays the cursor-up and erase-line sequences pullPrinter
// writes on a terminal and returns the lines left on screen.
func screen(out string) []string {
	var lines []string
	row := 0
	for len(out) > 0 {
		switch {
		case strings.HasPrefix(out, "\x1b["):
			end := strings.IndexAny(out[2:], "AK") + 2
			if out[end] == 'A' {
				n := 0
				for _, c := range out[2:end] {
					n = n*10 + int(c-'0')
				}
				row -= n
			} else if row < len(lines) {
				lines[row] = ""
			}
			out = out[end+1:]
		case out[0] == '\r':
			out = out[1:]
		case out[0] == '\n':
			row++
			out = out[1:]
		default:
			end := strings.IndexAny(out, "\x1b\r\n")
			if end < 0 {
				end = len(out)
			}
			for len(lines) <= row {
				lines = append(lines, "")
			}
			lines[row] += out[:end]
			out = out[end:]
		}
	}
	return lines
}

func TestPullPrinterTerminal(t *testing.T) {
	rr, err := imagestore.ParseRemoteReference("127.0.0.1:5000/it/bb:1")
	if err != nil {
		t.Fatal(err)
	}
	a := digest.Digest("sha256:" + strings.Repeat("a", 64))
	b := digest.Digest("sha256:" + strings.Repeat("b", 64))
	c := digest.Digest("sha256:" + strings.Repeat("c", 64))
	var out bytes.Buffer
	p := &pullPrinter{out: &out, tty: true, rr: rr}
	for _, ev := range []imagestore.ProgressEvent{
		{State: imagestore.PullResolved, Digest: "sha256:" + digest.Digest(strings.Repeat("f", 64))},
		{State: imagestore.PullExists, Digest: c},
		{State: imagestore.PullWaiting, Digest: a, Total: 2000},
		{State: imagestore.PullWaiting, Digest: b, Total: 4_000_000},
		{State: imagestore.PullDownloading, Digest: b, Current: 1_000_000, Total: 4_000_000},
		{State: imagestore.PullDownloading, Digest: a, Current: 2000, Total: 2000},
		{State: imagestore.PullDone, Digest: a, Current: 2000, Total: 2000},
		{State: imagestore.PullDownloading, Digest: b, Current: 2_000_000, Total: 4_000_000},
	} {
		p.event(ev)
	}
	want := []string{
		"1: Pulling from it/bb",
		"cccccccccccc: Already exists",
		"aaaaaaaaaaaa: Pull complete",
		"bbbbbbbbbbbb: Downloading [=========================>                         ]      2MB/4MB",
	}
	got := screen(out.String())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Not a terminal: plain lines, no escapes, no bars.
	out.Reset()
	p = &pullPrinter{out: &out, rr: rr}
	p.event(imagestore.ProgressEvent{State: imagestore.PullWaiting, Digest: a})
	p.event(imagestore.ProgressEvent{State: imagestore.PullDownloading, Digest: a, Current: 1, Total: 2})
	p.event(imagestore.ProgressEvent{State: imagestore.PullDone, Digest: a})
	if got := out.String(); got != "aaaaaaaaaaaa: Pulling fs layer\naaaaaaaaaaaa: Download complete\naaaaaaaaaaaa: Pull complete\n" {
		t.Errorf("plain output %q", got)
	}
}
