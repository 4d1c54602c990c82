package machine

import (
	"fmt"
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"
)

const testPasswd = `# a comment
root:x:0:0:root:/root:/bin/sh

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
  www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
nohome:x:1002:1002:::/bin/sh
short:x:1003
bad:x:notanumber:1:::
alice:x:2000:2000:second alice, ignored:/nope:/bin/sh
`

const testGroup = `root:x:0:
# comment
wheel:x:10:root,alice
users:x:100:bob
alice:x:1000:
docker:x:999:alice,bob
audio:x:29:alice
wheel2:x:10:alice
`

func testRoot() fs.FS {
	return fstest.MapFS{
		"etc/passwd": {Data: []byte(testPasswd)},
		"etc/group":  {Data: []byte(testGroup)},
	}
}

func TestResolveUser(t *testing.T) {
	noFiles := fstest.MapFS{"bin/sh": {Data: []byte("x")}}
	onlyPasswd := fstest.MapFS{"etc/passwd": {Data: []byte(testPasswd)}}
	for _, tc := range []struct {
		name string
		root fs.FS
		spec string
		want User
		err  string
	}{
		{"default is root", testRoot(), "", User{UID: 0, GID: 0, AdditionalGids: []uint32{10}, Home: "/root"}, ""},
		{"root by name", testRoot(), "root", User{UID: 0, GID: 0, AdditionalGids: []uint32{10}, Home: "/root"}, ""},
		{"name", testRoot(), "alice", User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 999, 29}, Home: "/home/alice"}, ""},
		{"name with indented line", testRoot(), "www-data", User{UID: 33, GID: 33, Home: "/var/www"}, ""},
		{"primary gid from passwd", testRoot(), "bob", User{UID: 1001, GID: 100, AdditionalGids: []uint32{100, 999}, Home: "/home/bob"}, ""},
		{"empty home is /", testRoot(), "nohome", User{UID: 1002, GID: 1002, Home: "/"}, ""},
		{"short line", testRoot(), "short", User{UID: 1003, GID: 0, Home: "/"}, "uids and gids must be in range"},
		{"uid in passwd", testRoot(), "1000", User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 999, 29}, Home: "/home/alice"}, ""},
		{"uid not in passwd", testRoot(), "4242", User{UID: 4242, GID: 0, Home: "/"}, ""},
		{"name:group", testRoot(), "alice:docker", User{UID: 1000, GID: 999, Home: "/home/alice"}, ""},
		{"uid:gid", testRoot(), "1000:29", User{UID: 1000, GID: 29, Home: "/home/alice"}, ""},
		{"uid:gid unknown", testRoot(), "5000:6000", User{UID: 5000, GID: 6000, Home: "/"}, ""},
		{"name:gid", testRoot(), "alice:6000", User{UID: 1000, GID: 6000, Home: "/home/alice"}, ""},
		{"uid:group", testRoot(), "5000:users", User{UID: 5000, GID: 100, Home: "/"}, ""},
		{"empty group is implicit", testRoot(), "alice:", User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 999, 29}, Home: "/home/alice"}, ""},
		{":group is root", testRoot(), ":users", User{UID: 0, GID: 100, Home: "/root"}, ""},
		{"unknown name", testRoot(), "mallory", User{}, "unable to find user mallory: no matching entries in passwd file"},
		{"unknown group", testRoot(), "alice:nogroup", User{}, "unable to find group nogroup: no matching entries in group file"},
		{"uid out of range", testRoot(), "2147483648", User{}, "uids and gids must be in range 0-2147483647"},
		{"uid max", testRoot(), "2147483647", User{UID: 2147483647, Home: "/"}, ""},
		{"negative uid", testRoot(), "-1", User{}, "uids and gids must be in range"},
		{"gid out of range", testRoot(), "1:4294967296", User{}, "uids and gids must be in range"},
		{"too many colons", testRoot(), "a:b:c", User{}, "want USER[:GROUP]"},
		{"no files, numeric", noFiles, "1000", User{UID: 1000, GID: 0, Home: "/"}, ""},
		{"no files, numeric pair", noFiles, "1000:1000", User{UID: 1000, GID: 1000, Home: "/"}, ""},
		{"no files, default", noFiles, "", User{UID: 0, GID: 0, Home: "/"}, ""},
		{"no files, name", noFiles, "alice", User{}, "unable to find user alice: no matching entries in passwd file"},
		{"nil root, numeric", nil, "7", User{UID: 7, Home: "/"}, ""},
		{"no group file, name", onlyPasswd, "alice", User{UID: 1000, GID: 1000, Home: "/home/alice"}, ""},
		{"no group file, group name", onlyPasswd, "alice:docker", User{}, "unable to find group docker"},
		{"passwd is a directory", fstest.MapFS{"etc/passwd/x": {}}, "0", User{}, "not a regular file"},
	} {
		got, err := ResolveUser(tc.root, tc.spec)
		wantErr(t, fmt.Sprintf("%s: ResolveUser(%q)", tc.name, tc.spec), err, tc.err)
		if err == nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ResolveUser(%q) = %+v, want %+v", tc.name, tc.spec, got, tc.want)
		}
	}
}
