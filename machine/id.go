package machine

import (
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"strconv"
)

// NewID returns a new container ID: 64 lowercase hex digits from
// crypto/rand. Like Docker, it never returns an ID whose 12-digit short
// form is all decimal digits, because the short form is the default
// hostname and a numeric host name confuses resolvers.
func NewID() string {
	b := make([]byte, 32)
	for {
		rand.Read(b) // never fails since Go 1.24
		id := hex.EncodeToString(b)
		if _, err := strconv.ParseUint(id[:12], 10, 64); err != nil {
			return id
		}
	}
}

// isID reports whether s has the form NewID returns.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// GenerateName returns a Docker-style name, adjective_surname, that taken
// does not report as in use. After a few collisions it appends digits, as
// Docker does. taken is called with each candidate; after 1000 refused
// candidates GenerateName gives up asking and returns a name with a random
// 12-hex-digit suffix, so it always terminates.
func GenerateName(taken func(string) bool) string {
	for i := 0; i < 1000; i++ {
		name := adjectives[mrand.IntN(len(adjectives))] + "_" + surnames[mrand.IntN(len(surnames))]
		if i >= 10 {
			name += strconv.Itoa(mrand.IntN(10 * i))
		}
		if taken == nil || !taken(name) {
			return name
		}
	}
	return adjectives[mrand.IntN(len(adjectives))] + "_" + surnames[mrand.IntN(len(surnames))] + "_" + NewID()[:12]
}

var adjectives = [...]string{
	"admiring", "affectionate", "agitated", "amazing", "angry", "awesome",
	"blissful", "bold", "brave", "charming", "clever", "compassionate",
	"competent", "confident", "cranky", "crazy", "dazzling", "determined",
	"distracted", "dreamy", "eager", "ecstatic", "elastic", "elated",
	"elegant", "eloquent", "epic", "festive", "focused", "friendly",
	"frosty", "gallant", "gifted", "goofy", "gracious", "happy",
	"hopeful", "hungry", "infallible", "inspiring", "jolly", "keen",
	"kind", "laughing", "loving", "lucid", "modest", "nervous",
	"nifty", "nostalgic", "objective", "optimistic", "peaceful", "pensive",
	"practical", "quirky", "relaxed", "serene", "sharp", "stoic",
	"tender", "trusting", "upbeat", "vibrant", "vigilant", "wizardly",
	"youthful", "zealous", "zen",
}

var surnames = [...]string{
	"agnesi", "archimedes", "babbage", "bardeen", "bell", "bohr",
	"boyd", "cannon", "carson", "cerf", "curie", "darwin",
	"dijkstra", "einstein", "euclid", "euler", "faraday", "fermat",
	"fermi", "feynman", "franklin", "galileo", "gauss", "goodall",
	"hamilton", "hawking", "heisenberg", "hodgkin", "hopper", "hypatia",
	"johnson", "kepler", "knuth", "lamarr", "leakey", "lovelace",
	"maxwell", "meitner", "mendel", "newton", "noether", "pasteur",
	"planck", "ritchie", "sammet", "shannon", "tesla", "thompson",
	"torvalds", "turing", "wozniak", "yalow",
}
