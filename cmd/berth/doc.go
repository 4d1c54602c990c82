// Command berth is the berth CLI: Docker's verbs and flags over images
// and containers that systemd owns. This package is the one place that
// wires the concrete implementations (image store, systemd, network)
// together; it parses flags, prints, and maps errors to Docker's exit
// codes.
//
// Nothing imports it; it may import every berth package.
package main
