package plan

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Secret is a value that may be sensitive. A sensitive value marshals as a
// keyed digest, never as its content, so it cannot leak into printed plans,
// diffs or logs (DESIGN.md, invariant 7); in memory it keeps the real bytes
// for the node that runs the pod. Pod and config hashes see it through the
// same digest, so they change with the value.
type Secret struct {
	Data      string
	Sensitive bool
	// mac is the keyed digest of Data (SecretKey.Sensitive); empty means
	// the default key.
	mac string
}

// SecretKey keys the digests of sensitive values: HMAC-SHA256, so that a
// digest seen in a plan, a diff, a status or a pod hash cannot confirm a
// guessed value offline, as an unkeyed hash would. It is per repository
// and kept out of Git (`--secret-key-file`): every node and CI that must
// agree on a plan use the same key. Without one, DefaultSecretKey is
// used, which is public: digests then hide values but still let a guess
// be checked, as the README's security model says.
type SecretKey []byte

// DefaultSecretKey is the key of a compile without --secret-key-file.
var DefaultSecretKey = SecretKey("berth.dev/plan/v1 default secret key: set --secret-key-file")

// Sensitive returns a sensitive value whose digest uses key.
func (k SecretKey) Sensitive(s string) Secret {
	return Secret{Data: s, Sensitive: true, mac: k.mac(s)}
}

func (k SecretKey) mac(s string) string {
	if len(k) == 0 {
		k = DefaultSecretKey
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// minKeySize is the shortest key ReadSecretKey takes (128 bits).
const minKeySize = 16

// ReadSecretKey reads a --secret-key-file: at least 16 bytes once
// surrounding white space is trimmed (`openssl rand -hex 32` makes one).
func ReadSecretKey(path string) (SecretKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	k := bytes.TrimSpace(b)
	if len(k) < minKeySize {
		return nil, fmt.Errorf("secret key %s: %d bytes, want at least %d (make one with: openssl rand -hex 32 > %s)", path, len(k), minKeySize, path)
	}
	return SecretKey(k), nil
}

// Plain returns a non-sensitive value.
func Plain(s string) Secret { return Secret{Data: s} }

// Sensitive returns a sensitive value with the default key's digest.
func Sensitive(s string) Secret { return DefaultSecretKey.Sensitive(s) }

// redactedPrefix starts every redacted value.
const redactedPrefix = "(sensitive"

// Redacted is how a sensitive value is shown: a keyed digest, so a change
// is visible in a diff while the value is not, and cannot be tested.
func (s Secret) Redacted() string {
	if !s.Sensitive {
		return s.Data
	}
	if strings.HasPrefix(s.Data, redactedPrefix) && s.mac == "" {
		return s.Data // read back from a printed plan: only the digest is known
	}
	mac := s.mac
	if mac == "" {
		mac = DefaultSecretKey.mac(s.Data)
	}
	return redactedPrefix + " hmac:" + mac + ")"
}

// String never prints sensitive content.
func (s Secret) String() string { return s.Redacted() }

// GoString never prints sensitive content.
func (s Secret) GoString() string { return s.Redacted() }

// MarshalJSON writes the plain value, or the redacted digest.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.Redacted()) }

// UnmarshalJSON reads a plain value; a redacted digest stays sensitive.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Secret{Data: v, Sensitive: strings.HasPrefix(v, redactedPrefix)}
	return nil
}
