package object

import (
	"crypto/sha256"
	"encoding/json"

	"berth.dev/berth/compiler/api"
)

// Alphabet is Kubernetes' rand.SafeEncodeString alphabet: no vowels (no
// accidental words) and no characters that look alike.
const Alphabet = "bcdfghjklmnpqrstvwxz2456789"

// SafeEncode maps the first n bytes of sum onto Alphabet.
func SafeEncode(sum []byte, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = Alphabet[int(sum[i])%len(Alphabet)]
	}
	return string(out)
}

// maxGeneratedPrefix is the API server's MaxGeneratedNameLength: a
// generated name is its prefix (cut to 58 characters) and 5 characters,
// at most 63.
const maxGeneratedPrefix = 58

// generatedName is the name of a Job written with metadata.generateName:
// the prefix and 5 characters, as the API server's name generator makes
// it, from the Job's content instead of at random, so that every node
// and CI name it alike. A Job whose content changes gets a new name, and
// runs again: what an Argo CD hook does on each sync.
func generatedName(j *api.Job) string {
	prefix := j.Metadata.GenerateName
	if len(prefix) > maxGeneratedPrefix {
		prefix = prefix[:maxGeneratedPrefix]
	}
	h := sha256.New()
	// The value is plain data: it always encodes.
	_ = json.NewEncoder(h).Encode(j)
	return prefix + SafeEncode(h.Sum(nil), 5)
}
