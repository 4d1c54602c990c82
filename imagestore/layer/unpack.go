package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/berth/berth/internal/errdefs"
)

// Options controls the privileged parts of extraction.
type Options struct {
	// Privileged applies tar ownership (Lchown), creates overlayfs
	// whiteouts (a 0:0 character device, via mknod) and opaque markers, and
	// sets trusted.* xattrs. Callers running as root pass true.
	//
	// When false, ownership in the tar is ignored (files belong to the
	// caller), and an entry that needs privilege (a whiteout, an opaque
	// marker, a trusted.* xattr) fails with an [*EntryError] wrapping
	// [ErrNotPrivileged]: the layer cannot be represented faithfully, and
	// silently dropping a whiteout would resurrect deleted files.
	Privileged bool

	// Warn, if non-nil, receives one message per distinct kind of
	// degradation (xattrs not supported by the filesystem, xattrs skipped
	// by policy, AUFS metadata skipped): once per kind and Unpack call, not
	// once per file.
	Warn func(msg string)
}

// Stats describes what Unpack did.
type Stats struct {
	// Entries is the number of tar entries applied, whiteouts included;
	// skipped entries (PAX global headers, AUFS metadata) are not counted.
	Entries int
	// Bytes is the number of regular-file bytes written.
	Bytes int64
}

// ErrNotPrivileged is wrapped by the [*EntryError] for an entry that needs
// Options.Privileged (a whiteout, an opaque marker, a trusted.* xattr) when
// Unpack runs without it. It is not errdefs.ErrInvalid: the layer is valid,
// the caller lacks the privilege to represent it.
var ErrNotPrivileged = errors.New("needs privileged extraction (root)")

// EntryError is returned for a refused or failed tar entry. Refusals (a
// hostile or malformed entry) wrap errdefs.ErrInvalid; test with
// errors.Is(err, errdefs.ErrInvalid).
type EntryError struct {
	Name string // the entry's name as it appears in the tar
	Op   string // what was being done: "check name", "create", "link", ...
	Err  error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("layer entry %q: %s: %v", e.Name, e.Op, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// refusal returns an error of class errdefs.ErrInvalid with the reason.
func refusal(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalid)...)
}

// copyBufSize is the buffer used to copy file contents; buffers are pooled
// across Unpack calls because layers are unpacked concurrently.
const copyBufSize = 1 << 20

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, copyBufSize)
	return &b
}}

// Unpack reads an uncompressed tar stream from r and extracts it into dir,
// which must already exist, be empty, and be private to the caller (see the
// package documentation for the race this leaves to the caller). The caller
// unpacks into a fresh temporary directory and renames it into place.
//
// On success Unpack has read r to EOF, including the tar trailer and any
// record padding after it, so a caller hashing r sees every byte. On error
// dir may hold partial content, which the caller removes. A refused or failed
// entry is reported as an [*EntryError]; cancelling ctx stops extraction
// between entries and returns ctx.Err().
func Unpack(ctx context.Context, r io.Reader, dir string, opts Options) (Stats, error) {
	root, err := checkTarget(dir)
	if err != nil {
		return Stats{}, err
	}
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)

	u := newUnpacker(root, opts, *bufp)
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return u.stats, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// ErrInsecurePath (GODEBUG=tarinsecurepath=0) comes with a usable
		// header; our own name rules decide.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return u.stats, fmt.Errorf("read layer tar: %w", classify(err))
		}
		if err := u.entry(hdr, tr); err != nil {
			return u.stats, err
		}
	}
	if _, err := io.CopyBuffer(io.Discard, r, u.buf); err != nil {
		return u.stats, fmt.Errorf("read layer tar trailer: %w", err)
	}
	if err := u.finishDirs(); err != nil {
		return u.stats, err
	}
	return u.stats, nil
}

// classify marks an error from reading the tar stream as invalid input if
// the stream is malformed or truncated; other errors come from r itself and
// are returned as they are.
func classify(err error) error {
	if errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalid)
	}
	return err
}

// checkTarget returns dir as a clean absolute path after checking that it is
// an existing, empty directory.
func checkTarget(dir string) (string, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("unpack layer into %s: %w", dir, err)
	}
	f, err := os.Open(root)
	if err != nil {
		return "", fmt.Errorf("unpack layer: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	switch {
	case err == io.EOF:
		return root, nil
	case err != nil:
		return "", fmt.Errorf("unpack layer into %s: %w", root, err)
	default:
		return "", fmt.Errorf("unpack layer into %s: directory is not empty (has %q): %w",
			root, names[0], errdefs.ErrInvalid)
	}
}
