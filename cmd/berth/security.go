package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/berth/berth/machine"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// readSeccompOpt is the value of --security-opt seccomp=V: "unconfined",
// or a file in Docker's profile format whose text is kept in the
// container's options, as Docker's CLI keeps it.
func readSeccompOpt(v string) (string, error) {
	if v == machine.SeccompUnconfined {
		return v, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("seccomp profile %s is empty", v)
	}
	if !json.Valid(b) {
		return "", fmt.Errorf("seccomp profile %s is not valid JSON", v)
	}
	return string(b), nil
}

// addSecurityFlags adds --privileged, --device and --group-add.
func addSecurityFlags(fl *pflag.FlagSet, f *runFlags) {
	fl.BoolVar(&f.o.Privileged, "privileged", false, "Give extended privileges to this container (all capabilities, no seccomp, host devices: the host's root)")
	fl.StringArrayVar(&f.devices, "device", nil, "Add a host device to the container: HOST[:CONTAINER][:rwm]")
	fl.StringArrayVar(&f.o.GroupAdd, "group-add", nil, "Add additional groups to join")
	addUsernsFlag(fl, f) // userns.go
}

// hostDevices parses --device values and reads each host node's type
// and numbers, as Docker does when the container is created.
func hostDevices(specs []string) ([]machine.Device, error) {
	var out []machine.Device
	for _, s := range specs {
		d, err := machine.ParseDevice(s)
		if err != nil {
			return nil, err
		}
		var st unix.Stat_t
		if err := unix.Stat(d.HostPath, &st); err != nil {
			return nil, fmt.Errorf("error gathering device information while adding custom device %q: %w", d.HostPath, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			d.Type = "c"
		case unix.S_IFBLK:
			d.Type = "b"
		default:
			return nil, fmt.Errorf("error gathering device information while adding custom device %q: not a device node", d.HostPath)
		}
		d.Major, d.Minor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		d.Mode = st.Mode & 0o7777
		out = append(out, d)
	}
	return out, nil
}

func inspectDevices(ds []machine.Device) []inspectDev {
	out := []inspectDev{}
	for _, d := range ds {
		out = append(out, inspectDev{d.HostPath, d.ContainerPath, d.Permissions})
	}
	return out
}

// securityOpts are the --security-opt values as Docker's inspect shows
// them (a profile as its JSON text, as Docker keeps it).
func securityOpts(o machine.RunOptions) []string {
	out := []string{}
	if o.NoNewPrivileges {
		out = append(out, "no-new-privileges")
	}
	if o.NewPrivileges {
		out = append(out, "no-new-privileges=false")
	}
	if o.Seccomp != "" {
		out = append(out, "seccomp="+o.Seccomp)
	}
	return out
}
