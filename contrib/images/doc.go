// Command images builds the small container images that berth's tests and
// demos use, entirely offline, from the statically linked busybox shipped by
// Debian's busybox-static package.
//
// Usage:
//
//	go run ./contrib/images -o OUTDIR [-busybox /bin/busybox]
//
// It writes:
//
//	OUTDIR/busybox.tar        uncompressed rootfs tarball (busybox + applet symlinks,
//	                          /etc/passwd, /etc/group, /etc/os-release, /var/www/index.html)
//	OUTDIR/busybox-layered/   OCI image layout holding busybox-layered:latest, a
//	                          three-layer image (rootfs, additions with a hardlink,
//	                          whiteouts and an opaque directory)
//
// The output is deterministic: every run over the same busybox binary yields
// byte-identical files (fixed timestamps, uid/gid 0, sorted entries, USTAR
// headers without PAX records, gzip without name or mtime).
package main
