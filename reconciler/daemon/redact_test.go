package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log sink the daemon's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCredentialsNeverShown plants a token, a webhook secret and an API
// token, points the daemon at a Git server that echoes the request
// (Authorization header included) in its errors, and greps the log, the
// status JSON, the metrics and the errors for them.
func TestCredentialsNeverShown(t *testing.T) {
	const token, hook, api = "PLANTED-TOKEN-7f3a", "PLANTED-HOOK-91c2", "PLANTED-API-5d8e"
	leaks := []string{token, hook, api, base64.StdEncoding.EncodeToString([]byte("berth:" + token))}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "denied: "+r.Header.Get("Authorization"), http.StatusForbidden)
	}))
	defer srv.Close()
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	logs := &lockedBuffer{}
	cfg := Config{
		Node: "n1", StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run"),
		Repo: srv.URL + "/x.git", Poll: 20 * time.Millisecond, Resync: time.Hour,
		WebhookSecretFile: write("hook", hook), APIAddr: "127.0.0.1:0", APITokenFile: write("api", api),
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	cfg.Auth.TokenFile = write("token", token)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	defer func() { cancel(); <-done }()

	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(cfg.RunDir, "berth.sock"))
	}}}
	get := func(path string) string {
		res, err := client.Get("http://berth" + path)
		if err != nil {
			return ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	var status string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(status, "authorization failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no fetch error in status:\n%s\nlog:\n%s", status, logs)
		}
		time.Sleep(20 * time.Millisecond)
		status = get("/v1/status")
	}
	shown := map[string]string{"status": status, "metrics": get("/metrics"), "log": logs.String()}
	for where, text := range shown {
		for _, l := range leaks {
			if strings.Contains(text, l) {
				t.Errorf("the %s shows %q:\n%s", where, l, text)
			}
		}
	}
	if !strings.Contains(shown["log"], "[redacted]") {
		t.Errorf("the log shows no redaction; did the server's echo reach it?\n%s", shown["log"])
	}

	// A URL with credentials is refused, and the error does not repeat them.
	bad := cfg
	bad.Repo = "https://user:" + token + "@example.com/x.git"
	bad.RunDir, bad.StateDir = filepath.Join(dir, "run2"), filepath.Join(dir, "state2")
	err := Run(context.Background(), bad)
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("Run with credentials in --repo: %v", err)
	}
}
