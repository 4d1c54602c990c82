// Command berth is the berth CLI: Docker's verbs and flags over images
// and containers that systemd owns. This package is the one place that
// wires the concrete implementations (image store, systemd, network)
// together; it parses flags, prints, and maps errors to Docker's exit
// codes. `berth system service` (api*.go, docs/api.md) serves Docker's
// Engine API with handlers over the same functions the commands call.
//
// Nothing imports it; it may import every berth package.
package main
