package unitproc

import (
	"github.com/berth/berth/machine"
)

// copyUpTargets are the targets of rec's volumes that an empty volume
// is seeded at from the image (all but nocopy).
func copyUpTargets(rec *machine.Container) []string {
	var out []string
	for _, m := range rec.Options.Mounts {
		if m.Type == machine.MountVolume && !m.NoCopy {
			out = append(out, m.Target)
		}
	}
	return out
}

// RemoveAnonymousVolumes removes rec's anonymous volumes that no other
// container uses (rm -v, --rm), and says which it removed.
func RemoveAnonymousVolumes(root string, cs *machine.Containers, rec *machine.Container) ([]string, error) {
	recs, err := cs.List()
	if err != nil {
		return nil, err
	}
	vols, err := machine.OpenVolumes(root)
	if err != nil {
		return nil, err
	}
	removed, err := machine.RemoveAnonymousVolumes(vols, rec, recs)
	for _, n := range removed {
		EmitVolume("destroy", n)
	}
	return removed, err
}
