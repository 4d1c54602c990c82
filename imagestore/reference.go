package imagestore

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/berth/berth/internal/errdefs"
	"github.com/opencontainers/go-digest"
)

// Reference is a parsed image reference: [DOMAIN[:PORT]/]PATH[:TAG][@DIGEST],
// the grammar of Docker's distribution/reference. The store keeps names
// as the user wrote them, with a default tag added; resolving short names
// against registries belongs to pulling, not to the store.
type Reference struct {
	Name   string        // [domain/]path, e.g. "busybox", "127.0.0.1:5000/team/app"
	Tag    string        // "latest" when none was given and there is no digest
	Digest digest.Digest // optional
}

var (
	// A path component: lower-case alphanumerics separated by ., _, __ or -.
	pathComponent = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	domainPart    = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domain        = domainPart + `(?:\.` + domainPart + `)*(?::[0-9]+)?`
	// Compiled on first use: every berth process (the unit's init and
	// cleanup too) would otherwise pay for them at start.
	nameRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:` + domain + `/)?` + pathComponent + `(?:/` + pathComponent + `)*$`)
	})
	tagRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w][\w.-]{0,127}$`) })
)

// ParseReference parses s. The error wraps errdefs.ErrInvalid and says
// what is wrong.
func ParseReference(s string) (Reference, error) {
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("invalid reference %q: %s: %w", s, why, errdefs.ErrInvalid)
	}
	if s == "" {
		return bad("empty")
	}
	var r Reference
	if name, dg, ok := strings.Cut(s, "@"); ok {
		d, err := digest.Parse(dg)
		if err != nil {
			return bad("bad digest")
		}
		r.Digest, s = d, name
	}
	// A tag follows the last colon, unless that colon is a port (a slash
	// comes after it).
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i:], "/") {
		r.Tag, s = s[i+1:], s[:i]
		if !tagRE().MatchString(r.Tag) {
			return bad("bad tag (letters, digits, _, . and -, at most 128)")
		}
	}
	if len(s) > 255 {
		return bad("name longer than 255 characters")
	}
	if !nameRE().MatchString(s) {
		if strings.ToLower(s) != s && nameRE().MatchString(strings.ToLower(s)) {
			return bad("repository name must be lowercase")
		}
		return bad("bad repository name")
	}
	r.Name = s
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return r, nil
}

// String is the canonical form: NAME:TAG, NAME@DIGEST or NAME:TAG@DIGEST.
func (r Reference) String() string {
	s := r.Name
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}
