package main

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// entry is one file system object of a deterministic tar stream. Owner is
// always root (uid/gid 0) and the mtime is always epoch.
type entry struct {
	name     string // clean relative path without a trailing slash, e.g. "bin/sh"
	typ      byte   // tar.TypeDir, tar.TypeReg, tar.TypeSymlink or tar.TypeLink
	mode     int64  // permission bits, including sticky/setuid/setgid
	data     []byte // contents of a regular file
	linkname string // symlink target, or hardlink target (a path in the same archive)
}

func dir(name string, mode int64) entry { return entry{name: name, typ: tar.TypeDir, mode: mode} }

func file(name string, mode int64, data string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: mode, data: []byte(data)}
}

func symlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, mode: 0o777, linkname: target}
}

func hardlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeLink, mode: 0o644, linkname: target}
}

// writeTar writes entries as a USTAR archive in a canonical order: sorted by
// path (so a directory always precedes its contents), with hardlinks last so
// that their targets are already extracted. Hardlinks must point at a regular
// file of the same archive and every entry's parent directory must be present.
func writeTar(w io.Writer, entries []entry) error {
	byName := make(map[string]entry, len(entries))
	for _, e := range entries {
		if e.name == "" || e.name != path.Clean(e.name) || path.IsAbs(e.name) || e.name == "." || strings.HasPrefix(e.name, "../") {
			return fmt.Errorf("tar entry %q: not a clean relative path", e.name)
		}
		if _, dup := byName[e.name]; dup {
			return fmt.Errorf("tar entry %q: duplicate", e.name)
		}
		byName[e.name] = e
	}
	for _, e := range entries {
		if parent := path.Dir(e.name); parent != "." {
			if p, ok := byName[parent]; !ok || p.typ != tar.TypeDir {
				return fmt.Errorf("tar entry %q: parent directory %q missing", e.name, parent)
			}
		}
		if e.typ == tar.TypeLink {
			if t, ok := byName[e.linkname]; !ok || t.typ != tar.TypeReg {
				return fmt.Errorf("hardlink %q: target %q is not a regular file in the archive", e.name, e.linkname)
			}
		}
	}

	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if al, bl := a.typ == tar.TypeLink, b.typ == tar.TypeLink; al != bl {
			return bl
		}
		return a.name < b.name
	})

	tw := tar.NewWriter(w)
	for _, e := range sorted {
		hdr := &tar.Header{
			Typeflag: e.typ,
			Name:     e.name,
			Linkname: e.linkname,
			Mode:     e.mode,
			Uid:      0,
			Gid:      0,
			Uname:    "root",
			Gname:    "root",
			ModTime:  epoch,
			// Plain USTAR: no PAX records (atime/ctime or otherwise), fails
			// loudly if a name ever gets too long for it.
			Format: tar.FormatUSTAR,
		}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = int64(len(e.data))
		case tar.TypeSymlink, tar.TypeLink:
		default:
			return fmt.Errorf("tar entry %q: unsupported type %q", e.name, e.typ)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar entry %q: %w", e.name, err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

const (
	passwdFile = `root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`
	groupFile = `root:x:0:
www-data:x:33:
nogroup:x:65534:
`
	indexHTML = `<!DOCTYPE html>
<html>
<head><title>berth</title></head>
<body>
<h1>` + indexHTMLText + `</h1>
<p>Served by busybox httpd.</p>
</body>
</html>
`
)

// rootfsEntries returns the busybox rootfs: busyboxData as /bin/busybox, one
// /bin symlink per applet, a few directories and /etc files.
func rootfsEntries(busyboxData []byte, applets []string, version string) ([]entry, error) {
	if !validVersion.MatchString(version) {
		return nil, fmt.Errorf("invalid busybox version %q", version)
	}
	es := []entry{
		dir("bin", 0o755),
		dir("dev", 0o755),
		dir("etc", 0o755),
		dir("home", 0o755),
		dir("proc", 0o555),
		dir("root", 0o700),
		dir("run", 0o755),
		dir("sbin", 0o755),
		dir("sys", 0o555),
		dir("tmp", 0o1777),
		dir("usr", 0o755),
		dir("usr/bin", 0o755),
		dir("var", 0o755),
		dir("var/www", 0o755),
		{name: "bin/busybox", typ: tar.TypeReg, mode: 0o755, data: busyboxData},
		symlink("usr/bin/env", "/bin/busybox"),
		file("etc/passwd", 0o644, passwdFile),
		file("etc/group", 0o644, groupFile),
		file("etc/os-release", 0o644, fmt.Sprintf(
			"NAME=\"berth busybox\"\nID=busybox\nVERSION_ID=%s\nPRETTY_NAME=\"berth busybox %s\"\n", version, version)),
		file("var/www/index.html", 0o644, indexHTML),
	}
	seen := map[string]bool{}
	for _, a := range applets {
		if a == "busybox" || seen[a] {
			continue
		}
		if err := checkAppletName(a); err != nil {
			return nil, err
		}
		seen[a] = true
		es = append(es, symlink("bin/"+a, "busybox"))
	}
	return es, nil
}

// rootfsTar writes the busybox rootfs tarball (also layer 1 of the layered
// image). busybox is the path of the binary to embed; it is not executed.
func rootfsTar(w io.Writer, busybox string, applets []string, version string) error {
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	es, err := rootfsEntries(data, applets, version)
	if err != nil {
		return err
	}
	return writeTar(w, es)
}

// layer2Tar adds /etc/motd and /data with two files and a hardlink.
func layer2Tar(w io.Writer) error {
	return writeTar(w, []entry{
		dir("etc", 0o755),
		file("etc/motd", 0o644, "layer two\n"),
		dir("data", 0o755),
		file("data/a.txt", 0o644, "file a (layer two)\n"),
		file("data/b.txt", 0o644, "file b (layer two)\n"),
		hardlink("data/a-link", "data/a.txt"),
	})
}

// layer3Tar removes /data/b.txt with a whiteout, replaces the whole of
// /var/www through an opaque whiteout and rewrites /etc/motd.
func layer3Tar(w io.Writer) error {
	return writeTar(w, []entry{
		dir("data", 0o755),
		file("data/.wh.b.txt", 0o644, ""),
		dir("etc", 0o755),
		file("etc/motd", 0o644, "layer three\n"),
		dir("var", 0o755),
		dir("var/www", 0o755),
		file("var/www/.wh..wh..opq", 0o644, ""),
		file("var/www/index.html", 0o644, "<h1>layer three</h1>\n"),
	})
}
