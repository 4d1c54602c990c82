package machine

import (
	"math"
	"reflect"
	"testing"
)

func TestUpdate(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	always := RestartPolicy{Name: RestartAlways}
	start := RunOptions{Memory: 64 << 20, CPUs: 1, PidsLimit: 10, Restart: RestartPolicy{Name: RestartNo}}
	tests := []struct {
		name    string
		u       Update
		err     string
		want    RunOptions
		runtime []Property
	}{
		{"nothing", Update{}, "", start, nil},
		{"memory", Update{Memory: i64(32 << 20)}, "", RunOptions{Memory: 32 << 20, CPUs: 1, PidsLimit: 10, Restart: start.Restart},
			[]Property{{"MemoryMax", uint64(32 << 20)}, {"MemorySwapMax", uint64(32 << 20)}}},
		{"memory removed", Update{Memory: i64(0)}, "", RunOptions{CPUs: 1, PidsLimit: 10, Restart: start.Restart},
			[]Property{{"MemoryMax", uint64(math.MaxUint64)}, {"MemorySwapMax", uint64(math.MaxUint64)}}},
		{"memory too small", Update{Memory: i64(1 << 20)}, "Minimum memory limit allowed is 6MB", start, nil},
		{"cpus", Update{CPUs: f64(0.5)}, "", RunOptions{Memory: 64 << 20, CPUs: 0.5, PidsLimit: 10, Restart: start.Restart},
			[]Property{{"CPUQuotaPerSecUSec", uint64(500000)}}},
		{"cpus removed", Update{CPUs: f64(0)}, "", RunOptions{Memory: 64 << 20, PidsLimit: 10, Restart: start.Restart},
			[]Property{{"CPUQuotaPerSecUSec", uint64(math.MaxUint64)}}},
		{"cpus too few", Update{CPUs: f64(0.001)}, "range of CPUs", start, nil},
		{"pids -1", Update{PidsLimit: i64(-1)}, "", RunOptions{Memory: 64 << 20, CPUs: 1, Restart: start.Restart},
			[]Property{{"TasksMax", uint64(math.MaxUint64)}}},
		{"pids", Update{PidsLimit: i64(20)}, "", RunOptions{Memory: 64 << 20, CPUs: 1, PidsLimit: 20, Restart: start.Restart},
			[]Property{{"TasksMax", uint64(20)}}},
		{"restart: from the next start", Update{Restart: &always}, "", RunOptions{Memory: 64 << 20, CPUs: 1, PidsLimit: 10, Restart: always}, nil},
		{"restart bad", Update{Restart: &RestartPolicy{Name: "sometimes"}}, "unknown policy 'sometimes'", start, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.u.Validate()
			wantErr(t, "Validate", err, tt.err)
			if err != nil {
				return
			}
			o := start
			tt.u.Apply(&o)
			if !reflect.DeepEqual(o, tt.want) {
				t.Errorf("Apply: %+v, want %+v", o, tt.want)
			}
			if got := tt.u.RuntimeProperties(); !reflect.DeepEqual(got, tt.runtime) {
				t.Errorf("RuntimeProperties: %v, want %v", got, tt.runtime)
			}
		})
	}
}
