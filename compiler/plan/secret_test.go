package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A printed sensitive value is a digest keyed by the repository's key:
// the unkeyed sha256 of a guess never matches it (issue 20, finding 7),
// and nothing prints the value.
func TestSecretRedactionIsKeyed(t *testing.T) {
	const v = "hunter2"
	sum := sha256.Sum256([]byte(v))
	unkeyed := hex.EncodeToString(sum[:])
	one, two := SecretKey("one").Sensitive(v), SecretKey("two").Sensitive(v)
	for _, s := range []Secret{one, two, Sensitive(v)} {
		for _, out := range []string{s.Redacted(), s.String(), fmt.Sprintf("%v %+v %#v", s, s, s)} {
			if strings.Contains(out, v) || strings.Contains(out, unkeyed[:12]) {
				t.Errorf("%q shows the value or its unkeyed sha256", out)
			}
		}
		if !strings.HasPrefix(s.Redacted(), "(sensitive hmac:") {
			t.Errorf("Redacted() = %s", s.Redacted())
		}
	}
	if one.Redacted() == two.Redacted() {
		t.Error("two keys give the same digest")
	}
	if one.Redacted() != SecretKey("one").Sensitive(v).Redacted() || one.Redacted() == SecretKey("one").Sensitive(v+"!").Redacted() {
		t.Error("the digest does not follow the value")
	}
	b, err := json.Marshal(one)
	if err != nil {
		t.Fatal(err)
	}
	var back Secret
	if err := json.Unmarshal(b, &back); err != nil || !back.Sensitive || back.Redacted() != one.Redacted() {
		t.Errorf("JSON round trip: %s -> %+v, %v", b, back, err)
	}
	if p := Plain("x"); p.Redacted() != "x" {
		t.Errorf("plain value shown as %s", p.Redacted())
	}
}
