package cgroupfs

// The few string functions this package needs, written out: Go
// initialises package strings late in a program (it has no work of its
// own, and takes its turn by import path), and everything that imports
// it waits for that turn; see the package doc.

// split is strings.Split with a one-byte separator.
func split(s string, sep byte) []string {
	var out []string
	for {
		i := index(s, string(sep))
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

// splitN is strings.SplitN with a one-byte separator and n ≥ 1.
func splitN(s string, sep byte, n int) []string {
	var out []string
	for len(out) < n-1 {
		i := index(s, string(sep))
		if i < 0 {
			break
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
	return append(out, s)
}

// cut is strings.Cut.
func cut(s, sep string) (before, after string, found bool) {
	if i := index(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// fields is strings.Fields for ASCII white space (mountinfo's).
func fields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		space := i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\n'
		switch {
		case space && start >= 0:
			out = append(out, s[start:i])
			start = -1
		case !space && start < 0:
			start = i
		}
	}
	return out
}

// hasPrefix is strings.HasPrefix.
func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// contains is strings.Contains.
func contains(s, sub string) bool { return index(s, sub) >= 0 }

// index is strings.Index.
func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
