// Package fsutil holds the on-disk habits every berth store shares:
// atomic replacement of small files (write temp, fsync, rename, fsync the
// directory) and advisory locks across processes (flock).
//
// It imports only the standard library and golang.org/x/sys/unix.
package fsutil
