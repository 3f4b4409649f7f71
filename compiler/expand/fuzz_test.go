package expand

import (
	"strings"
	"testing"

	"berth.dev/berth/compiler/api"
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
		auths, err := parseDockerConfig(raw, nil)
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

// FuzzDurationSeconds: a pause duration never panics nor goes negative.
func FuzzDurationSeconds(f *testing.F) {
	for _, s := range []string{"30s", "5m", "1h", "10", "-1s", "1h30m", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := durationSeconds(api.IntOrString{IsString: true, StrVal: s})
		if err == nil && n < 0 {
			t.Fatalf("durationSeconds(%q) = %d", s, n)
		}
	})
}
