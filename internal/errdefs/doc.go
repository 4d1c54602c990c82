// Package errdefs holds the few classes of error that berth's packages
// return and that the CLI (and later the Engine API) branch on: it maps
// them to exit codes, HTTP statuses and hints. Packages wrap one of these
// sentinels with context (fmt.Errorf("image %s: %w", ref, errdefs.ErrNotFound))
// and callers test with errors.Is.
//
// It imports only the standard library and must stay that way: every
// other package may import it.
package errdefs
