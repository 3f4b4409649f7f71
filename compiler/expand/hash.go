package expand

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"

	"berth.dev/berth/compiler/object"
)

// alphabet is Kubernetes' rand.SafeEncodeString alphabet.
const alphabet = object.Alphabet

// encode maps the first n bytes of sum onto the alphabet.
func encode(sum []byte, n int) string { return object.SafeEncode(sum, n) }

// TemplateHash is the 10-character revision name of a pod template, as
// Kubernetes' pod-template-hash: equal templates give equal hashes, any
// change gives a new revision. parts are JSON-encoded in order.
func TemplateHash(parts ...any) string {
	h := sha256.New()
	writeJSON(h, parts...)
	return encode(h.Sum(nil), 10)
}

// Suffix is the deterministic 5-character pod name suffix of replica
// index of a controller revision (Kubernetes uses random ones; berth
// derives them so every node computes the same names).
func Suffix(name, revision string, index int) string {
	h := sha256.New()
	writeJSON(h, name, revision, index)
	return encode(h.Sum(nil), 5)
}

// contentHash is a hex content digest of parts.
func contentHash(parts ...any) string {
	h := sha256.New()
	writeJSON(h, parts...)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func writeJSON(h hash.Hash, parts ...any) {
	enc := json.NewEncoder(h)
	for _, p := range parts {
		// The values hashed are plain data; an encoding error would be a
		// programming error, and the hash still differs from a good one.
		if err := enc.Encode(p); err != nil {
			h.Write([]byte(err.Error()))
		}
	}
}
