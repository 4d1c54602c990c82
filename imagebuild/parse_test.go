package imagebuild

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, df *Dockerfile)
	}{
		{"continuation and JSON form", "FROM busybox\nRUN echo a \\\n  b\nCMD [\"sh\", \"-c\", \"x\"]\n", func(t *testing.T, df *Dockerfile) {
			run := df.Stages[0].Commands[0].(*instructions.RunCommand)
			if got := run.CmdLine[0]; got != "echo a   b" || !run.PrependShell {
				t.Errorf("RUN = %q shell=%v", got, run.PrependShell)
			}
			cmd := df.Stages[0].Commands[1].(*instructions.CmdCommand)
			if cmd.PrependShell || strings.Join(cmd.CmdLine, "|") != "sh|-c|x" {
				t.Errorf("CMD = %q", cmd.CmdLine)
			}
		}},
		{"escape directive", "# escape=`\nFROM busybox\nRUN echo a `\n b\n", func(t *testing.T, df *Dockerfile) {
			if df.Escape != '`' {
				t.Errorf("escape = %q", df.Escape)
			}
			if got := df.Stages[0].Commands[0].(*instructions.RunCommand).CmdLine[0]; got != "echo a  b" {
				t.Errorf("RUN = %q", got)
			}
		}},
		{"heredoc", "FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\n", func(t *testing.T, df *Dockerfile) {
			run := df.Stages[0].Commands[0].(*instructions.RunCommand)
			if len(run.Files) != 1 || run.Files[0].Data != "echo one\necho two\n" {
				t.Errorf("heredoc files = %+v", run.Files)
			}
		}},
		{"ARG before FROM and stages", "ARG BASE=busybox\nFROM ${BASE} AS one\nFROM one\n", func(t *testing.T, df *Dockerfile) {
			if len(df.MetaArgs) != 1 || df.MetaArgs[0].Args[0].Key != "BASE" {
				t.Errorf("meta args = %+v", df.MetaArgs)
			}
			if len(df.Stages) != 2 || df.Stages[0].Name != "one" || df.Stages[1].BaseName != "one" {
				t.Errorf("stages = %+v", df.Stages)
			}
		}},
		{"COPY flags", "FROM busybox\nCOPY --from=one --chown=1:2 --chmod=600 a b /dst/\n", func(t *testing.T, df *Dockerfile) {
			c := df.Stages[0].Commands[0].(*instructions.CopyCommand)
			if c.From != "one" || c.Chown != "1:2" || c.Chmod != "600" || c.DestPath != "/dst/" || len(c.SourcePaths) != 2 {
				t.Errorf("COPY = %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := Parse("Dockerfile", strings.NewReader(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, df)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown instruction", "FROM busybox\nRUN true\nFROB x\n", "Dockerfile:3: unknown instruction: FROB"},
		{"no FROM", "RUN true\n", "Dockerfile:1:"},
		{"bad flag", "FROM busybox\nCOPY --bogus=1 a b\n", "Dockerfile:2: unknown flag: --bogus"},
		{"missing argument", "FROM busybox\n\nWORKDIR\n", "Dockerfile:3:"},
		{"URL in ADD", "FROM busybox\nADD https://example.com/x /x\n", "Dockerfile:2: ADD from a URL"},
		{"RUN --mount=type=secret", "FROM busybox\nRUN --mount=type=secret,id=x true\n", "Dockerfile:2: RUN --mount=type=secret is not supported"},
		{"empty", "", "Dockerfile:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("Dockerfile", strings.NewReader(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestIgnore(t *testing.T) {
	ig, err := ParseIgnore(strings.NewReader("# comment\n*.log\nsecret/\n!keep.log\n**/tmp\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{"a.log", true},
		{"keep.log", false},
		{"secret", true},
		{"secret/key", true},
		{"src/x/tmp", true},
		{"src/main.go", false},
		{".", false},
	}
	for _, tt := range tests {
		if got := ig.Excluded(tt.path); got != tt.want {
			t.Errorf("Excluded(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if (*Ignore)(nil).Excluded("x") {
		t.Error("nil Ignore excludes")
	}
}
