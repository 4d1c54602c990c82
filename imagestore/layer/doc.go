// Package layer extracts one OCI image layer (an uncompressed tar stream)
// into a directory that the image store later stacks with overlayfs.
//
// # What it owns
//
//   - The tar entry rules: which names, types, links and xattrs a layer may
//     carry, and what is refused. A refusal is an [*EntryError] that wraps
//     errdefs.ErrInvalid. Names are cleaned lexically; absolute names, names
//     that climb out of the root with "..", names containing NUL, and
//     non-directories named "." are refused. Character and block devices are
//     refused without exception: a layer cannot carry a device node, not even
//     a 0:0 character device (the overlayfs whiteout format is produced only
//     from OCI ".wh." entries, never copied from the tar).
//   - Safe path resolution inside the target directory. The parent of every
//     entry is resolved with securejoin and refused if resolving it traversed
//     a symlink (the "symlink, then write through it" attack), hardlink
//     targets are resolved by the same rule, and the final component of an
//     entry is never followed: whatever exists there is replaced (O_EXCL and
//     O_NOFOLLOW on create, Lchown, no-follow utimensat). Verified parent
//     directories are cached for the length of one Unpack; replacing a cached
//     directory drops it and everything below it from the cache.
//   - The overlayfs on-disk whiteout format. ".wh.NAME" becomes a character
//     device 0:0 at NAME and ".wh..wh..opq" sets trusted.overlay.opaque=y on
//     its directory. Both need Options.Privileged. Following the OCI image
//     spec, a whiteout hides only lower layers: if NAME already exists in this
//     layer the whiteout does not remove it (an existing directory is marked
//     opaque instead, and a directory that replaces a whiteout of this layer
//     is marked opaque too). AUFS metadata (".wh..wh.*" other than the opaque
//     marker, and anything below it) is skipped, as containerd does.
//   - Metadata: ownership (Privileged only), all permission bits including
//     setuid/setgid/sticky (applied after chown, which clears them), xattrs
//     from SCHILY.xattr.* PAX records, and mtimes. Directory metadata is
//     applied at the end, deepest first, because extracting children changes
//     a directory's mtime and a read-only directory would block its children.
//     Hardlinks carry no metadata of their own: they share the inode of their
//     target, whose own entry set it.
//
// Xattr policy: user.* and security.* are applied; trusted.* needs
// Privileged (else the entry fails with [ErrNotPrivileged]); trusted.overlay.*
// is never copied from a tar, because overlayfs would interpret it
// (redirects, metacopy, opacity) and the only overlay metadata a layer may
// express is the whiteout format above; other namespaces (system.*, ...) are
// skipped. Skipped xattrs, and xattrs the filesystem does not support, are
// reported through Options.Warn once per kind and per Unpack call.
//
// Sparse entries (GNU and PAX formats) are expanded by archive/tar; their
// holes are written as zeros.
//
// # What it must not import
//
// Nothing of berth's except internal/errdefs. It never talks to D-Bus and
// never calls mount(2): stacking the unpacked directory is the overlay
// package's job, and locking or renaming the directory is the image store's.
//
// # The race it does not cover
//
// The target directory must be private to the caller for the whole call: the
// caller unpacks into a fresh temporary directory that no other process (and
// no container) can write, and renames it into place afterwards. Every check
// here is path based (securejoin, then an operation on the checked path), so
// another process that swaps a checked directory for a symlink between the
// check and the use could redirect a write outside the directory. Unpack
// does not defend against that; a private directory makes it impossible.
package layer
