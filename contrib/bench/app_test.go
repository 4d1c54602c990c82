package main

import (
	"testing"

	"github.com/berth/berth/unitgen"
)

// TestBenchAppParses keeps the benchmark's app a valid app file, with the
// three services it is meant to have.
func TestBenchAppParses(t *testing.T) {
	app, err := unitgen.Parse("/run/berth-bench/benchapp.toml", []byte(benchApp))
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Services) != 3 || len(app.Volumes) != 1 || len(app.Networks) != 1 {
		t.Errorf("the bench app has %d services, %d volumes, %d networks", len(app.Services), len(app.Volumes), len(app.Networks))
	}
}
