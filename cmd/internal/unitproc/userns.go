package unitproc

import (
	"github.com/berth/berth/machine"
)

// deviceSources are the host nodes of rec's --device nodes by their
// path in the container, for a container with a user namespace, which
// binds them in (nsinit.Config.DeviceSources); nil otherwise.
func deviceSources(rec *machine.Container) map[string]string {
	if rec.IDMap == nil || len(rec.Options.Devices) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, d := range rec.Options.Devices {
		p := d.ContainerPath
		if p == "" {
			p = d.HostPath
		}
		m[p] = d.HostPath
	}
	return m
}
