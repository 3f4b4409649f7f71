package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/compiler/render"
	"berth.dev/berth/reconciler/source"
)

// TestCompilePrivateChart: with --registry-config, the daemon fetches a
// chart from a Helm repository that demands basic auth; the plan is the
// one a node without credentials computes from a filled cache (the
// credentials are node configuration), and no credential shows in the
// plan, the diagnostics or the log. Wrong credentials are a diagnostic
// that names the repository and the file.
func TestCompilePrivateChart(t *testing.T) {
	const user, password = "robot", "PLANTED-PASS-3e9b"
	leaks := []string{password, base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	archive := helloArchive(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "denied: "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/index.yaml":
			fmt.Fprintf(w, "entries:\n  hello:\n    - version: 0.1.0\n      urls: [hello.tgz]\n")
		case "/hello.tgz":
			w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	repo := t.TempDir()
	rel := fmt.Sprintf("apiVersion: berth.dev/v1\nkind: HelmRelease\nmetadata: {name: hello}\nspec:\n  chart: {repository: %s, name: hello, version: 0.1.0, digest: %s}\n", srv.URL, render.Digest(archive))
	if err := os.WriteFile(filepath.Join(repo, "hello.yaml"), []byte(rel), 0o644); err != nil {
		t.Fatal(err)
	}
	writeConfig := func(pass string, mode os.FileMode) string {
		f := filepath.Join(t.TempDir(), "config.json")
		data, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"username": user, "password": pass}}})
		os.WriteFile(f, data, mode)
		os.Chmod(f, mode)
		return f
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	compile := func(cfg *Config) (string, string) {
		t.Helper()
		comp, err := NewCompiler(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, diags := comp.Compile(context.Background(), source.Revision{ID: "r1", Dir: repo})
		plan, _ := json.Marshal(p)
		return string(plan), fmt.Sprint(diags)
	}

	state := t.TempDir()
	withCreds, diags := compile(&Config{Node: "n1", StateDir: state, InsecureRegistries: []string{host}, RegistryConfig: writeConfig(password, 0o644), Logger: log})
	if diags != "[]" || withCreds == "null" {
		t.Fatalf("compile with credentials: %s", diags)
	}
	if !strings.Contains(logs.String(), "has mode 0644: others on this machine can read its credentials") {
		t.Errorf("no warning about the file's mode: %s", logs.String())
	}
	// Another node, no credentials, the chart already in its cache.
	offline, _ := compile(&Config{Node: "n1", StateDir: state})
	if offline != withCreds {
		t.Errorf("the plan depends on the credentials:\n%s\n%s", withCreds, offline)
	}

	_, diags = compile(&Config{Node: "n1", StateDir: t.TempDir(), InsecureRegistries: []string{host}, RegistryConfig: writeConfig("wrong-"+password[:4], 0o600), Logger: log})
	if !strings.Contains(diags, "repository "+host+" refused the credentials --registry-config ") {
		t.Errorf("wrong credentials: %s", diags)
	}
	for _, l := range leaks {
		for what, text := range map[string]string{"plan": withCreds, "diagnostics": diags, "log": logs.String()} {
			if strings.Contains(text, l) {
				t.Errorf("the %s shows a credential: %s", what, text)
			}
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{\"auths\": [}"), 0o600)
	if _, err := NewCompiler(&Config{Node: "n1", StateDir: t.TempDir(), RegistryConfig: bad}); err == nil || !strings.Contains(err.Error(), "--registry-config: "+bad+":1:12: registry config must be valid JSON") {
		t.Errorf("malformed file: %v", err)
	}
}
