// Package unitsyntax writes values in systemd's unit file syntax
// (systemd.syntax(7), systemd.service(5)): the one quoting rule that the
// transient units' files (machine) and the generator's (unitgen) share.
// It is a leaf: it imports nothing of berth's.
package unitsyntax

import (
	"fmt"
	"strings"
)

// QuoteWord quotes one word of a command line or of a list (an
// ExecStart= argument, a LogExtraFields= field): C escapes inside double
// quotes, '%' doubled so that systemd does not read a specifier. '$' is
// kept: command lines spell systemd's "$$" themselves where needed.
func QuoteWord(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '%':
			b.WriteString("%%")
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
