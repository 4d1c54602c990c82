package console

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		ok   bool
	}{
		{DefaultDetachKeys, []byte{16, 17}, true},
		{"ctrl-a", []byte{1}, true},
		{"a,ctrl-[,ctrl-@", []byte{'a', 27, 0}, true},
		{"ctrl-1", nil, false},
		{"ctrl", nil, false},
		{"ab", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseKeys(tt.in)
		if (err == nil) != tt.ok || !bytes.Equal(got, tt.want) {
			t.Errorf("ParseKeys(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestCopyInput(t *testing.T) {
	keys := []byte{16, 17}
	tests := []struct {
		name, in, want string
		detached       bool
	}{
		{"plain", "ls\r", "ls\r", false},
		{"detach", "ls\r\x10\x11more", "ls\r", true},
		{"ctrl-p alone passes", "a\x10b", "a\x10b", false},
		{"ctrl-p twice then q", "\x10\x10\x11", "\x10", true},
		{"ctrl-p at the end is held", "a\x10", "a", false},
		{"ctrl-c passes", "\x03", "\x03", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := CopyInput(&out, strings.NewReader(tt.in), keys)
			if out.String() != tt.want || errors.Is(err, ErrDetached) != tt.detached {
				t.Errorf("CopyInput(%q) wrote %q, %v; want %q, detached %v", tt.in, out.String(), err, tt.want, tt.detached)
			}
		})
	}
}
