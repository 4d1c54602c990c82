package imagebuild

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
)

// rewriteOwners maps every entry's owner and keeps the rest: names,
// bodies, links, PAX records.
func TestRewriteOwners(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	entries := []struct {
		h    tar.Header
		body string
	}{
		{tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, Uid: 1048576, Gid: 1048576}, ""},
		{tar.Header{Typeflag: tar.TypeReg, Name: "etc/app", Mode: 0o644, Uid: 1049576, Gid: 1048626, Size: 5, Uname: "host",
			PAXRecords: map[string]string{"SCHILY.xattr.user.x": "y"}}, "hello"},
		{tar.Header{Typeflag: tar.TypeSymlink, Name: "link", Linkname: "etc/app", Uid: 7, Gid: 7}, ""},
	}
	for _, e := range entries {
		h := e.h
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, e.body)
	}
	tw.Close()
	var out bytes.Buffer
	unshift := func(uid, gid int) (int, int) {
		f := func(id int) int {
			if id < 1048576 || id >= 1048576+65536 {
				return 65534
			}
			return id - 1048576
		}
		return f(uid), f(gid)
	}
	if err := rewriteOwners(&in, &out, unshift); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, body, link string
		uid, gid         int
	}{{"etc/", "", "", 0, 0}, {"etc/app", "hello", "", 1000, 50}, {"link", "", "etc/app", 65534, 65534}}
	tr := tar.NewReader(&out)
	for i, w := range want {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		b, _ := io.ReadAll(tr)
		if h.Name != w.name || string(b) != w.body || h.Linkname != w.link || h.Uid != w.uid || h.Gid != w.gid || h.Uname != "" {
			t.Errorf("entry %d = %q %q %q %d:%d %q, want %+v", i, h.Name, b, h.Linkname, h.Uid, h.Gid, h.Uname, w)
		}
		if i == 1 && h.PAXRecords["SCHILY.xattr.user.x"] != "y" {
			t.Errorf("PAX records lost: %v", h.PAXRecords)
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("more entries: %v", err)
	}
}
