// Package journalfile reads the local system's journal files directly,
// without starting journalctl, for the one query on every container's
// path: the entries that carry one field value (CONTAINER_ID_FULL=…),
// from a time or after a cursor. `berth run` makes that read once per
// container, after it has ended, and journalctl alone costs some 4 ms to
// start; this reader takes a fraction of a millisecond.
//
// It follows systemd's journal file format
// (https://systemd.io/JOURNAL_FILE_FORMAT, src/libsystemd/sd-journal/
// journal-def.h): the header, the data hash table keyed with SipHash-2-4
// and the file ID, data objects and their entry arrays, entries and
// their items, in the regular and the compact layout, zstd-compressed
// data. Anything else (files of another layout, jenkins hashes from
// before systemd 246, xz or lz4 compression, an object that does not
// parse) is ErrUnsupported or an error, and the caller reads through
// journalctl instead (machine/journal.Read): this package is a shortcut,
// never the only way.
//
// Files are mapped read-only and read while journald appends to them:
// journald writes an object before it links it, every offset is checked
// against the mapping, and a link past what was mapped ends the walk.
package journalfile

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/machine/journal"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// ErrUnsupported says the journal uses something this reader does not
// know; journalctl can read it.
var ErrUnsupported = errors.New("journal file: unsupported")

// Query selects entries: those that carry Match ("FIELD=value") and are
// after AfterCursor (a journalctl cursor) when it is set, else not older
// than Since.
type Query struct {
	Match       string
	Since       time.Time
	AfterCursor string
}

// Dirs are where journald keeps the system's files, volatile and
// persistent, each with a subdirectory named for the machine ID.
var Dirs = []string{"/run/log/journal", "/var/log/journal"}

// Read calls fn for each entry q selects, in time order (seqnum within a
// file), and returns fn's first error (journal.ErrStop gives nil).
func Read(q Query, fn func(journal.Entry) error) error {
	field, _, ok := strings.Cut(q.Match, "=")
	if !ok || field == "" {
		return fmt.Errorf("journal file: match %q is not FIELD=value", q.Match)
	}
	var after *cursor
	if q.AfterCursor != "" {
		c, err := parseCursor(q.AfterCursor)
		if err != nil {
			return err
		}
		after = &c
	}
	mid, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		return fmt.Errorf("journal file: %w", err)
	}
	var files []string
	for _, d := range Dirs {
		m, _ := filepath.Glob(filepath.Join(d, strings.TrimSpace(string(mid)), "*.journal"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		return fmt.Errorf("journal file: no journal files in %s for machine %s: %w", strings.Join(Dirs, " or "), strings.TrimSpace(string(mid)), ErrUnsupported)
	}
	since := uint64(0)
	if !q.Since.IsZero() && after == nil {
		since = uint64(q.Since.UnixMicro())
	}
	var all []entry
	for i, path := range files {
		es, err := readFile(path, []byte(q.Match), since, after)
		if err != nil {
			return fmt.Errorf("journal file %s: %w", path, err)
		}
		for j := range es {
			es[j].file = i
		}
		all = append(all, es...)
	}
	// Several files (a volatile one flushed to /var, an archived one):
	// in time order, and an entry copied from one to another once.
	slices.SortStableFunc(all, func(a, b entry) int {
		if a.realtime != b.realtime {
			return cmpU64(a.realtime, b.realtime)
		}
		return cmpU64(a.seqnum, b.seqnum)
	})
	// As sd-journal: an entry of another file with the same boot, time
	// and content is a copy. Within one file, such entries are distinct
	// (journald stamps the lines of one read of a stream alike).
	seen := map[[3]uint64]int{}
	for _, e := range all {
		key := [3]uint64{e.monotonic, e.xorHash, binary.LittleEndian.Uint64(e.bootID[:8])}
		if f, ok := seen[key]; ok && f != e.file {
			continue
		}
		seen[key] = e.file
		if err := fn(e.Entry); err != nil {
			if errors.Is(err, journal.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// entry is a journal.Entry with what ordering and cursors need.
type entry struct {
	journal.Entry
	seqnum, realtime, monotonic, xorHash uint64
	bootID                               [16]byte
	file                                 int // the index of its file in Read
}

// The on-disk layout (journal-def.h).
const (
	headerSignature = "LPKSHHRH"

	incompatibleXZ        = 1 << 0
	incompatibleLZ4       = 1 << 1
	incompatibleKeyedHash = 1 << 2
	incompatibleZstd      = 1 << 3
	incompatibleCompact   = 1 << 4
	incompatibleKnown     = incompatibleXZ | incompatibleLZ4 | incompatibleKeyedHash | incompatibleZstd | incompatibleCompact

	objectData       = 1
	objectEntry      = 3
	objectEntryArray = 6

	compressedXZ   = 1 << 0
	compressedLZ4  = 1 << 1
	compressedZstd = 1 << 2

	objectHeaderSize = 16
	headerMinSize    = 208 // up to n_data (systemd 187)
)

// file is one mapped journal file.
type file struct {
	b       []byte
	compact bool
	fileID  [16]byte
	seqID   [16]byte
}

func readFile(path string, match []byte, since uint64, after *cursor) ([]entry, error) {
	fd, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // rotated away meanwhile
		}
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < headerMinSize {
		return nil, nil // being created
	}
	b, err := unix.Mmap(int(fd.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(b)
	if string(b[:8]) != headerSignature {
		return nil, fmt.Errorf("not a journal file: %w", ErrUnsupported)
	}
	incompat := binary.LittleEndian.Uint32(b[12:16])
	if incompat&^incompatibleKnown != 0 || incompat&incompatibleKeyedHash == 0 {
		return nil, fmt.Errorf("incompatible flags %#x: %w", incompat, ErrUnsupported)
	}
	f := &file{b: b, compact: incompat&incompatibleCompact != 0}
	copy(f.fileID[:], b[24:40])
	copy(f.seqID[:], b[72:88])
	headerSize := f.u64(88)
	tailRealtime := f.u64(192) // tail_entry_realtime
	if headerSize < headerMinSize || headerSize > uint64(len(b)) {
		return nil, fmt.Errorf("header size %d: %w", headerSize, ErrUnsupported)
	}
	if since > 0 && tailRealtime < since && tailRealtime != 0 {
		return nil, nil // everything in it is older
	}
	if after != nil && after.seqID == f.seqID && f.u64(160) <= after.seqnum {
		return nil, nil // its last seqnum is the cursor's or older
	}
	data, ok, err := f.findData(match)
	if err != nil || !ok {
		return nil, err
	}
	offsets, err := f.dataEntries(data)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, off := range offsets {
		e, err := f.entry(off, since, after)
		if err != nil {
			return nil, err
		}
		if e != nil {
			out = append(out, *e)
		}
	}
	return out, nil
}

// u64 and u32 read little-endian numbers at off, 0 past the mapping.
func (f *file) u64(off uint64) uint64 {
	if off+8 > uint64(len(f.b)) || off+8 < off {
		return 0
	}
	return binary.LittleEndian.Uint64(f.b[off:])
}

func (f *file) u32(off uint64) uint32 {
	if off+4 > uint64(len(f.b)) || off+4 < off {
		return 0
	}
	return binary.LittleEndian.Uint32(f.b[off:])
}

// object returns the object at off if it is of type typ and lies within
// the mapping: its flags and its whole bytes, header included.
func (f *file) object(off uint64, typ byte) (flags byte, obj []byte, err error) {
	if off == 0 || off%8 != 0 || off+objectHeaderSize > uint64(len(f.b)) {
		return 0, nil, fmt.Errorf("object offset %d out of the file: %w", off, errTruncated)
	}
	size := f.u64(off + 8)
	if size < objectHeaderSize || off+size > uint64(len(f.b)) || off+size < off {
		return 0, nil, fmt.Errorf("object at %d of size %d out of the file: %w", off, size, errTruncated)
	}
	if t := f.b[off]; t != typ {
		return 0, nil, fmt.Errorf("object at %d has type %d, want %d", off, t, typ)
	}
	return f.b[off+1], f.b[off : off+size], nil
}

// errTruncated: an offset past what was mapped (journald appended after
// the mapping was made); it ends a walk rather than failing it.
var errTruncated = errors.New("past the end of the mapping")

// dataHeader is the size of a data object before its payload.
func (f *file) dataHeader() uint64 {
	if f.compact {
		return 72
	}
	return 64
}

// payload returns a data object's payload, decompressed.
func (f *file) payload(flags byte, obj []byte) ([]byte, error) {
	h := f.dataHeader()
	if uint64(len(obj)) < h {
		return nil, fmt.Errorf("data object of %d bytes", len(obj))
	}
	p := obj[h:]
	switch flags & (compressedXZ | compressedLZ4 | compressedZstd) {
	case 0:
		return p, nil
	case compressedZstd:
		d, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		out, err := d.DecodeAll(p, nil)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("data compressed with flags %#x: %w", flags, ErrUnsupported)
}

var decoder *zstd.Decoder

func zstdDecoder() (*zstd.Decoder, error) {
	if decoder == nil {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		decoder = d
	}
	return decoder, nil
}

// findData looks payload up in the data hash table.
func (f *file) findData(payload []byte) (uint64, bool, error) {
	tableOff, tableSize := f.u64(104), f.u64(112)
	n := tableSize / 16
	if n == 0 || tableOff+tableSize > uint64(len(f.b)) {
		return 0, false, fmt.Errorf("data hash table at %d size %d: %w", tableOff, tableSize, ErrUnsupported)
	}
	h := siphash24(f.fileID, payload)
	p := f.u64(tableOff + (h%n)*16)
	for depth := 0; p != 0; depth++ {
		if depth > 1<<16 {
			return 0, false, errors.New("data hash chain too long")
		}
		flags, obj, err := f.object(p, objectData)
		if errors.Is(err, errTruncated) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		if binary.LittleEndian.Uint64(obj[16:]) == h {
			got, err := f.payload(flags, obj)
			if err != nil {
				return 0, false, err
			}
			if bytes.Equal(got, payload) {
				return p, true, nil
			}
		}
		p = binary.LittleEndian.Uint64(obj[24:]) // next_hash_offset
	}
	return 0, false, nil
}

// dataEntries returns the offsets of the entries that carry the data
// object at off: its first one inline, then its entry arrays.
func (f *file) dataEntries(off uint64) ([]uint64, error) {
	_, obj, err := f.object(off, objectData)
	if err != nil {
		return nil, err
	}
	first := binary.LittleEndian.Uint64(obj[40:])
	arr := binary.LittleEndian.Uint64(obj[48:])
	n := binary.LittleEndian.Uint64(obj[56:])
	if n == 0 || first == 0 {
		return nil, nil
	}
	out := []uint64{first}
	item := uint64(8)
	if f.compact {
		item = 4
	}
	for arr != 0 && uint64(len(out)) < n {
		_, a, err := f.object(arr, objectEntryArray)
		if errors.Is(err, errTruncated) {
			break
		}
		if err != nil {
			return nil, err
		}
		for i := uint64(24); i+item <= uint64(len(a)) && uint64(len(out)) < n; i += item {
			var e uint64
			if f.compact {
				e = uint64(binary.LittleEndian.Uint32(a[i:]))
			} else {
				e = binary.LittleEndian.Uint64(a[i:])
			}
			if e == 0 {
				return out, nil // not written yet
			}
			out = append(out, e)
		}
		arr = binary.LittleEndian.Uint64(a[16:])
	}
	return out, nil
}

// entry reads the entry at off; nil when the query leaves it out or it
// is not all there yet.
func (f *file) entry(off, since uint64, after *cursor) (*entry, error) {
	_, obj, err := f.object(off, objectEntry)
	if errors.Is(err, errTruncated) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(obj) < 64 {
		return nil, fmt.Errorf("entry object of %d bytes", len(obj))
	}
	e := &entry{
		seqnum:    binary.LittleEndian.Uint64(obj[16:]),
		realtime:  binary.LittleEndian.Uint64(obj[24:]),
		monotonic: binary.LittleEndian.Uint64(obj[32:]),
		xorHash:   binary.LittleEndian.Uint64(obj[56:]),
	}
	copy(e.bootID[:], obj[40:56])
	if after != nil {
		if after.seqID == f.seqID {
			if e.seqnum <= after.seqnum {
				return nil, nil
			}
		} else if e.realtime <= after.realtime {
			return nil, nil
		}
	} else if e.realtime < since {
		return nil, nil
	}
	c := cursor{seqID: f.seqID, seqnum: e.seqnum, bootID: e.bootID, monotonic: e.monotonic, realtime: e.realtime, xorHash: e.xorHash}
	e.Entry = journal.Entry{Priority: -1, Cursor: c.String(), Time: time.UnixMicro(int64(e.realtime)), Fields: map[string]string{
		"__CURSOR":              c.String(),
		"__REALTIME_TIMESTAMP":  strconv.FormatUint(e.realtime, 10),
		"__MONOTONIC_TIMESTAMP": strconv.FormatUint(e.monotonic, 10),
		"_BOOT_ID":              hex.EncodeToString(e.bootID[:]),
	}}
	item := uint64(16)
	if f.compact {
		item = 4
	}
	for i := uint64(64); i+item <= uint64(len(obj)); i += item {
		var p uint64
		if f.compact {
			p = uint64(binary.LittleEndian.Uint32(obj[i:]))
		} else {
			p = binary.LittleEndian.Uint64(obj[i:])
		}
		flags, d, err := f.object(p, objectData)
		if errors.Is(err, errTruncated) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		payload, err := f.payload(flags, d)
		if err != nil {
			return nil, err
		}
		name, value, ok := bytes.Cut(payload, []byte("="))
		if !ok {
			continue
		}
		v := string(value)
		e.Fields[string(name)] = v
		switch string(name) {
		case "MESSAGE":
			e.Message = []byte(v)
		case "PRIORITY":
			if n, err := strconv.Atoi(v); err == nil {
				e.Priority = n
			}
		}
	}
	return e, nil
}

// cursor is journalctl's cursor: "s=SEQNUM_ID;i=SEQNUM;b=BOOT_ID;
// m=MONOTONIC;t=REALTIME;x=XOR_HASH", IDs in hex, numbers in hex.
type cursor struct {
	seqID, bootID                        [16]byte
	seqnum, monotonic, realtime, xorHash uint64
}

func (c cursor) String() string {
	return fmt.Sprintf("s=%s;i=%x;b=%s;m=%x;t=%x;x=%x", hex.EncodeToString(c.seqID[:]), c.seqnum,
		hex.EncodeToString(c.bootID[:]), c.monotonic, c.realtime, c.xorHash)
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	seen := 0
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return c, fmt.Errorf("journal file: cursor %q: %w", s, ErrUnsupported)
		}
		var err error
		switch k {
		case "s", "b":
			var id []byte
			if id, err = hex.DecodeString(v); err == nil && len(id) != 16 {
				err = errors.New("not 128 bits")
			}
			if k == "s" {
				copy(c.seqID[:], id)
			} else {
				copy(c.bootID[:], id)
			}
		case "i":
			c.seqnum, err = strconv.ParseUint(v, 16, 64)
		case "m":
			c.monotonic, err = strconv.ParseUint(v, 16, 64)
		case "t":
			c.realtime, err = strconv.ParseUint(v, 16, 64)
		case "x":
			c.xorHash, err = strconv.ParseUint(v, 16, 64)
		default:
			continue
		}
		if err != nil {
			return c, fmt.Errorf("journal file: cursor %q: %s: %v: %w", s, k, err, ErrUnsupported)
		}
		seen++
	}
	if seen < 6 {
		return c, fmt.Errorf("journal file: cursor %q lacks fields: %w", s, ErrUnsupported)
	}
	return c, nil
}
