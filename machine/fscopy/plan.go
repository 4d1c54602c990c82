package fscopy

import (
	"errors"
	"path"
	"strings"
)

// Docker's errors for copies that cannot be done (moby's pkg/archive
// copy.go has the same texts).
var (
	ErrNotDirectory  = errors.New("not a directory")
	ErrDirNotExists  = errors.New("no such directory")
	ErrCannotCopyDir = errors.New("cannot copy directory")
)

// Info is what Plan needs to know of the destination.
type Info struct {
	Exists, IsDir bool
}

// Target is where a copy lands: the source's top entry becomes Name in
// the existing directory Dir; an empty Name copies the content of a
// source directory into Dir itself.
type Target struct {
	Dir, Name string
}

// HasTrailingSep reports whether p ends with "/" or "/.", which Docker
// reads as "this must be a directory" (and, for a source, "/." as "its
// content").
func HasTrailingSep(p string) bool {
	return strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")
}

// Plan applies `docker cp`'s rules (see docker-container-cp(1)) to a copy
// of srcPath, a directory or not, to dstPath, which dst describes. Both
// paths are as the user gave them, slash-separated and absolute:
//   - a file onto a missing path creates that file; onto a missing path
//     that ends in "/" is ErrDirNotExists; onto a file overwrites it;
//     into a directory keeps its name;
//   - a directory onto a missing path creates it with the content; onto a
//     file is ErrCannotCopyDir; into a directory keeps its name, unless
//     the source ends in "/." when its content is copied;
//   - the root "/" copies like "/.";
//   - a source that ends in "/" but is not a directory is ErrNotDirectory.
//
// A missing parent of dstPath is the caller's to report.
func Plan(srcPath string, srcIsDir bool, dstPath string, dst Info) (Target, error) {
	if HasTrailingSep(srcPath) && !srcIsDir {
		return Target{}, ErrNotDirectory
	}
	srcBase := path.Base(path.Clean(srcPath))
	dstClean := path.Clean(dstPath)
	switch {
	case dst.Exists && dst.IsDir:
		if srcIsDir && (strings.HasSuffix(srcPath, "/.") || srcBase == "/") {
			return Target{Dir: dstClean}, nil
		}
		return Target{Dir: dstClean, Name: srcBase}, nil
	case dst.Exists:
		if HasTrailingSep(dstPath) {
			return Target{}, ErrNotDirectory
		}
		if srcIsDir {
			return Target{}, ErrCannotCopyDir
		}
	case HasTrailingSep(dstPath) && !srcIsDir:
		return Target{}, ErrDirNotExists
	}
	return Target{Dir: path.Dir(dstClean), Name: path.Base(dstClean)}, nil
}

// entryName cleans the name of a tar entry to a path relative to the
// directory it is extracted into; ok is false for a name that leaves it.
func entryName(name string) (string, bool) {
	n := path.Clean("/" + name)
	if n == "/" {
		return ".", true
	}
	n = strings.TrimPrefix(n, "/")
	// Clean of an absolute path cannot keep "..": what remains is
	// inside, but a name that tried to climb out is refused.
	for _, c := range strings.Split(path.Clean(name), "/") {
		if c == ".." {
			return "", false
		}
	}
	return n, true
}
