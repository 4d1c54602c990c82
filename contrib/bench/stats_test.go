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
	run := runBlock.begin + "\nnew run\n" + runBlock.end + "\n"
	build := buildBlock.begin + "\nnew build\n" + buildBlock.end + "\n"
	twoOld := "# B\n\nintro\n" + runBlock.begin + "\nold run\n" + runBlock.end + "\n\nmiddle\n" +
		buildBlock.begin + "\nold build\n" + buildBlock.end + "\n\nafter\n"
	tests := []struct {
		name, doc string
		m         markers
		block     string
		want      string
	}{
		{"replace", "# B\n\nintro\n" + runBlock.begin + "\nold\n" + runBlock.end + "\n\nafter\n", runBlock, run, "# B\n\nintro\n" + run + "\nafter\n"},
		{"append", "# B\nno markers", runBlock, run, "# B\nno markers\n\n" + run},
		{"the run block of two", twoOld, runBlock, run, "# B\n\nintro\n" + run + "\nmiddle\n" + buildBlock.begin + "\nold build\n" + buildBlock.end + "\n\nafter\n"},
		{"the build block of two", twoOld, buildBlock, build, "# B\n\nintro\n" + runBlock.begin + "\nold run\n" + runBlock.end + "\n\nmiddle\n" + build + "\nafter\n"},
		{"a begin marker with another text", "x\n<!-- build-bench:begin: older text -->\nold\n" + buildBlock.end + "\ny\n", buildBlock, build, "x\n" + build + "y\n"},
	}
	for _, tt := range tests {
		if got := replaceBlock(tt.doc, tt.m, tt.block); got != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
