package contrib_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/internal/testneed"
)

// root is the repository, where action.yml and .pre-commit-hooks.yaml are.
var root, _ = filepath.Abs("..")

// berth is built once for the tests that use the berth on the PATH.
var berth = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "berth-contrib-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "berth"), "berth.dev/berth/cmd/berth").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
})

func berthDir(t *testing.T) string {
	t.Helper()
	dir, err := berth()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// needTool skips without a tool, or fails under CI=true (scripts/testenv.sh
// installs it).
func needTool(t *testing.T, tool string) {
	t.Helper()
	testneed.Tools(t, tool)
}

// workspace is a Git repository of manifests: main holds examples/web,
// pushed to a bare "origin"; the branch pr adds or breaks something.
func workspace(t *testing.T, change func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	ws, origin := filepath.Join(dir, "ws"), filepath.Join(dir, "origin.git")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = ws
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(ws, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.yaml", "deployment.yaml", "service.yaml"} {
		copyFile(t, filepath.Join(root, "examples", "web", f), filepath.Join(ws, "deploy", f))
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", origin).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	git("init", "-q", "-b", "main")
	git("config", "user.email", "ci@example.com")
	git("config", "user.name", "CI")
	git("remote", "add", "origin", origin)
	git("add", "-A")
	git("commit", "-q", "-m", "web")
	git("push", "-q", "origin", "main")
	git("fetch", "-q", "origin")
	git("checkout", "-q", "-b", "pr")
	change(ws)
	git("add", "-A")
	git("commit", "-q", "-m", "change")
	return ws
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addService is a clean change: one more Service.
func addService(ws string) {
	os.WriteFile(filepath.Join(ws, "deploy", "extra.yaml"), []byte(
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\nspec:\n  selector: {app: web}\n  ports: [{port: 81, targetPort: http}]\n"), 0o644)
}

// breakService is a mistake lint reports at deploy/service.yaml:L:C.
func breakService(ws string) {
	p := filepath.Join(ws, "deploy", "service.yaml")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "ports:", "portz:", 1)), 0o644)
}

// fakeGitHub answers the comment calls of the action and records them.
type fakeGitHub struct {
	mu       sync.Mutex
	calls    []string // "METHOD path"
	bodies   []string
	existing bool // a berth comment is already there (id 42)
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer ghs_fake" {
		http.Error(w, "bad credentials", http.StatusUnauthorized)
		return
	}
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	switch {
	case r.Method == "GET" && r.URL.Path == "/repos/o/r/issues/7/comments":
		if f.existing {
			fmt.Fprint(w, `[{"id": 41, "body": "LGTM"}, {"id": 42, "body": "<!-- berth plan -->\nold"}]`)
		} else {
			fmt.Fprint(w, `[{"id": 41, "body": "LGTM"}]`)
		}
	case (r.Method == "POST" && r.URL.Path == "/repos/o/r/issues/7/comments") ||
		(r.Method == "PATCH" && r.URL.Path == "/repos/o/r/issues/comments/42"):
		var c struct{ Body string }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.bodies = append(f.bodies, c.Body)
		fmt.Fprint(w, `{"id": 42}`)
	default:
		http.NotFound(w, r)
	}
}

// action is action.yml: the inputs and the berth step.
type action struct {
	Inputs map[string]struct{ Default string }
	Runs   struct {
		Using string
		Steps []struct {
			ID  string
			Run string
			Env map[string]string
		}
	}
}

var expr = regexp.MustCompile(`\$\{\{\s*([a-z_.-]+)\s*\}\}`)

// runAction runs the berth step of action.yml as a runner would: its
// ${{ }} expressions filled from the inputs and the github context, in a
// fake GITHUB_* environment.
func runAction(t *testing.T, ws string, api string, inputs map[string]string, extraPath string) (code int, stdout string, outputs string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("action.yml runs.using = %q, want composite", a.Runs.Using)
	}
	ctx := map[string]string{"github.action_path": root, "github.token": "ghs_fake", "github.action_repository": "o/berth"}
	for name, in := range a.Inputs {
		ctx["inputs."+name] = in.Default
	}
	for k, v := range inputs {
		ctx["inputs."+k] = v
	}
	fill := func(s string) string {
		for range 3 { // defaults may refer to the github context
			s = expr.ReplaceAllStringFunc(s, func(m string) string {
				v, ok := ctx[expr.FindStringSubmatch(m)[1]]
				if !ok {
					t.Fatalf("action.yml: unknown expression %s", m)
				}
				return v
			})
		}
		return s
	}
	for k := range ctx {
		if strings.HasPrefix(k, "inputs.") {
			ctx[k] = fill(ctx[k])
		}
	}
	var step *struct {
		ID  string
		Run string
		Env map[string]string
	}
	for i := range a.Runs.Steps {
		if a.Runs.Steps[i].ID == "berth" {
			step = &a.Runs.Steps[i]
		}
	}
	if step == nil {
		t.Fatal("action.yml has no step with id berth")
	}
	tmp := t.TempDir()
	event := filepath.Join(tmp, "event.json")
	os.WriteFile(event, []byte(`{"pull_request": {"number": 7}}`), 0o644)
	outFile, pathFile, summary := filepath.Join(tmp, "output"), filepath.Join(tmp, "path"), filepath.Join(tmp, "summary")
	cmd := exec.Command("bash", "-e", "-c", fill(step.Run))
	cmd.Dir = ws
	path := os.Getenv("PATH")
	if extraPath != "" {
		path = extraPath + string(os.PathListSeparator) + path
	}
	cmd.Env = append(os.Environ(), "PATH="+path,
		"GITHUB_WORKSPACE="+ws, "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH="+event, "GITHUB_REPOSITORY=o/r",
		"GITHUB_API_URL="+api, "GITHUB_OUTPUT="+outFile, "GITHUB_PATH="+pathFile, "GITHUB_STEP_SUMMARY="+summary,
		"RUNNER_TEMP="+tmp)
	for k, v := range step.Env {
		cmd.Env = append(cmd.Env, k+"="+fill(v))
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	t.Logf("action stderr:\n%s", errb.String())
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	o, _ := os.ReadFile(outFile)
	return code, out.String(), string(o)
}

func TestGitHubAction(t *testing.T) {
	needTool(t, "jq")
	bin := berthDir(t)
	gh := &fakeGitHub{}
	srv := httptest.NewServer(gh)
	defer srv.Close()

	// A clean pull request: no annotation, the plan posted as a comment.
	ws := workspace(t, addService)
	code, stdout, outputs := runAction(t, ws, srv.URL, map[string]string{"install": "none", "path": "deploy", "plan-comment": "true"}, bin)
	if code != 0 || strings.Contains(stdout, "::error") {
		t.Fatalf("a clean change: exit %d\n%s", code, stdout)
	}
	if !strings.Contains(outputs, "lint-exit-code=0") || !strings.Contains(outputs, "plan-changes=Plan: 1 to add, ") {
		t.Errorf("outputs:\n%s", outputs)
	}
	if len(gh.bodies) != 1 || gh.calls[len(gh.calls)-1] != "POST /repos/o/r/issues/7/comments" ||
		!strings.HasPrefix(gh.bodies[0], "<!-- berth plan -->\n### berth plan: `") || !strings.Contains(gh.bodies[0], "Service default/extra") {
		t.Fatalf("the comment: calls %v, bodies %q", gh.calls, gh.bodies)
	}

	// The next push updates that comment rather than adding one.
	gh.existing = true
	if code, _, _ := runAction(t, ws, srv.URL, map[string]string{"install": "none", "path": "deploy", "plan-comment": "true"}, bin); code != 0 {
		t.Fatalf("second run: exit %d", code)
	}
	if last := gh.calls[len(gh.calls)-1]; last != "PATCH /repos/o/r/issues/comments/42" {
		t.Errorf("second run: %v, want the comment updated", gh.calls)
	}

	// A broken manifest: an annotation at its position, the step fails,
	// and the comment says the plan failed.
	broken := workspace(t, breakService)
	code, stdout, outputs = runAction(t, broken, srv.URL, map[string]string{"install": "none", "path": "deploy", "plan-comment": "true"}, bin)
	if code != 1 || !regexp.MustCompile(`(?m)^::error file=deploy/service\.yaml,line=\d+,col=\d+,title=berth `).MatchString(stdout) {
		t.Errorf("a broken manifest: exit %d, want 1 and an annotation\n%s", code, stdout)
	}
	if !strings.Contains(outputs, "lint-exit-code=1") || !strings.Contains(gh.bodies[len(gh.bodies)-1], "berth plan failed") {
		t.Errorf("a broken manifest: outputs %q, comment %q", outputs, gh.bodies[len(gh.bodies)-1])
	}

	// Without plan-comment, nothing is posted.
	n := len(gh.calls)
	if code, _, _ := runAction(t, ws, srv.URL, map[string]string{"install": "none", "path": "deploy"}, bin); code != 0 || len(gh.calls) != n {
		t.Errorf("plan-comment false: exit %d, calls %v", code, gh.calls[n:])
	}
}

// TestGitHubActionInstallsFromSource is install "source": go install from
// the action's checkout, which `uses: owner/berth@ref` pins.
func TestGitHubActionInstallsFromSource(t *testing.T) {
	testneed.Long(t, "builds berth")
	ws := workspace(t, addService)
	code, stdout, outputs := runAction(t, ws, "http://127.0.0.1:1", map[string]string{"install": "source", "path": "deploy"}, "")
	if code != 0 || !strings.Contains(outputs, "lint-exit-code=0") {
		t.Fatalf("install source: exit %d\n%s\n%s", code, stdout, outputs)
	}
}
