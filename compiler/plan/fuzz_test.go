package plan

import (
	"strings"
	"testing"
)

// FuzzParseDockerConfig: a .dockerconfigjson from a user's Secret never
// panics, and an error never quotes the content (it is a secret).
func FuzzParseDockerConfig(f *testing.F) {
	f.Add(`{"auths":{"r.example":{"username":"u","password":"p"}}}`)
	f.Add(`{"auths":{"r.example":{"auth":"dTpw"}}}`)
	f.Add(`{"auths":{"r.example":{"auth":"!!"}}}`)
	f.Add(`{"auths":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		auths, err := ParseDockerConfig(raw)
		if err != nil {
			if len(raw) > 8 && strings.Contains(err.Error(), raw) {
				t.Fatalf("error %q quotes the secret", err)
			}
			return
		}
		for _, a := range auths {
			if !a.Username.Sensitive || !a.Password.Sensitive {
				t.Fatalf("credentials of %s are not sensitive", a.Registry)
			}
		}
	})
}
