package imagebuild

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Name     string // the file's name, for errors
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand // ARG before the first FROM
	Escape   rune
}

// Error is a mistake in a Dockerfile, at a line of it.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *Error) Unwrap() error { return errdefs.ErrInvalid }

var lineRE = regexp.MustCompile(`^dockerfile parse error on line (\d+): `)

// errorAt turns an error of BuildKit's parser into an *Error.
func errorAt(file string, err error, line int) error {
	var loc *parser.LocationError
	if errors.As(err, &loc) && len(loc.Locations) > 0 && len(loc.Locations[0]) > 0 {
		line = loc.Locations[0][0].Start.Line
	}
	var unk *instructions.UnknownInstructionError
	if errors.As(err, &unk) && unk.Line > 0 {
		line = unk.Line
	}
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		if n, _ := strconv.Atoi(m[1]); line == 0 {
			line = n
		}
		msg = msg[len(m[0]):]
	}
	return &Error{File: file, Line: line, Msg: msg}
}

// Parse reads a Dockerfile. name is used in errors only.
func Parse(name string, r io.Reader) (*Dockerfile, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return nil, errorAt(name, err, 0)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, errorAt(name, err, 0)
	}
	if len(stages) == 0 {
		return nil, &Error{File: name, Msg: "no FROM instruction: a Dockerfile must start with FROM (or ARG before it)"}
	}
	df := &Dockerfile{Name: name, Stages: stages, MetaArgs: meta, Escape: res.EscapeToken}
	for i := range stages {
		if err := df.check(&stages[i]); err != nil {
			return nil, err
		}
	}
	return df, nil
}

// line is the first line of a command.
func line(c interface{ Location() []parser.Range }) int {
	if l := c.Location(); len(l) > 0 {
		return l[0].Start.Line
	}
	return 0
}

// check refuses what BuildKit parses but berth does not do, before
// anything is built.
func (df *Dockerfile) check(st *instructions.Stage) error {
	for _, c := range st.Commands {
		bad := ""
		switch c := c.(type) {
		case *instructions.RunCommand:
			// The flags are parsed by Expand; here with no variables,
			// again with them when the step runs.
			if err := c.Expand(func(w string) (string, error) { return w, nil }); err != nil {
				return &Error{File: df.Name, Line: line(c), Msg: err.Error()}
			}
			for _, m := range instructions.GetMounts(c) {
				if m.Type != instructions.MountTypeCache && m.Type != instructions.MountTypeTmpfs {
					bad = fmt.Sprintf("RUN --mount=type=%s is not supported by berth build (type=cache and type=tmpfs are)", m.Type)
				}
			}
		case *instructions.AddCommand:
			for _, s := range c.SourcePaths {
				if strings.Contains(s, "://") || strings.HasPrefix(s, "git@") {
					bad = fmt.Sprintf("ADD from a URL (%s) is not supported by berth build: download it in a RUN step", s)
				}
			}
		case *instructions.CopyCommand:
			if c.Parents {
				bad = "COPY --parents is not supported by berth build"
			}
		}
		if bad != "" {
			return &Error{File: df.Name, Line: line(c), Msg: bad}
		}
	}
	return nil
}

// Ignore is a .dockerignore: which context paths a build does not see.
type Ignore struct {
	pm *patternmatcher.PatternMatcher
}

// ParseIgnore reads a .dockerignore (Docker's syntax: one pattern a
// line, # comments, ** and ! exceptions).
func ParseIgnore(r io.Reader) (*Ignore, error) {
	pats, err := ignorefile.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %v: %w", err, errdefs.ErrInvalid)
	}
	pm, err := patternmatcher.New(pats)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %v: %w", err, errdefs.ErrInvalid)
	}
	return &Ignore{pm: pm}, nil
}

// Excluded says whether the context path rel (slash-separated, relative
// to the context) is left out. A nil Ignore excludes nothing.
func (ig *Ignore) Excluded(rel string) bool {
	if ig == nil || rel == "." || rel == "" {
		return false
	}
	ok, err := ig.pm.MatchesOrParentMatches(rel)
	return err == nil && ok
}
