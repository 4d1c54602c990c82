package journalfile

import (
	"errors"
	"testing"
)

func TestCursor(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		seqnum  uint64
		rt      uint64
		roundup bool // String gives in back
	}{
		{"s=7203b7d81f0e4803b24e52aeda913094;i=2d;b=60bc65c60fd04b4fa7ed73340aa0c905;m=3db6941bc;t=6611bbed17058;x=f635d7eafd8be820", true, 0x2d, 0x6611bbed17058, true},
		{"s=7203b7d81f0e4803b24e52aeda913094;i=2d;b=60bc65c60fd04b4fa7ed73340aa0c905;m=3db6941bc;t=6611bbed17058", false, 0, 0, false},
		{"s=7203;i=2d;b=60bc65c60fd04b4fa7ed73340aa0c905;m=3db6941bc;t=6611bbed17058;x=f6", false, 0, 0, false},
		{"s=7203b7d81f0e4803b24e52aeda913094;i=zz;b=60bc65c60fd04b4fa7ed73340aa0c905;m=3db6941bc;t=6611bbed17058;x=f6", false, 0, 0, false},
		{"garbage", false, 0, 0, false},
	}
	for _, tt := range tests {
		c, err := parseCursor(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("parseCursor(%q): %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("parseCursor(%q): %v is not ErrUnsupported (the caller falls back on it)", tt.in, err)
			}
			continue
		}
		if c.seqnum != tt.seqnum || c.realtime != tt.rt {
			t.Errorf("parseCursor(%q): seqnum %x realtime %x", tt.in, c.seqnum, c.realtime)
		}
		if tt.roundup && c.String() != tt.in {
			t.Errorf("String() = %q, want %q", c.String(), tt.in)
		}
	}
}
