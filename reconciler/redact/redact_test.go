package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:tok@example.com/x.git", "https://example.com/x.git"},
		{"https://tok@example.com/x.git", "https://example.com/x.git"},
		{"http://u:p@10.0.0.1:3000/x", "http://10.0.0.1:3000/x"},
		{"ssh://git:pw@example.com/x.git", "ssh://git@example.com/x.git"},
		{"ssh://git@example.com/x.git", "ssh://git@example.com/x.git"},
		{"git@example.com:x.git", "git@example.com:x.git"},
		{"/srv/git/x.git", "/srv/git/x.git"},
		{"file:///srv/git/x.git", "file:///srv/git/x.git"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if HasCredentials(tt.in) != (tt.in != tt.want) {
			t.Errorf("HasCredentials(%q) wrong", tt.in)
		}
	}
}

func TestSecrets(t *testing.T) {
	s := &Secrets{}
	s.Add("s3cret-value", "ab", "")
	s.AddBasicAuth("berth", "tok3n-value")
	in := `fetch https://u:pw@host/x: "denied s3cret-value Basic YmVydGg6dG9rM24tdmFsdWU=" tok3n-value; ab stays`
	got := s.String(in)
	for _, leak := range []string{"s3cret-value", "tok3n-value", "YmVydGg6dG9rM24tdmFsdWU=", "u:pw"} {
		if strings.Contains(got, leak) {
			t.Fatalf("%q leaks %q", got, leak)
		}
	}
	if !strings.Contains(got, "https://host/x") || !strings.Contains(got, "ab stays") {
		t.Fatalf("over-redacted: %q", got)
	}
	base := errors.New("x s3cret-value")
	err := s.Error(base)
	if strings.Contains(err.Error(), "s3cret") || !errors.Is(err, base) {
		t.Fatalf("Error: %v", err)
	}
	var nilSecrets *Secrets
	if got := nilSecrets.String("https://a:b@h/x"); got != "https://h/x" {
		t.Fatalf("nil Secrets: %q", got)
	}
}

func TestHandler(t *testing.T) {
	s := &Secrets{}
	s.Add("s3cret-value")
	var buf bytes.Buffer
	log := slog.New(s.Handler(slog.NewJSONHandler(&buf, nil))).With("repo", "https://x:s3cret-value@h/r")
	log.Info("fetch s3cret-value", "err", errors.New("denied s3cret-value"), slog.Group("g", "v", "s3cret-value"), "n", 3)
	if strings.Contains(buf.String(), "s3cret") || !strings.Contains(buf.String(), `"n":3`) {
		t.Fatalf("log: %s", buf.String())
	}
}
