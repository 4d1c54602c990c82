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
// The store never calls mount(2): stacking layers with overlayfs is the
// caller's business (it gets the layer directories from LayerPath).
// It imports only the standard library, the OCI spec packages,
// imagestore/layer and berth's internal errdefs and fsutil; never
// machine, netsetup, unitgen or cmd.
package imagestore
