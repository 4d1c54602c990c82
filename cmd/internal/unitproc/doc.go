// Package unitproc is what the processes of a container's unit do:
// `__init` (the unit's ExecStart: it starts the container's PID 1 in new
// namespaces, connects its networks, registers it with machined, hands it
// to systemd and exits) and `__cleanup` (ExecStopPost: it releases the
// network and volumes, records the exit and writes the die record), with
// the network, volume, terminal, health-timer and event glue they share
// with the CLI.
//
// Two programs run it: the berth CLI (`berth --root R __init ID`) and
// berth-unit, a small program of its own (cmd/berth-unit) that systemd
// starts instead when it is next to the CLI or in ../libexec/berth/
// (Programs). Both run on
// every container's path, and a program without the CLI's image store,
// registry client and Dockerfile parser starts in a fraction of the
// time. Nothing here imports those (internal/archtest checks it).
//
// The units and processes this package starts for a container run the
// berth CLI (CLIPath): a health check's timer (`berth __health`), a user
// network's DNS socket (`berth __dns`) and a terminal's relay (`berth
// __ttylog`).
package unitproc
