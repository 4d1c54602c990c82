package machine

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// User namespaces (--userns). With UsernsAuto the container's PID 1 runs
// in a user namespace of its own, in which ids 0…Size-1 are the host's
// HostID…HostID+Size-1: root in the container is an unprivileged,
// otherwise unused uid on the host. The host ranges come from the
// SubIDUser's lines of /etc/subuid and /etc/subgid; each container gets
// a block of its own (Allocate), recorded in its record (Container.IDMap)
// for its whole life, so that the files its upper layer holds keep their
// owners across restarts; removing the container frees the block.
const (
	// UsernsHost (or "") is the host's user namespace, the default.
	UsernsHost = "host"
	// UsernsAuto is a user namespace with a block of subordinate ids of
	// its own.
	UsernsAuto = "auto"
	// DefaultUsernsSize is the size of an UsernsAuto block: the 16-bit id
	// space that images use.
	DefaultUsernsSize = 65536
	// SubIDUser is the user whose /etc/subuid and /etc/subgid ranges
	// berth takes blocks from.
	SubIDUser = "berth"
	// DefaultSubIDStart and DefaultSubIDCount are the range berth adds
	// for SubIDUser when /etc/subuid or /etc/subgid has none (see
	// SubIDLine).
	DefaultSubIDStart = 1 << 20
	DefaultSubIDCount = 1 << 26 // 1024 blocks of 65536
)

// IDMap is a container's block of host ids: container id 0 is host id
// HostID, for Size ids, the same for users and groups.
type IDMap struct {
	HostID uint32 `json:"HostID"`
	Size   uint32 `json:"Size"`
}

// End is the first host id after the block.
func (m IDMap) End() uint64 { return uint64(m.HostID) + uint64(m.Size) }

// ParseUserns parses --userns: "" or "host" (no user namespace, size 0),
// "auto" or "auto:size=N" (a user namespace, with N ids).
func ParseUserns(v string) (mode string, size uint32, err error) {
	switch {
	case v == "" || v == UsernsHost:
		return UsernsHost, 0, nil
	case v == UsernsAuto:
		return UsernsAuto, DefaultUsernsSize, nil
	}
	rest, ok := strings.CutPrefix(v, UsernsAuto+":")
	if !ok {
		return "", 0, invalidf("invalid --userns %q: want host, auto or auto:size=N", v)
	}
	n, ok := strings.CutPrefix(rest, "size=")
	if !ok {
		return "", 0, invalidf("invalid --userns %q: want host, auto or auto:size=N", v)
	}
	s, err := strconv.ParseUint(n, 10, 32)
	if err != nil || s < 1 || s > 1<<31 {
		return "", 0, invalidf("invalid --userns %q: size must be between 1 and 2147483648", v)
	}
	return UsernsAuto, uint32(s), nil
}

// SubIDRange is one line of /etc/subuid or /etc/subgid: Count ids from
// Start.
type SubIDRange struct {
	Start, Count uint64
}

// ParseSubIDs returns the ranges of user (by name or by uid, as shadow's
// tools accept either) in an /etc/subuid or /etc/subgid file. Malformed
// lines are skipped, as shadow skips them.
func ParseSubIDs(r io.Reader, user, uid string) ([]SubIDRange, error) {
	var out []SubIDRange
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != user && (uid == "" || f[0] != uid)) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 || start+count > 1<<32 {
			continue
		}
		out = append(out, SubIDRange{start, count})
	}
	return out, sc.Err()
}

// SubIDLine is the line berth appends to an /etc/subuid or /etc/subgid
// (whose current content is data) that has no range for SubIDUser: the
// default range, or, when another user's range overlaps it, the same
// count right after the highest range in the file.
func SubIDLine(data string) string {
	start := uint64(DefaultSubIDStart)
	var top uint64
	overlaps := false
	for _, line := range strings.Split(data, "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 {
			continue
		}
		s, err1 := strconv.ParseUint(f[1], 10, 32)
		c, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		top = max(top, s+c)
		if s < start+DefaultSubIDCount && start < s+c {
			overlaps = true
		}
	}
	if overlaps {
		start = (top + DefaultUsernsSize - 1) / DefaultUsernsSize * DefaultUsernsSize
	}
	return fmt.Sprintf("%s:%d:%d\n", SubIDUser, start, DefaultSubIDCount)
}

// AllocateIDs finds the first block of size ids that lies in both uids
// and gids (the ranges of SubIDUser) and overlaps none of used (the
// blocks of existing containers). The block's host uid and gid are the
// same number, so one IDMap serves both.
func AllocateIDs(uids, gids []SubIDRange, used []IDMap, size uint32) (IDMap, error) {
	if size == 0 {
		return IDMap{}, invalidf("a user namespace needs at least one id")
	}
	used = slices.Clone(used)
	slices.SortFunc(used, func(a, b IDMap) int { return int(int64(a.HostID) - int64(b.HostID)) })
	for _, u := range uids {
		for _, g := range gids {
			lo, hi := max(u.Start, g.Start), min(u.Start+u.Count, g.Start+g.Count)
			for c := lo; c+uint64(size) <= hi; {
				clash := false
				for _, m := range used {
					if c < m.End() && uint64(m.HostID) < c+uint64(size) {
						c, clash = m.End(), true
						break
					}
				}
				if !clash {
					return IDMap{HostID: uint32(c), Size: size}, nil
				}
			}
		}
	}
	return IDMap{}, fmt.Errorf("no free block of %d subordinate ids left for user %q in /etc/subuid and /etc/subgid (%d containers hold one)", size, SubIDUser, len(used))
}

// usernsConflicts refuses what a --userns=auto container cannot have:
// --privileged (Docker's words: it gives the host, which a user
// namespace takes away), and --network
// container:OTHER (joining OTHER's network namespace takes capabilities
// over the user namespace that owns it, which the container's root does
// not have; Podman joins OTHER's user namespace too, not done yet).
func (o *RunOptions) usernsConflicts() error {
	switch {
	case o.Privileged:
		return invalidf("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode")
	case strings.HasPrefix(o.Network, NetworkContainerPrefix):
		return invalidf("--network container: is not supported with --userns=auto yet")
	}
	return nil
}

// ApplyIDMap adds the user namespace and its mappings to a container's
// spec.
func ApplyIDMap(s *specs.Spec, m IDMap) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: m.HostID, Size: m.Size}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: m.HostID, Size: m.Size}}
}
