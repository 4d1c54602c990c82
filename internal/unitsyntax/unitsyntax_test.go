package unitsyntax

import "testing"

func TestQuoteWord(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`back\slash`, `"back\\slash"`},
		{`say "hi"`, `"say \"hi\""`},
		{"two\nlines", `"two\nlines"`},
		{"tab\there", `"tab\there"`},
		{"cr\rx", `"cr\rx"`},
		{"100%", `"100%%"`},
		{"$HOME $$", `"$HOME $$"`},
		{"bell\x07del\x7f", `"bell\x07del\x7f"`},
		{"ünïcode", `"ünïcode"`},
	} {
		if got := QuoteWord(tc.in); got != tc.want {
			t.Errorf("QuoteWord(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
