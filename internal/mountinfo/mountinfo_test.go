package mountinfo

import "testing"

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/var/lib/berth", "/var/lib/berth"},
		{`/a\040b`, "/a b"},
		{`/tab\011x\012y`, "/tab\tx\ny"},
		{`/back\134slash`, `/back\slash`},
		{`/end\040`, "/end "},
		{`/short\04`, `/short\04`},
		{`/not\09octal`, `/not\09octal`},
	}
	for _, tt := range tests {
		if got := Unescape(tt.in); got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
