package machine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// User is the identity the container's process runs as.
type User struct {
	UID, GID uint32
	// AdditionalGids are the supplementary groups: the groups of
	// /etc/group that list the user by name. Only filled when -u named no
	// group, as in Docker.
	AdditionalGids []uint32
	// Home is the user's home directory from /etc/passwd, else "/".
	Home string
}

// maxID is the largest UID or GID Docker (runc's user package) accepts.
const maxID = 1<<31 - 1

// maxDBSize bounds how much of /etc/passwd or /etc/group is read.
const maxDBSize = 16 << 20

// ResolveUser resolves -u against the image's /etc/passwd and /etc/group
// in root, with the rules of Docker (runc's libcontainer/user
// GetExecUser):
//   - "" is root: UID 0, its passwd entry's GID and home if any, else 0
//     and "/".
//   - A name must have a passwd entry, else the error is "unable to find
//     user NAME: no matching entries in passwd file".
//   - A number is always a UID; its passwd entry, when there is one,
//     gives the GID and home, else GID 0 and home "/". It must lie in
//     0..2^31-1.
//   - ":GROUP" (name or number) replaces the GID in the same way; then no
//     supplementary groups are set. Without a group, the supplementary
//     groups are the /etc/group entries that list the matched user's name.
//
// A missing /etc/passwd or /etc/group is no error (a name then cannot be
// found). Lines that are blank or start with '#' are skipped. root may be
// nil, which is a root without those files.
//
// root must confine symlinks: pass (*os.Root).FS(), not os.DirFS, whose
// Open follows a symlink such as etc/passwd -> /etc/shadow out of the
// tree. Only regular files are read, at most 16 MiB each.
func ResolveUser(root fs.FS, spec string) (User, error) {
	userArg, groupArg, hasGroup := strings.Cut(spec, ":")
	if strings.Contains(groupArg, ":") {
		return User{}, invalidf("invalid user %q: want USER[:GROUP]", spec)
	}
	if hasGroup && groupArg == "" {
		hasGroup = false
	}
	uidArg, uidErr := strconv.Atoi(userArg)
	gidArg, gidErr := strconv.Atoi(groupArg)

	passwd, err := readDB(root, "etc/passwd")
	if err != nil {
		return User{}, err
	}
	u := User{Home: "/"}
	var matched string
	found := false
	for _, f := range passwd {
		name, uid := field(f, 0), atoiDefault(field(f, 2))
		var ok bool
		switch {
		case userArg == "":
			ok = uid == 0
		case uidErr == nil:
			ok = uid == uidArg
		default:
			ok = name == userArg
		}
		if !ok {
			continue
		}
		gid := atoiDefault(field(f, 3))
		if uid < 0 || uid > maxID || gid < 0 || gid > maxID {
			return User{}, invalidf("passwd entry for %s: uids and gids must be in range 0-%d", name, maxID)
		}
		matched, found = name, true
		u.UID, u.GID = uint32(uid), uint32(gid)
		if h := field(f, 5); h != "" {
			u.Home = h
		}
		break // the first match wins
	}
	if !found && userArg != "" {
		if uidErr != nil {
			return User{}, invalidf("unable to find user %s: no matching entries in passwd file", userArg)
		}
		if uidArg < 0 || uidArg > maxID {
			return User{}, invalidf("invalid user %q: uids and gids must be in range 0-%d", spec, maxID)
		}
		u.UID = uint32(uidArg)
	}

	if !hasGroup && matched == "" {
		return u, nil
	}
	groups, err := readDB(root, "etc/group")
	if err != nil {
		return User{}, err
	}
	if hasGroup {
		for _, f := range groups {
			var ok bool
			if gidErr == nil {
				ok = atoiDefault(field(f, 2)) == gidArg
			} else {
				ok = field(f, 0) == groupArg
			}
			if ok {
				gid := atoiDefault(field(f, 2))
				if gid < 0 || gid > maxID {
					return User{}, invalidf("group entry for %s: uids and gids must be in range 0-%d", field(f, 0), maxID)
				}
				u.GID = uint32(gid)
				return u, nil
			}
		}
		if gidErr != nil {
			return User{}, invalidf("unable to find group %s: no matching entries in group file", groupArg)
		}
		if gidArg < 0 || gidArg > maxID {
			return User{}, invalidf("invalid user %q: uids and gids must be in range 0-%d", spec, maxID)
		}
		u.GID = uint32(gidArg)
		return u, nil
	}
	seen := map[uint32]bool{}
	for _, f := range groups {
		gid := atoiDefault(field(f, 2))
		if gid < 0 || gid > maxID || seen[uint32(gid)] {
			continue
		}
		for _, member := range strings.Split(field(f, 3), ",") {
			if member == matched {
				seen[uint32(gid)] = true
				u.AdditionalGids = append(u.AdditionalGids, uint32(gid))
				break
			}
		}
	}
	return u, nil
}

// readDB reads a colon-separated database (passwd, group) from root and
// splits its lines into fields. A missing file is an empty database.
func readDB(root fs.FS, name string) ([][]string, error) {
	if root == nil {
		return nil, nil
	}
	f, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", name, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("read /%s: %w", name, err)
	} else if !fi.Mode().IsRegular() {
		return nil, invalidf("read /%s: not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDBSize+1))
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", name, err)
	}
	if len(b) > maxDBSize {
		return nil, invalidf("read /%s: larger than %d bytes", name, maxDBSize)
	}
	var db [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxDBSize)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		db = append(db, strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /%s: %w", name, err)
	}
	return db, nil
}

func field(f []string, i int) string {
	if i < len(f) {
		return strings.TrimSpace(f[i])
	}
	return ""
}

// atoiDefault parses a numeric field; a malformed one is -1, which
// matches no request and fails the range checks.
func atoiDefault(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
