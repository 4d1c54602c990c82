// Package imagestore owns berth's images on disk: an OCI image layout
// (oci-layout, index.json, blobs/sha256) at /var/lib/berth/images, the
// layers unpacked once each under /var/lib/berth/layers/sha256/<chain ID>,
// and the references (names) that point at images.
//
// On-disk rules:
//   - Blobs are content addressed and verified: written to a temporary
//     file, hashed, fsynced and renamed; read back and re-hashed. A blob or
//     layer that exists already is success, never an error.
//   - index.json is replaced atomically under index.lock.
//   - Writers that add content hold images.lock shared for their whole run;
//     garbage collection holds it exclusively, so it never deletes what a
//     writer has stored but not referenced yet.
//   - Temporary files and directories live in /var/lib/berth/tmp, each
//     flocked by its writer. Open removes those nobody holds: the debris
//     of a crash or kill -9. Deletions of layers rename into tmp first.
//
// Pull fetches an image from a registry (OCI distribution, through
// go-containerregistry's remote package): the name is resolved as
// Docker does (busybox is docker.io/library/busybox:latest) and stored
// in Docker's short form, an index yields the image for this machine's
// platform, and the manifest and config are stored as the registry sent
// them, so the image keeps the registry's digests. Layers are read once
// each, a few at a time: the compressed blob (gzip, zstd or plain tar)
// is stored, hashed and unpacked in the same pass, and the blob's digest
// and the uncompressed diff ID must both match before anything becomes
// visible. A layer whose chain ID is unpacked already is not fetched. All
// layers wait in locked temporary directories until every one is
// verified; only then are they renamed into place and the name set, so a
// failed pull leaves the store as it was. Plain HTTP is allowed only for
// registries on loopback or when asked for (PullOptions.Insecure).
//
// Commit stores an image on top of another (a build step, berth
// commit): the parent's layers plus an optional new layer tar, unpacked
// under its chain ID, and a config that may carry Docker's fields the
// OCI config has not. Build steps' images are marked intermediate in
// index.json (AnnotationIntermediate); they are the build cache.
//
// Fsck re-verifies the store (every blob's digest; every unpacked layer
// by unpacking its blob again and comparing the trees) and repairs what
// it can; Prune and DiskUsage serve image prune and system df.
//
// The store never calls mount(2): stacking layers with overlayfs is the
// caller's business (it gets the layer directories from LayerPath).
// It imports the standard library, the OCI spec packages,
// imagestore/layer, berth's internal errdefs and fsutil,
// klauspost/compress (gzip, zstd) and go-containerregistry (pull only);
// never machine, netsetup, unitgen or cmd.
package imagestore
