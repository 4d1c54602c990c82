// Package mountinfo reads what /proc/PID/mountinfo says. It imports
// nothing, so that a package initialised at a process's start can use it
// (see internal/cgroupfs).
package mountinfo

// Unescape undoes the octal escapes of a path in
// /proc/PID/mountinfo (\040 for a space, \011, \012, \134).
func Unescape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			n := 0
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				n = n*8 + int(c-'0')
			}
			if ok && n < 256 {
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		if b != nil {
			b = append(b, s[i])
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}
