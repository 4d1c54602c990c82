package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/machine"
	"github.com/docker/docker/api/types/container"
)

func TestUpdateFromAPI(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		cfg  container.UpdateConfig
		want machine.Update
		err  string
	}{
		{"memory, as the CLI sends -m", container.UpdateConfig{Resources: container.Resources{Memory: 64 << 20, MemorySwap: 0}},
			machine.Update{Memory: i64(64 << 20)}, ""},
		{"memory and the same swap", container.UpdateConfig{Resources: container.Resources{Memory: 64 << 20, MemorySwap: 64 << 20}},
			machine.Update{Memory: i64(64 << 20)}, ""},
		{"nano cpus", container.UpdateConfig{Resources: container.Resources{NanoCPUs: 1500000000}}, machine.Update{CPUs: f64(1.5)}, ""},
		{"quota over period", container.UpdateConfig{Resources: container.Resources{CPUQuota: 50000, CPUPeriod: 100000}}, machine.Update{CPUs: f64(0.5)}, ""},
		{"pids unlimited", container.UpdateConfig{Resources: container.Resources{PidsLimit: i64(-1)}}, machine.Update{PidsLimit: i64(-1)}, ""},
		{"restart", container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}},
			machine.Update{Restart: &machine.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}}, ""},
		{"nothing", container.UpdateConfig{}, machine.Update{}, "you must provide one or more flags"},
		{"cpu shares", container.UpdateConfig{Resources: container.Resources{CPUShares: 512}}, machine.Update{}, "berth update changes"},
		{"another swap", container.UpdateConfig{Resources: container.Resources{Memory: 64 << 20, MemorySwap: 128 << 20}}, machine.Update{}, "berth update changes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := updateFromAPI(tt.cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("updateFromAPI: %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("updateFromAPI: %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
