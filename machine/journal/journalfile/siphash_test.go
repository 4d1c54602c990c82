package journalfile

import "testing"

// The test vectors of the SipHash paper (Aumasson and Bernstein,
// appendix A and the reference implementation's vectors.h): key
// 00 01 … 0f, messages 00 01 … of increasing length.
func TestSiphash24(t *testing.T) {
	var k [16]byte
	for i := range k {
		k[i] = byte(i)
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	tests := []struct {
		n    int
		want uint64
	}{
		{0, 0x726fdb47dd0e0e31},
		{1, 0x74f839c593dc67fd},
		{7, 0xab0200f58b01d137},
		{8, 0x93f5f5799a932462},
		{15, 0xa129ca6149be45e5},
		{63, 0x958a324ceb064572},
	}
	for _, tt := range tests {
		if got := siphash24(k, msg[:tt.n]); got != tt.want {
			t.Errorf("%d bytes: %#x, want %#x", tt.n, got, tt.want)
		}
	}
}
