package main

import "github.com/berth/berth/cmd/internal/unitproc"

// What the CLI shares with the processes of a container's unit
// (cmd/internal/unitproc), under the CLI's own names.
var (
	emit                   = unitproc.Emit
	emitVolume             = unitproc.EmitVolume
	containerFields        = unitproc.ContainerFields
	networksDir            = unitproc.NetworksDir
	networkStore           = unitproc.NetworkStore
	networkStoreChecked    = unitproc.NetworkStoreChecked
	containerNetwork       = unitproc.ContainerNetwork
	portStore              = unitproc.PortStore
	hostPortFree           = unitproc.HostPortFree
	disconnect             = unitproc.Disconnect
	attachExtra            = unitproc.AttachExtra
	dnsUnit                = unitproc.DNSUnit
	removeAnonymousVolumes = unitproc.RemoveAnonymousVolumes
	readyWhenHealthy       = unitproc.ReadyWhenHealthy
	exePath                = unitproc.CLIPath
)

const (
	consoleMarker = unitproc.ConsoleMarker
	ttySocket     = unitproc.TTYSocket
	ttyRelayArg   = unitproc.TTYRelayArg
)
