package charts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"berth.dev/berth/compiler/render"
	"berth.dev/berth/internal/testneed"
	"berth.dev/berth/reconciler/charts"
)

// TestHtpasswdRegistry: a real distribution registry (Debian's
// docker-registry, as scripts/testenv.sh runs) with htpasswd auth, on a
// port of its own, holds a chart pushed as `helm push` does; the fetcher
// answers its Basic challenge with the credentials of a config.json, and
// says who refused and what to do without them or with wrong ones. It
// touches the registry: run it under `flock /tmp/berth-it.lock`.
func TestHtpasswdRegistry(t *testing.T) {
	testneed.Tools(t, "docker-registry")
	if os.Getenv("BERTH_TEST_REGISTRY") == "" {
		testneed.Env(t, "integration", "BERTH_TEST_REGISTRY (eval \"$(scripts/testenv.sh)\")")
	}
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\nauth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n",
		filepath.Join(dir, "data"), host, htpasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command("docker-registry", "serve", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := false
	for range 100 {
		if resp, err := http.Get("http://" + host + "/v2/"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusUnauthorized
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ready {
		t.Fatalf("the registry did not start with htpasswd auth: %s", logs.String())
	}

	data := archive(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	digest := pushWithBasicAuth(t, ctx, host, "charts/hello", "0.1.0", data)
	if digest != render.Digest(data) {
		t.Fatalf("pushed layer %s, want %s", digest, render.Digest(data))
	}
	ref := render.ChartRef{Repository: "oci://" + host + "/charts", Name: "hello", Version: "0.1.0", Digest: digest}

	log, buf := capture()
	good := charts.Fetcher{PlainHTTP: []string{host}, Credentials: config(t, host, map[string]string{"username": user, "password": password}), Log: log}
	got, err := good.Fetch(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if render.Digest(got) != digest {
		t.Fatal("fetched another archive")
	}

	wrong := charts.Fetcher{PlainHTTP: []string{host}, Credentials: config(t, host, map[string]string{"username": user, "password": "not-" + password}), Log: log}
	if _, err = wrong.Fetch(ctx, ref); err == nil || !strings.Contains(err.Error(), "registry "+host+" refused the credentials --registry-config ") {
		t.Fatalf("wrong password: %v", err)
	}
	noSecrets(t, "the error", err.Error())
	none := charts.Fetcher{PlainHTTP: []string{host}, Log: log}
	if _, err = none.Fetch(ctx, ref); err == nil || !strings.Contains(err.Error(), "registry "+host+" asks for credentials, and berth has none: give it a Docker config.json with --registry-config FILE (helm registry login "+host) {
		t.Fatalf("no credentials: %v", err)
	}
	noSecrets(t, "the log", buf.String())
}

// pushWithBasicAuth uploads a chart as `helm push` does, to a registry
// with basic auth, and returns the layer digest.
func pushWithBasicAuth(t *testing.T, ctx context.Context, host, repo, version string, archive []byte) string {
	t.Helper()
	base := "http://" + host + "/v2/" + repo
	do := func(method, u string, body []byte, ctype string) *http.Response {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(user, password)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	upload := func(data []byte) string {
		d := render.Digest(data)
		resp := do(http.MethodPost, base+"/blobs/uploads/", nil, "")
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusAccepted || loc == "" {
			t.Fatalf("start upload: %s", resp.Status)
		}
		if !strings.HasPrefix(loc, "http") {
			loc = "http://" + host + loc
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		if resp := do(http.MethodPut, loc+sep+"digest="+d, data, "application/octet-stream"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload blob: %s", resp.Status)
		}
		return d
	}
	cfg := []byte(`{"name":"hello","version":"` + version + `"}`)
	cd, ld := upload(cfg), upload(archive)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": cd, "size": len(cfg)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": ld, "size": len(archive)}},
	})
	if resp := do(http.MethodPut, base+"/manifests/"+version, manifest, "application/vnd.oci.image.manifest.v1+json"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("push manifest: %s", resp.Status)
	}
	return ld
}
