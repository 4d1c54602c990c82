package console

import (
	"fmt"
	"io"
	"strings"
)

// DefaultDetachKeys are Docker's: Ctrl-P, Ctrl-Q.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ParseKeys reads Docker's --detach-keys: comma-separated keys, each a
// single character or ctrl-X for X in a-z, @, [, \, ], ^ and _.
func ParseKeys(s string) ([]byte, error) {
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case strings.HasPrefix(strings.ToLower(k), "ctrl-") && len(k) == 6:
			c := strings.ToLower(k)[5]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c == '@':
				keys = append(keys, 0)
			case c == '[' || c == '\\' || c == ']' || c == '^' || c == '_':
				keys = append(keys, c-'@')
			default:
				return nil, fmt.Errorf("invalid detach keys (%s): unknown character %q after ctrl-", s, c)
			}
		default:
			return nil, fmt.Errorf("invalid detach keys (%s): want ctrl-X or one character", s)
		}
	}
	return keys, nil
}

// ErrDetached is what CopyInput returns when the detach keys were typed.
var ErrDetached = fmt.Errorf("detached")

// CopyInput copies src to dst until the keys sequence is read
// (ErrDetached) or src ends. Bytes that start the sequence are held back
// until it is clear they do not finish it, then passed on, as Docker's
// escape proxy does.
func CopyInput(dst io.Writer, src io.Reader, keys []byte) error {
	buf := make([]byte, 1024)
	var held []byte
	for {
		n, err := src.Read(buf)
		var out []byte
		for _, b := range buf[:n] {
			if len(keys) > 0 && b == keys[len(held)] {
				held = append(held, b)
				if len(held) == len(keys) {
					if len(out) > 0 {
						dst.Write(out)
					}
					return ErrDetached
				}
				continue
			}
			out = append(out, held...)
			held = held[:0]
			if len(keys) > 0 && b == keys[0] {
				held = append(held, b)
				continue
			}
			out = append(out, b)
		}
		if len(out) > 0 {
			if _, werr := dst.Write(out); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
