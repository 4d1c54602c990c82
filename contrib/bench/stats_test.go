package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	// 1..10 shuffled: p50 is the 5th, p90 the 9th, p100 the largest.
	xs := ms(7, 3, 10, 1, 5, 9, 2, 8, 4, 6)
	for _, tt := range []struct {
		p    float64
		want int
	}{{50, 5}, {90, 9}, {100, 10}, {1, 1}, {0, 1}} {
		if got := percentile(xs, tt.p); got != time.Duration(tt.want)*time.Millisecond {
			t.Errorf("p%v = %v, want %dms", tt.p, got, tt.want)
		}
	}
	if xs[0] != 7*time.Millisecond {
		t.Error("percentile sorted its argument in place")
	}
	if got := percentile(ms(42), 90); got != 42*time.Millisecond {
		t.Errorf("one sample: got %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("no samples: got %v", got)
	}
}

func TestReplaceBlock(t *testing.T) {
	block := blockBegin + "\nnew\n" + blockEnd + "\n"
	got := replaceBlock("# B\n\nintro\n"+blockBegin+"\nold\n"+blockEnd+"\n\nafter\n", block)
	if want := "# B\n\nintro\n" + block + "\nafter\n"; got != want {
		t.Errorf("replace:\ngot  %q\nwant %q", got, want)
	}
	got = replaceBlock("# B\nno markers", block)
	if want := "# B\nno markers\n\n" + block; got != want {
		t.Errorf("append:\ngot  %q\nwant %q", got, want)
	}
}
