package machine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/berth/berth/internal/fsutil"
)

// The file side of --userns=auto (see userns.go): the subordinate id
// files, the lock under which blocks are taken, and the ownership of a
// new container's directories.

// SubIDFiles are /etc/subuid and /etc/subgid; tests point them elsewhere.
type SubIDFiles struct{ UID, GID string }

// HostSubIDFiles are the host's.
var HostSubIDFiles = SubIDFiles{UID: "/etc/subuid", GID: "/etc/subgid"}

// ReserveIDs takes a block of size host ids for a new container. It
// holds a lock (containers/userns.lock) from the choice until the
// caller's release, which the caller calls once the container's record,
// which names the block, is written (Create) or has failed: so two
// creates never take the same block. A host whose /etc/subuid or
// /etc/subgid has no range for SubIDUser gets one (SubIDLine), once.
func (c *Containers) ReserveIDs(files SubIDFiles, size uint32) (m IDMap, release func(), err error) {
	lock, err := fsutil.LockFile(filepath.Join(c.dir, "userns.lock"), true)
	if err != nil {
		return IDMap{}, nil, fmt.Errorf("user namespace: lock: %w", err)
	}
	defer func() {
		if err != nil {
			lock.Unlock()
		}
	}()
	uids, err := subIDs(files.UID)
	if err != nil {
		return IDMap{}, nil, err
	}
	gids, err := subIDs(files.GID)
	if err != nil {
		return IDMap{}, nil, err
	}
	recs, err := c.List()
	if err != nil {
		return IDMap{}, nil, fmt.Errorf("user namespace: %w", err)
	}
	var used []IDMap
	for _, r := range recs {
		if r.IDMap != nil {
			used = append(used, *r.IDMap)
		}
	}
	m, err = AllocateIDs(uids, gids, used, size)
	if err != nil {
		return IDMap{}, nil, fmt.Errorf("user namespace: %w", err)
	}
	return m, func() { lock.Unlock() }, nil
}

// subIDs reads SubIDUser's ranges from file, adding the default range
// when it has none (the file is created if missing).
func subIDs(file string) ([]SubIDRange, error) {
	b, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("user namespace: %w", err)
	}
	rs, err := ParseSubIDs(strings.NewReader(string(b)), SubIDUser, "")
	if err != nil {
		return nil, fmt.Errorf("user namespace: read %s: %w", file, err)
	}
	if len(rs) > 0 {
		return rs, nil
	}
	line := SubIDLine(string(b))
	data := string(b)
	if data != "" && !strings.HasSuffix(data, "\n") {
		data += "\n"
	}
	if err := fsutil.WriteFileAtomic(file, []byte(data+line), 0o644); err != nil {
		return nil, fmt.Errorf("user namespace: add %q to %s: %w", strings.TrimSpace(line), file, err)
	}
	fmt.Fprintf(os.Stderr, "berth: added %q to %s for --userns=auto\n", strings.TrimSpace(line), file)
	return ParseSubIDs(strings.NewReader(line), SubIDUser, "")
}

// userNamespaceDirs prepares a new container's directory (dir, still
// .tmp-<id>) for a user namespace of block m: the upper layer's root,
// which is the container's "/", belongs to the container's root, and
// the path to the rootfs mount point and to the files bind-mounted from
// the state directory (/etc/hosts…) can be traversed by the container's
// root, which has no capability over the host's files. Only traversal:
// the directories stay unreadable to others, and the records in them
// are 0600.
func (c *Containers) userNamespaceDirs(dir string, m IDMap) error {
	if err := os.Chown(filepath.Join(dir, "upper"), int(m.HostID), int(m.HostID)); err != nil {
		return err
	}
	for _, d := range []string{filepath.Dir(c.dir), c.dir, dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			return err
		}
	}
	return nil
}

// ForUserns lets a --userns=auto container of block m use volume name:
// the container's root, which has no capability over the host's files,
// can reach the volume's directory (traversal only, as for the
// container's own directory), and a volume that is still empty and
// root's (new, or never written) becomes the container's root's, as
// Docker gives a volume to the remapped root under userns-remap. A
// volume with content keeps its owners: a volume shared by containers
// of different blocks shows each the others' files as nobody's.
func (v *Volumes) ForUserns(name string, m IDMap) error {
	data := v.Path(name)
	for _, d := range []string{filepath.Dir(v.dir), v.dir, filepath.Dir(data)} {
		if err := os.Chmod(d, 0o711); err != nil {
			return fmt.Errorf("volume %s: %w", name, err)
		}
	}
	ents, err := os.ReadDir(data)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	fi, err := os.Stat(data)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && len(ents) == 0 && st.Uid == 0 && st.Gid == 0 {
		if err := os.Chown(data, int(m.HostID), int(m.HostID)); err != nil {
			return fmt.Errorf("volume %s: %w", name, err)
		}
	}
	return nil
}
