package main

import (
	"slices"
	"strings"
	"testing"
)

func TestPsRows(t *testing.T) {
	out := "UID          PID    PPID  C STIME TTY          TIME CMD\n" +
		"root           1       0  0 10:00 ?        00:00:01 /sbin/init\n" +
		"root         104       1 99 10:01 ?        00:00:09 sh -c while :; do :; done\n" +
		"root         105     104  0 10:01 ?        00:00:00 sleep 1000\n"
	tests := []struct {
		name string
		out  string
		pids []int
		want []string // rows, columns joined with "|"
		err  string
	}{
		{"the container's only", out, []int{104, 105}, []string{
			"root|104|1|99|10:01|?|00:00:09|sh -c while :; do :; done",
			"root|105|104|0|10:01|?|00:00:00|sleep 1000"}, ""},
		{"none", out, []int{7}, nil, ""},
		{"no PID column", "COMMAND\nsh\n", []int{1}, nil, "couldn't find PID field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			titles, rows, err := psRows(tt.out, tt.pids)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(titles) != 8 {
				t.Fatalf("titles %q, err %v", titles, err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, strings.Join(r, "|"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestStatsLine(t *testing.T) {
	prev := sample{ok: true}
	cur := prev
	cur.at = prev.at.Add(1e9)
	cur.st.CPUNanos, cur.st.MemUsage, cur.st.MemLimit, cur.st.PIDs = 5e8, 1536*1024, 64<<20, 2
	cur.st.BlockRead, cur.rx, cur.tx = 1200, 486, 0
	got := statsLine(prev, cur)
	want := statsRow{CPUPerc: "50.00%", MemUsage: "1.5MiB / 64MiB", MemPerc: "2.34%", NetIO: "486B / 0B", BlockIO: "1.2kB / 0B", PIDs: "2"}
	if got != want {
		t.Errorf("statsLine = %+v\nwant %+v", got, want)
	}
	if got := statsLine(prev, sample{}); got.CPUPerc != "0.00%" || got.PIDs != "0" {
		t.Errorf("statsLine of a stopped container = %+v", got)
	}
}
