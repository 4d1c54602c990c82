package unitgen

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// BurntSushi/toml (v1.6.0) keeps the position of every key but does not
// export it: MetaData gives keys, types and undecoded keys, and only a
// syntax error (ParseError) carries a position. So Parse builds its own
// index of positions with the small scanner below, after the TOML library
// has accepted the document. The scanner therefore only ever sees valid
// TOML and can be simple; it is not a validator.
//
// What it records, for each key path (the decoded key names, as the TOML
// library's map holds them, with array elements as their decimal index):
//   - the position of the key: the first time a table header ([a.b]),
//     array-of-tables header ([[a.b]]), dotted key (a.b = 1) or inline
//     table key names the path;
//   - the position of the value, where the path has one (k = v, array
//     elements, inline-table entries).
//
// Limits: positions are 1-based lines and 1-based byte columns, as the
// TOML library's own ParseError counts them (a tab or a multi-byte
// character before a key counts as its bytes). Quoted keys are decoded
// with TOML's escapes; a key the index cannot find (which would be a bug
// in this scanner) falls back to the position of its nearest known
// ancestor, and finally to no position at all ("file: message").

// pos is a position in the document: 1-based line and byte column.
type pos struct{ line, col int }

func (p pos) known() bool { return p.line > 0 }

// loc is where a key path appears.
type loc struct {
	key pos // the key itself (or the header naming it)
	val pos // the start of its value, if it is assigned one
}

// posIndex maps a key path, joined by pathSep, to its location.
type posIndex map[string]loc

const pathSep = "\x00"

func joinPath(path []string) string { return strings.Join(path, pathSep) }

// key returns the position of path's key, or of its nearest known
// ancestor.
func (ix posIndex) key(path []string) pos {
	for n := len(path); n > 0; n-- {
		if l, ok := ix[joinPath(path[:n])]; ok && l.key.known() {
			return l.key
		}
		if l, ok := ix[joinPath(path[:n])]; ok && l.val.known() {
			return l.val
		}
	}
	return pos{}
}

// val returns the position of path's value, else of its key, else of its
// nearest known ancestor.
func (ix posIndex) val(path []string) pos {
	if l, ok := ix[joinPath(path)]; ok && l.val.known() {
		return l.val
	}
	return ix.key(path)
}

// scanner walks a valid TOML document.
type scanner struct {
	src       []byte
	i         int // byte offset
	line      int // 1-based
	lineStart int // byte offset where the current line starts
	ix        posIndex
	arrays    map[string]int // next index of each array of tables
}

// indexPositions returns the position index of a document that the TOML
// library has accepted.
func indexPositions(src []byte) posIndex {
	s := &scanner{src: src, line: 1, ix: posIndex{}, arrays: map[string]int{}}
	if strings.HasPrefix(string(src), "\uFEFF") {
		s.i = len("\uFEFF")
	}
	defer func() {
		// The document is valid TOML, so the scanner should never run
		// off its end; if it does, keep what it found so far.
		_ = recover()
	}()
	s.document()
	return s.ix
}

func (s *scanner) pos() pos { return pos{s.line, s.i - s.lineStart + 1} }

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *scanner) has(prefix string) bool {
	// Not string(s.src[s.i:]): that copies the rest of the file at every
	// call (100 services took 40 ms).
	return len(s.src)-s.i >= len(prefix) && string(s.src[s.i:s.i+len(prefix)]) == prefix
}

// advance moves over n bytes, counting lines.
func (s *scanner) advance(n int) {
	for ; n > 0 && !s.eof(); n-- {
		if s.src[s.i] == '\n' {
			s.line++
			s.lineStart = s.i + 1
		}
		s.i++
	}
}

// blank skips spaces and tabs.
func (s *scanner) blank() {
	for c := s.peek(); c == ' ' || c == '\t'; c = s.peek() {
		s.advance(1)
	}
}

// space skips spaces, tabs, newlines and comments.
func (s *scanner) space() {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.advance(1)
		case c == '#':
			s.comment()
		default:
			return
		}
	}
}

func (s *scanner) comment() {
	for !s.eof() && s.peek() != '\n' {
		s.advance(1)
	}
}

func (s *scanner) mark(path []string, key, val pos) {
	k := joinPath(path)
	l := s.ix[k]
	if !l.key.known() {
		l.key = key
	}
	if !l.val.known() {
		l.val = val
	}
	s.ix[k] = l
}

func (s *scanner) document() {
	var table []string // the current table's path
	for {
		s.space()
		if s.eof() {
			return
		}
		if s.peek() == '[' {
			array := s.has("[[")
			if array {
				s.advance(2)
			} else {
				s.advance(1)
			}
			s.blank()
			keys, poss := s.key()
			s.blank()
			if array {
				s.advance(2)
			} else {
				s.advance(1)
			}
			table = s.header(keys, poss, array)
			continue
		}
		s.keyValue(table)
	}
}

// header records a table header and returns the path of the table that
// the following keys belong to.
func (s *scanner) header(keys []string, poss []pos, array bool) []string {
	var path []string
	for n, k := range keys {
		path = append(path, k)
		s.mark(path, poss[n], pos{})
		// A header below an array of tables continues its last element.
		if i, ok := s.arrays[joinPath(path)]; ok && (n < len(keys)-1 || !array) {
			path = append(path, strconv.Itoa(i-1))
		}
	}
	if array {
		i := s.arrays[joinPath(path)]
		s.arrays[joinPath(path)] = i + 1
		path = append(path, strconv.Itoa(i))
		s.mark(path, poss[len(poss)-1], pos{})
	}
	return path
}

// keyValue scans "key = value" in table.
func (s *scanner) keyValue(table []string) {
	keys, poss := s.key()
	path := append([]string(nil), table...)
	for n, k := range keys {
		path = append(path, k)
		s.mark(path, poss[n], pos{})
	}
	s.blank()
	s.advance(1) // '='
	s.blank()
	s.value(path)
}

// key scans a possibly dotted key and returns its parts and their
// positions.
func (s *scanner) key() ([]string, []pos) {
	var keys []string
	var poss []pos
	for {
		s.blank()
		poss = append(poss, s.pos())
		keys = append(keys, s.simpleKey())
		s.blank()
		if s.peek() != '.' {
			return keys, poss
		}
		s.advance(1)
	}
}

func (s *scanner) simpleKey() string {
	switch s.peek() {
	case '"':
		return s.basicString()
	case '\'':
		return s.literalString()
	}
	start := s.i
	for c := s.peek(); isBareKeyChar(c); c = s.peek() {
		s.advance(1)
	}
	return string(s.src[start:s.i])
}

func isBareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// value scans one value at path, recording its position and, for arrays
// and inline tables, the positions inside.
func (s *scanner) value(path []string) {
	s.mark(path, pos{}, s.pos())
	switch {
	case s.has(`"""`):
		s.multiline(`"""`)
	case s.has(`'''`):
		s.multiline(`'''`)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.literalString()
	case s.peek() == '[':
		s.advance(1)
		for n := 0; ; n++ {
			s.space()
			if s.peek() == ']' {
				s.advance(1)
				return
			}
			s.value(append(path[:len(path):len(path)], strconv.Itoa(n)))
			s.space()
			if s.peek() == ',' {
				s.advance(1)
			}
		}
	case s.peek() == '{':
		s.advance(1)
		for {
			s.space()
			if s.peek() == '}' {
				s.advance(1)
				return
			}
			s.keyValue(path[:len(path):len(path)])
			s.space()
			if s.peek() == ',' {
				s.advance(1)
			}
		}
	default: // number, boolean, date or time
		for !s.eof() {
			if c := s.peek(); c == ',' || c == ']' || c == '}' || c == '#' || c == '\n' {
				return
			}
			s.advance(1)
		}
	}
}

// basicString scans "..." and returns its decoded content.
func (s *scanner) basicString() string {
	s.advance(1)
	var b strings.Builder
	for !s.eof() {
		c := s.peek()
		switch c {
		case '"':
			s.advance(1)
			return b.String()
		case '\\':
			s.escape(&b)
		default:
			b.WriteByte(c)
			s.advance(1)
		}
	}
	return b.String()
}

// escape decodes one backslash escape of a basic string (TOML 1.1's set).
func (s *scanner) escape(b *strings.Builder) {
	s.advance(1)
	c := s.peek()
	s.advance(1)
	simple := map[byte]string{'b': "\b", 't': "\t", 'n': "\n", 'f': "\f", 'r': "\r", 'e': "\x1b", '"': `"`, '\\': `\`}
	if r, ok := simple[c]; ok {
		b.WriteString(r)
		return
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if digits == 0 || s.i+digits > len(s.src) {
		return
	}
	n, err := strconv.ParseUint(string(s.src[s.i:s.i+digits]), 16, 32)
	s.advance(digits)
	if err == nil && utf8.ValidRune(rune(n)) {
		b.WriteRune(rune(n))
	}
}

// literalString scans '...' and returns its content.
func (s *scanner) literalString() string {
	s.advance(1)
	start := s.i
	for !s.eof() && s.peek() != '\'' {
		s.advance(1)
	}
	v := string(s.src[start:s.i])
	s.advance(1)
	return v
}

// multiline scans a multi-line string delimited by delim. Up to two
// quotes right before the closing delimiter belong to the content.
func (s *scanner) multiline(delim string) {
	s.advance(3)
	for !s.eof() {
		if delim == `"""` && s.peek() == '\\' {
			s.advance(2)
			continue
		}
		if s.has(delim) {
			s.advance(3)
			for k := 0; k < 2 && s.peek() == delim[0]; k++ {
				s.advance(1)
			}
			return
		}
		s.advance(1)
	}
}
