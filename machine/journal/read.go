package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// journalctl is the program Read runs; a variable for tests.
var journalctl = "journalctl"

// Entry is one journal entry as read back.
type Entry struct {
	Message  []byte            // MESSAGE; binary-safe; nil when absent
	Priority int               // PRIORITY, -1 when absent or not a number
	Time     time.Time         // __REALTIME_TIMESTAMP; zero when absent
	Cursor   string            // __CURSOR
	Fields   map[string]string // every field, trusted and address ones included, as a string (binary ones byte for byte; for a field given several times, the last); a value journalctl elided (null) is left out
}

// Query selects entries like journalctl's positional matches.
type Query struct {
	Matches []string  // "FIELD=value", or "+" for OR; passed to journalctl as they are (same field = OR, different fields = AND)
	Since   time.Time // zero: from the start; else --since=@<seconds>.<microseconds>
	Until   time.Time // zero: no end; else --until=@<seconds>.<microseconds>
	Tail    int       // >0: only the last Tail entries (journalctl -n Tail); 0: all, also when following
	Follow  bool      // keep reading new entries (journalctl -f) until ctx ends or fn returns an error
	Unit    string    // optional: journalctl -u UNIT (ORed specially by journalctl, see journalctl(1))
	// AfterCursor, when set, starts after the entry with that cursor
	// (journalctl --after-cursor) instead of at Since, which is then
	// ignored (journalctl takes only one of them).
	AfterCursor string
}

// ErrStop, returned by fn, ends Read without error.
var ErrStop = errors.New("journal: stop")

// args returns journalctl's arguments for q.
func (q Query) args() ([]string, error) {
	if q.Tail < 0 {
		return nil, fmt.Errorf("tail %d < 0: %w", q.Tail, errdefs.ErrInvalid)
	}
	a := []string{"--output=json", "--all", "--no-pager", "--quiet"}
	if !q.Since.IsZero() && q.AfterCursor == "" {
		us := q.Since.UnixMicro()
		if us < 0 {
			return nil, fmt.Errorf("since %s is before 1970: %w", q.Since, errdefs.ErrInvalid)
		}
		a = append(a, fmt.Sprintf("--since=@%d.%06d", us/1e6, us%1e6))
	}
	if !q.Until.IsZero() {
		us := q.Until.UnixMicro()
		if us < 0 {
			return nil, fmt.Errorf("until %s is before 1970: %w", q.Until, errdefs.ErrInvalid)
		}
		a = append(a, fmt.Sprintf("--until=@%d.%06d", us/1e6, us%1e6))
	}
	if q.AfterCursor != "" {
		a = append(a, "--after-cursor="+q.AfterCursor)
	}
	switch {
	case q.Tail > 0:
		a = append(a, "--lines="+strconv.Itoa(q.Tail))
	case q.Follow:
		a = append(a, "--no-tail") // -f alone shows only the last 10
	}
	if q.Follow {
		a = append(a, "--follow")
	}
	if q.Unit != "" {
		a = append(a, "--unit="+q.Unit)
	}
	if len(q.Matches) > 0 {
		a = append(a, "--")
		a = append(a, q.Matches...)
	}
	return a, nil
}

// Read runs `journalctl --output=json --all --no-pager --quiet` with q's
// options and calls fn for each entry in order. It returns when
// journalctl exits (nil, or an error with journalctl's stderr when it
// exits non-zero), when ctx is done (journalctl is killed; ctx.Err()), or
// when fn returns an error (that error; ErrStop gives nil).
func Read(ctx context.Context, q Query, fn func(Entry) error) error {
	args, err := q.args()
	if err != nil {
		return fmt.Errorf("journal: read: %w", err)
	}
	path, err := exec.LookPath(journalctl)
	if err != nil {
		return fmt.Errorf("journal: read: journalctl is not installed (systemd's journalctl is needed to read the journal): %w: %w", errdefs.ErrUnavailable, err)
	}
	runCtx, kill := context.WithCancel(ctx)
	defer kill()
	cmd := exec.CommandContext(runCtx, path, args...)
	cmd.WaitDelay = 5 * time.Second
	// Its own process group: a Ctrl-C meant for the caller (which may
	// pass it on to a container) must not end the reading.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("journal: read: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("journal: read: %w", err)
	}

	stopErr := scan(stdout, fn)
	if stopErr != nil {
		kill()
	}
	waitErr := cmd.Wait()
	switch {
	case errors.Is(stopErr, ErrStop):
		return nil
	case stopErr != nil:
		return stopErr
	case waitErr != nil && ctx.Err() != nil:
		return ctx.Err()
	case waitErr != nil:
		return fmt.Errorf("journal: read: journalctl %s: %w: %s", strings.Join(args, " "), waitErr, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// scan calls fn for each line of r, up to its end or the first error
// (parsing, or fn's own).
func scan(r io.Reader, fn func(Entry) error) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			e, perr := parseEntry(line)
			if perr != nil {
				return fmt.Errorf("journal: read: journalctl output line %d: %w", n, perr)
			}
			if ferr := fn(e); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil // EOF, or the pipe closed: Wait tells why
		}
	}
}

// parseEntry parses one line of `journalctl --output=json`: an object
// whose values are a string, an array of numbers (a value that is not
// printable UTF-8), null (a value journalctl elided), or an array of
// those (a field the entry has several times).
func parseEntry(line []byte) (Entry, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return Entry{}, err
	}
	e := Entry{Priority: -1, Fields: make(map[string]string, len(raw))}
	for name, v := range raw {
		b, ok, err := fieldValue(v, true)
		if err != nil {
			return Entry{}, fmt.Errorf("field %s: %w", name, err)
		}
		if !ok {
			continue
		}
		e.Fields[name] = string(b)
		switch name {
		case "MESSAGE":
			e.Message = b
		case "PRIORITY":
			if p, err := strconv.Atoi(string(b)); err == nil {
				e.Priority = p
			}
		case "__CURSOR":
			e.Cursor = string(b)
		case "__REALTIME_TIMESTAMP":
			us, err := strconv.ParseInt(string(b), 10, 64)
			if err != nil {
				return Entry{}, fmt.Errorf("field %s: %w", name, err)
			}
			e.Time = time.UnixMicro(us)
		}
	}
	return e, nil
}

// fieldValue decodes one value; ok is false for null. multi allows an
// array of values, of which the last non-null one is returned.
func fieldValue(v json.RawMessage, multi bool) (b []byte, ok bool, err error) {
	switch {
	case len(v) == 0:
		return nil, false, errors.New("empty value")
	case string(v) == "null":
		return nil, false, nil
	case v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return []byte(s), err == nil, err
	case v[0] != '[':
		return nil, false, fmt.Errorf("unexpected value %.20s", v)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		return nil, false, err
	}
	if len(elems) == 0 || (elems[0][0] != '"' && elems[0][0] != '[' && string(elems[0]) != "null") {
		// Binary: [120,10,121].
		var nums []int
		if err := json.Unmarshal(v, &nums); err != nil {
			return nil, false, fmt.Errorf("binary value: %w", err)
		}
		b = make([]byte, len(nums))
		for i, n := range nums {
			if n < 0 || n > 255 {
				return nil, false, fmt.Errorf("binary value: %d is not a byte", n)
			}
			b[i] = byte(n)
		}
		return b, true, nil
	}
	if !multi {
		return nil, false, fmt.Errorf("unexpected nested array %.20s", v)
	}
	for i := len(elems) - 1; i >= 0; i-- {
		if b, ok, err := fieldValue(elems[i], false); err != nil || ok {
			return b, ok, err
		}
	}
	return nil, false, nil // all null
}
