package charts

import (
	"maps"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseChallenge(t *testing.T) {
	cases := []struct {
		header string
		scheme string
		params map[string]string
	}{
		{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"`,
			"bearer", map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/nginx:pull"}},
		// A scope with a comma, and spaces around the separators.
		{`Bearer realm="https://ghcr.io/token", service="ghcr.io", scope="repository:a/b:pull,push"`,
			"bearer", map[string]string{"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:a/b:pull,push"}},
		{`bearer Realm=https://r.example/token,service=r`, "bearer", map[string]string{"realm": "https://r.example/token", "service": "r"}},
		{`Basic realm="Registry Realm"`, "basic", map[string]string{"realm": "Registry Realm"}},
		{`Basic`, "basic", map[string]string{}},
		{`Bearer realm="a\"b"`, "bearer", map[string]string{"realm": `a"b`}},
		{``, "", map[string]string{}},
	}
	for _, c := range cases {
		scheme, params := parseChallenge(c.header)
		if scheme != c.scheme || !maps.Equal(params, c.params) {
			t.Errorf("%s: got %q %v, want %q %v", c.header, scheme, params, c.scheme, c.params)
		}
	}
}

// FuzzParseChallenge: a registry's header never panics the parser or
// makes it loop, and the scheme is a lower-case word of the header.
func FuzzParseChallenge(f *testing.F) {
	f.Add(`Bearer realm="https://a/token",service="s",scope="repository:a:pull,push"`)
	f.Add(`Basic realm="x`)
	f.Add(`Bearer ="",=,"`)
	f.Fuzz(func(t *testing.T, h string) {
		scheme, _ := parseChallenge(h)
		if utf8.ValidString(h) && !strings.Contains(strings.ToLower(h), scheme) {
			t.Fatalf("scheme %q not in %q", scheme, h)
		}
	})
}

// FuzzParseCredentials: any file content gives credentials or an error
// that quotes none of it.
func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(`{"auths":{"r.example.com":{"auth":"cm9ib3Q6czNjcmV0LXBhc3Mtd29yZA=="}}}`))
	f.Add([]byte(`{"auths":{"r.example.com":{"auth":"secretsecret"}}}`))
	f.Add([]byte("{\"auths\": {\n\"r\": {\"password\": \"secretsecret\",}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := ParseCredentials("config.json", data)
		if err == nil {
			c.lookup("r.example.com")
			return
		}
		if strings.Contains(string(data), "secretsecret") && strings.Contains(err.Error(), "secretsecret") {
			t.Fatalf("the error quotes the content: %v", err)
		}
	})
}

// TestLookup: keys as docker login and helm registry login write them.
func TestLookup(t *testing.T) {
	c, _, err := ParseCredentials("config.json", []byte(`{"auths": {
		"https://index.docker.io/v1/": {"username": "hub"},
		"registry.example.com": {"username": "exact"},
		"https://registry.example.com/v2/": {"username": "url"},
		"http://127.0.0.1:5001": {"username": "port"},
		"ghcr.io": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"registry-1.docker.io": "hub", "docker.io": "hub",
		"registry.example.com": "exact", "127.0.0.1:5001": "port",
		"127.0.0.1:5000": "", "example.com": "", "ghcr.io": "",
	} {
		a, _ := c.lookup(host)
		if a.Username != want {
			t.Errorf("%s: user %q, want %q", host, a.Username, want)
		}
	}
}
