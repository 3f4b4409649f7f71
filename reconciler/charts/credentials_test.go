package charts_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/render"
	"berth.dev/berth/reconciler/charts"
)

func TestLoadCredentials(t *testing.T) {
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		err     string // the error names the file and where
		warning string
	}{
		{"helm registry login", `{"auths":{"r.example.com":{"auth":"cm9ib3Q6czNjcmV0LXBhc3Mtd29yZA=="}}}`, 0o600, "", ""},
		{"docker login with a helper", `{"auths":{"r.example.com":{}},"credsStore":"desktop"}`, 0o600, "", "names credential helpers (credsStore, credHelpers), which berth does not run"},
		{"readable by others", `{"auths":{}}`, 0o644, "", "has mode 0644: others on this machine can read its credentials; chmod 600"},
		{"syntax error", "{\"auths\": {\n  \"r.example.com\": {\"auth\": \"cm9ib3Q6czNjcmV0LXBhc3Mtd29yZA==\",}\n}}", 0o600, "config.json:2:64: registry config must be valid JSON (syntax error", ""},
		{"wrong shape", "{\"auths\": {\n  \"r.example.com\": {\"auth\": 5}}}", 0o600, "config.json:2:29: registry config must be valid JSON of the expected shape (auths.auth at byte", ""},
		{"auth not base64", `{"auths":{"r.example.com":{"auth":"s3cret-pass-word"}}}`, 0o600, `config.json: registry config: auths["r.example.com"].auth is not base64`, ""},
		{"auth without a colon", `{"auths":{"r.example.com":{"auth":"czNjcmV0LXBhc3Mtd29yZA=="}}}`, 0o600, `auths["r.example.com"].auth is not base64 of user:password`, ""},
		{"too large", `{"auths":{}}` + strings.Repeat(" ", charts.MaxRegistryConfigBytes), 0o600, "is larger than 1048576 bytes", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(file, []byte(c.content), c.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(file, c.mode)
			_, warnings, err := charts.LoadCredentials(file)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), file) {
					t.Fatalf("err %v, want %q at %s", err, c.err, file)
				}
				noSecrets(t, "the error", err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(warnings, "\n")
			if c.warning == "" && got != "" || !strings.Contains(got, c.warning) {
				t.Fatalf("warnings %q, want %q", got, c.warning)
			}
		})
	}
	if _, _, err := charts.LoadCredentials(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "none.json: no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestDefaultRegistryConfig(t *testing.T) {
	t.Setenv("HELM_REGISTRY_CONFIG", "")
	t.Setenv("HELM_CONFIG_HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "/x")
	if got := charts.DefaultRegistryConfig(); got != "/x/helm/registry/config.json" {
		t.Fatalf("got %s", got)
	}
	t.Setenv("HELM_REGISTRY_CONFIG", "/etc/reg.json")
	if got := charts.DefaultRegistryConfig(); got != "/etc/reg.json" {
		t.Fatalf("got %s", got)
	}
}

// TestFollowRotatedFile: a followed file rewritten with a new token is
// read again at the next fetch, and its secrets are handed out to mask.
func TestFollowRotatedFile(t *testing.T) {
	data := archive(t)
	reg := privateRegistry(t, data, false)
	host := strings.TrimPrefix(reg.URL, "http://")
	file := filepath.Join(t.TempDir(), "config.json")
	write := func(token string, at time.Time) {
		os.WriteFile(file, []byte(`{"auths":{"`+host+`":{"registrytoken":"`+token+`"}}}`), 0o600)
		os.Chtimes(file, at, at)
	}
	write("expired-token-0000", time.Unix(1000, 0))
	creds, _, err := charts.LoadCredentials(file)
	if err != nil {
		t.Fatal(err)
	}
	var masked []string
	creds.Follow(func(secrets, _ []string) { masked = append(masked, secrets...) })
	f := charts.Fetcher{PlainHTTP: []string{host}, Credentials: creds}
	ref := render.ChartRef{Repository: "oci://" + host + "/charts", Name: "hello", Version: "0.1.0", Digest: render.Digest(data)}
	if _, err := f.Fetch(context.Background(), ref); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
		t.Fatalf("expired token: %v", err)
	}
	write(registryToken, time.Unix(2000, 0))
	if _, err := f.Fetch(context.Background(), ref); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	if len(masked) != 1 || masked[0] != registryToken {
		t.Fatalf("masked %d values, want the new token", len(masked))
	}
	os.WriteFile(file, []byte("{"), 0o600)
	if _, err := f.Fetch(context.Background(), ref); err == nil || !strings.Contains(err.Error(), "config.json:1:1: registry config must be valid JSON") {
		t.Fatalf("a file that became malformed: %v", err)
	}
}
