package nsinit

import (
	"os"
	"path/filepath"
)

// HelperName is the small program that runs the child's side (Child):
// cmd/berth-nsinit, built and installed with berth.
const HelperName = "berth-nsinit"

// Protocol is the version of Config as parent and child exchange it;
// it changes whenever Config does, so that a berth-nsinit from another
// build is refused with a clear error instead of misreading its
// configuration.
const Protocol = 3 // 2: a byte and the rootfs mount (user namespaces) before the JSON; 3: the seccomp filter as base64 (BPF)

// Helper returns the program and argv that Start runs as the child for
// a berth binary at exe: berth-nsinit next to exe or in
// ../libexec/berth/ (where packages install it), else exe itself as
// `berth __nsinit` (the same code, in the larger binary).
func Helper(exe string) (path string, argv []string) {
	dir := filepath.Dir(exe)
	for _, p := range []string{
		filepath.Join(dir, HelperName),
		filepath.Join(dir, "..", "libexec", "berth", HelperName),
	} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return filepath.Clean(p), []string{HelperName, "__nsinit"}
		}
	}
	return exe, []string{"berth", "__nsinit"}
}
