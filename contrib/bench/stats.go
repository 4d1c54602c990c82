package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of xs by the
// nearest-rank method: the smallest sample that at least p% of the
// samples are less than or equal to. It is always one of the samples.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// ms formats d in milliseconds with one decimal (two below 10 ms).
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f < 10 {
		return fmt.Sprintf("%.2f ms", f)
	}
	return fmt.Sprintf("%.1f ms", f)
}

// ratio formats a/b as "1.23×".
func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

// kib formats a size in KiB as "1234 KiB" or "1.23 MiB".
func kib(k int64) string {
	if k >= 1024 {
		return fmt.Sprintf("%.2f MiB", float64(k)/1024)
	}
	return fmt.Sprintf("%d KiB", k)
}
