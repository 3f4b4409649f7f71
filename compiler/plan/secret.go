package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Secret is a value that may be sensitive. A sensitive value marshals as a
// digest, never as its content, so it cannot leak into printed plans, diffs
// or logs (DESIGN.md, invariant 7); in memory it keeps the real bytes for
// the node that runs the pod.
type Secret struct {
	Data      string
	Sensitive bool
}

// Plain returns a non-sensitive value.
func Plain(s string) Secret { return Secret{Data: s} }

// Sensitive returns a sensitive value.
func Sensitive(s string) Secret { return Secret{Data: s, Sensitive: true} }

// Redacted is how a sensitive value is shown: a short content digest, so a
// change is visible in a diff while the value is not.
func (s Secret) Redacted() string {
	if !s.Sensitive {
		return s.Data
	}
	sum := sha256.Sum256([]byte(s.Data))
	return "(sensitive sha256:" + hex.EncodeToString(sum[:6]) + ")"
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
	*s = Secret{Data: v, Sensitive: strings.HasPrefix(v, "(sensitive sha256:")}
	return nil
}
