package unitgen

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Error is one problem in an app file. Parse returns all problems of a
// file joined with errors.Join, in file order, each an *Error.
type Error struct {
	// File is the path that was passed to Parse.
	File string
	// Line and Column are 1-based; Column counts bytes, as the TOML
	// parser does. Both are 0 when the problem concerns the whole file
	// (for example an app name taken from an invalid file name).
	Line, Column int
	// Msg says what is wrong, naming the key and its table.
	Msg string
	// Hint, if not empty, suggests a fix ("did you mean \"environment\"?").
	Hint string
}

// Error formats e on one line as "file:line:column: msg", followed by
// "; hint: hint" when there is a hint.
func (e *Error) Error() string {
	s := e.File + ": " + e.Msg
	if e.Line > 0 {
		s = fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	if e.Hint != "" {
		s += "; hint: " + e.Hint
	}
	return s
}

// Errors returns the *Error values inside err, as Parse returns it (a
// join of them), in file order. It returns nil for a nil err.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// errorList collects the problems of one file.
type errorList struct {
	file string
	errs []*Error
}

func (l *errorList) add(p pos, hint, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: p.line, Column: p.col, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// err returns the problems sorted by position (problems without a
// position first), or nil.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// suggest returns `did you mean "x"?` for the candidate closest to s, if
// one is close enough to be a likely typo, else "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		d := editDistance(s, c)
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	// Allow one edit in short words, two in longer ones.
	if best == "" || bestD > max(1, min(2, len(s)/4)) {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b, over bytes,
// ignoring case.
func editDistance(a, b string) int {
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if lower(a[i-1]) == lower(b[j-1]) {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
