package e2e_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// gitDaemon serves dir's repositories read-only on git://127.0.0.1:PORT/.
func gitDaemon(t *testing.T, dir string) string {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command("git", "daemon", "--export-all", "--reuseaddr", "--base-path="+dir,
		"--listen=127.0.0.1", "--port="+strconv.Itoa(port), dir)
	// git daemon forks a child per connection: kill the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("git daemon: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("git daemon:\n%s", stderr.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "git://" + addr + "/"
		}
		if time.Now().After(deadline) {
			t.Fatalf("git daemon on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gitHTTP serves dir's repositories with git http-backend (smart HTTP)
// behind net/http/cgi, on http://127.0.0.1:PORT/.
func gitHTTP(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := filepath.Join(string(bytes.TrimSpace(out)), "git-http-backend")
	srv := httptest.NewServer(&cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1"},
	})
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// TestWebhookTriggersFetch: with a long poll, a correctly signed GitHub
// push notification makes the daemon fetch and apply at once; an unsigned
// or wrongly signed one is refused with 401 and triggers nothing. The
// repository is served over git:// so that no file watch can trigger.
func TestWebhookTriggersFetch(t *testing.T) {
	t.Parallel()
	n := newNode(t, 6)
	r := newRepo(t, n.dir)
	secret := "e2e-webhook-secret"
	secretFile := filepath.Join(n.dir, "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	url := gitDaemon(t, n.dir) + "repo.git"
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 1}
	svc := deploy(t, n, r, a, "--repo", url, "--poll", "10m",
		"--webhook-secret-file", secretFile, "--api-addr", apiAddr)
	old := r.git("rev-parse", "HEAD")

	a.Image = helloImage["v2"]
	r.write("app.yaml", a.yaml())
	rev := r.commit("hello v2")
	r.push()
	payload := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q,"repository":{"full_name":"e2e/repo"}}`, old, rev))
	hook := func(sig string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+apiAddr+"/hooks/git", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST /hooks/git: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sign := func(key string) string {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(payload)
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}

	if code := hook(sign("not-the-secret")); code != http.StatusUnauthorized {
		t.Errorf("wrongly signed webhook: status %d, want 401", code)
	}
	if code := hook(""); code != http.StatusUnauthorized {
		t.Errorf("unsigned webhook: status %d, want 401", code)
	}
	time.Sleep(3 * time.Second)
	if st := n.mustStatus(); st.GitOps.Applied != old || st.GitOps.Head != old {
		t.Fatalf("after refused webhooks: applied %s head %s, want both still %s", short(st.GitOps.Applied), short(st.GitOps.Head), short(old))
	}

	sent := time.Now()
	if code := hook(sign(secret)); code != http.StatusAccepted {
		t.Fatalf("signed webhook: status %d, want 202", code)
	}
	n.waitApplied(rev, 15*time.Second)
	applied := time.Since(sent)
	n.waitFor(30*time.Second, "v2 answering", func() (bool, string) { return serves(svc, "v2") })
	t.Logf("webhook to applied %.2fs, to serving v2 %.2fs (poll interval 10m)", applied.Seconds(), time.Since(sent).Seconds())
}

// TestHTTPTransportPoll: the daemon follows a repository over smart HTTP
// (git http-backend), finding new commits by polling.
func TestHTTPTransportPoll(t *testing.T) {
	t.Parallel()
	n := newNode(t, 8)
	r := newRepo(t, n.dir)
	url := gitHTTP(t, n.dir) + "repo.git"
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 1}
	svc := deploy(t, n, r, a, "--repo", url, "--poll", "1s")

	a.Image = helloImage["v2"]
	r.write("app.yaml", a.yaml())
	rev := r.commit("hello v2")
	r.push()
	pushed := time.Now()
	n.waitApplied(rev, 20*time.Second)
	n.waitFor(30*time.Second, "v2 answering", func() (bool, string) { return serves(svc, "v2") })
	t.Logf("push to serving v2 over http:// with --poll 1s: %.2fs", time.Since(pushed).Seconds())
}
