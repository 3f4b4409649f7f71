package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestHandler(t *testing.T) {
	const secret = "s3cret"
	const body = `{"ref":"refs/heads/main","after":"abc123"}`
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		code    int
		pushed  bool
	}{
		{"github good", map[string]string{"X-Hub-Signature-256": "sha256=" + sign(secret, body), "X-GitHub-Event": "push"}, body, 202, true},
		{"github bad", map[string]string{"X-Hub-Signature-256": "sha256=" + sign("other", body)}, body, 401, false},
		{"github no prefix", map[string]string{"X-Hub-Signature-256": sign(secret, body)}, body, 401, false},
		{"gitea good", map[string]string{"X-Gitea-Signature": sign(secret, body)}, body, 202, true},
		{"gitea tampered body", map[string]string{"X-Gitea-Signature": sign(secret, body)}, strings.Replace(body, "abc", "evil", 1), 401, false},
		{"gitlab good", map[string]string{"X-Gitlab-Token": secret, "X-Gitlab-Event": "Push Hook"}, body, 202, true},
		{"gitlab bad", map[string]string{"X-Gitlab-Token": "nope"}, body, 401, false},
		{"unsigned", nil, body, 401, false},
		{"other branch", map[string]string{"X-Gitea-Signature": sign(secret, `{"ref":"refs/heads/dev","after":"x"}`)}, `{"ref":"refs/heads/dev","after":"x"}`, 200, false},
		{"ping", map[string]string{"X-Hub-Signature-256": "sha256=" + sign(secret, `{}`), "X-GitHub-Event": "ping"}, `{}`, 200, false},
		{"garbage", map[string]string{"X-Gitea-Signature": sign(secret, `nope`)}, `nope`, 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Push
			h := &Handler{Secret: []byte(secret), Branch: "main", OnPush: func(p Push) { got = append(got, p) }}
			req := httptest.NewRequest(http.MethodPost, "/hooks/git", strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("code = %d, want %d (%s)", rec.Code, tt.code, rec.Body)
			}
			if (len(got) == 1) != tt.pushed {
				t.Errorf("pushes = %v, want pushed=%v", got, tt.pushed)
			}
			if tt.pushed && got[0].After != "abc123" {
				t.Errorf("push = %+v", got[0])
			}
		})
	}
}

func TestNoSecretRefusesAll(t *testing.T) {
	if _, err := Verify(http.Header{"X-Gitlab-Token": {""}}, nil, nil); err == nil {
		t.Fatal("Verify with no configured secret accepted a request")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"ref":"refs/heads/main","after":"abc"}`))
	f.Add([]byte(`{"ref":"refs/tags/v1","checkout_sha":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse("github", body)
		if err == nil && p.Ref == "" {
			t.Fatalf("Parse accepted a payload without ref: %q", body)
		}
		_ = p.Branch()
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("sha256=00", []byte("x"))
	f.Fuzz(func(t *testing.T, sig string, body []byte) {
		h := http.Header{}
		h.Set("X-Hub-Signature-256", sig)
		if _, err := Verify(h, body, []byte("k")); err == nil && !strings.EqualFold(sig, "sha256="+sign("k", string(body))) {
			t.Fatalf("Verify accepted a wrong signature %q", sig)
		}
	})
}

// Refusals are logged at most once per 10 s, with the count left out:
// anyone who reaches the port must not flood the log (issue 20, finding 10).
func TestRefusalLogRateLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &Handler{Secret: []byte("s3cret"), Branch: "main", Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))}
	refuse := func() {
		req := httptest.NewRequest(http.MethodPost, "/hooks/git", strings.NewReader(`{"ref":"refs/heads/main"}`))
		req.Header.Set("X-Hub-Signature-256", "sha256=00")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	}
	for range 1000 {
		refuse()
	}
	now = now.Add(11 * time.Second)
	refuse()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 1001 refusals, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "suppressed=0") || !strings.Contains(lines[1], "suppressed=999") {
		t.Errorf("log:\n%s", buf.String())
	}
}
