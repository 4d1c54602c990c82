// Package journal writes to and reads from systemd-journald without cgo:
// it owns berth's use of journald's three client interfaces.
//
//   - Send: the native protocol, datagrams on /run/systemd/journal/socket
//     (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), falling back to a
//     sealed memfd passed with SCM_RIGHTS for entries too large for a
//     datagram, as sd_journal_sendv(3) does.
//   - OpenStream: the stdout stream socket /run/systemd/journal/stdout,
//     with the header systemd writes for StandardOutput=journal, so that a
//     container's stdout and stderr become journal entries.
//   - Synchronize: the Varlink call io.systemd.Journal.Synchronize on
//     /run/systemd/journal/io.systemd.journal, what `journalctl --sync`
//     does, so that what was sent is readable when it returns.
//
// Reading goes through journalctl (Read runs `journalctl --output=json`):
// the journal file format is an on-disk detail of systemd, and sd-journal,
// the library that reads it, needs cgo. The one read on every container's
// path, `berth run`'s last, has a shortcut that reads the files directly
// (the subpackage journalfile) and falls back on Read.
//
// It must not import godbus, go-systemd or anything that needs cgo; it
// imports only the standard library, golang.org/x/sys/unix and
// internal/errdefs, so that it stays usable from any berth binary.
package journal
