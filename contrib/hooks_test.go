package contrib_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// git runs git in dir.
func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// preCommit runs `pre-commit try-repo` of this repository's hook in ws.
func preCommit(t *testing.T, ws, hook string, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("pre-commit", "try-repo", root, hook, "--all-files", "--verbose")
	cmd.Dir = ws
	cmd.Env = append(append(os.Environ(), "PRE_COMMIT_HOME="+filepath.Join(t.TempDir(), "pre-commit-home")), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func TestPreCommitHooks(t *testing.T) {
	needTool(t, "pre-commit")
	bin := berthDir(t)
	path := "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")
	good := workspace(t, addService)
	if code, out := preCommit(t, good, "berth-lint-system", path); code != 0 || !strings.Contains(out, "berth lint (berth on the PATH)") || !strings.Contains(out, "Passed") {
		t.Errorf("berth-lint-system on clean manifests: exit %d\n%s", code, out)
	}
	bad := workspace(t, breakService)
	code, out := preCommit(t, bad, "berth-lint-system", path)
	if code != 1 || !regexp.MustCompile(`deploy/service\.yaml:\d+:\d+: error: `).MatchString(out) {
		t.Errorf("berth-lint-system on a broken manifest: exit %d, want 1 and file:line:col\n%s", code, out)
	}
	if testing.Short() {
		return
	}
	// berth-lint builds berth in pre-commit's own Go environment, from the
	// modules already in this machine's cache (no network).
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cache := strings.TrimSpace(string(gomodcache))
	code, out = preCommit(t, bad, "berth-lint", "GOMODCACHE="+cache, "GOFLAGS=-mod=mod -buildvcs=false",
		"GOPROXY=file://"+filepath.Join(cache, "cache", "download"))
	if code != 1 || !regexp.MustCompile(`deploy/service\.yaml:\d+:\d+: error: `).MatchString(out) {
		t.Errorf("berth-lint (golang) on a broken manifest: exit %d, want 1 and file:line:col\n%s", code, out)
	}
}

// gitlabCI is the part of a .gitlab-ci.yml the template uses.
type gitlabCI struct {
	Variables map[string]string
	Lint      struct {
		Script    []string
		Artifacts struct {
			Reports struct{ JUnit string }
		}
	} `yaml:"berth-lint"`
}

// junit is the part of a JUnit report GitLab reads.
type junit struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// runGitLab runs the berth-lint job's script in ws as a GitLab runner
// would (one shell, the template's variables, then the project's), with
// berth already installed.
func runGitLab(t *testing.T, ws string, vars map[string]string) (int, string, junit) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "contrib", "gitlab", "berth.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var ci gitlabCI
	if err := yaml.Unmarshal(b, &ci); err != nil {
		t.Fatalf("berth.gitlab-ci.yml: %v", err)
	}
	if len(ci.Lint.Script) == 0 || ci.Lint.Artifacts.Reports.JUnit == "" {
		t.Fatalf("berth.gitlab-ci.yml: the berth-lint job has no script or no junit report: %+v", ci.Lint)
	}
	cmd := exec.Command("bash", "-e", "-c", strings.Join(ci.Lint.Script, "\n"))
	cmd.Dir = ws
	cmd.Env = append(os.Environ(), "PATH="+berthDir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	for k, v := range ci.Variables {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var report junit
	rb, err := os.ReadFile(filepath.Join(ws, ci.Lint.Artifacts.Reports.JUnit))
	if err != nil {
		t.Fatalf("the job wrote no %s: %v\n%s", ci.Lint.Artifacts.Reports.JUnit, err, out)
	}
	if err := xml.Unmarshal(rb, &report); err != nil {
		t.Fatalf("%s is not JUnit XML: %v\n%s", ci.Lint.Artifacts.Reports.JUnit, err, rb)
	}
	return code, string(out), report
}

func TestGitLabTemplate(t *testing.T) {
	ws := workspace(t, addService)
	code, out, report := runGitLab(t, ws, map[string]string{"BERTH_INSTALL": "true", "BERTH_PATH": "deploy"})
	if code != 0 || report.Failures != 0 || report.Tests == 0 {
		t.Errorf("clean manifests: exit %d, report %+v\n%s", code, report, out)
	}
	bad := workspace(t, breakService)
	code, out, report = runGitLab(t, bad, map[string]string{"BERTH_INSTALL": "true", "BERTH_PATH": "deploy"})
	if code != 1 || report.Failures == 0 || !strings.Contains(out, "deploy/service.yaml:") {
		t.Fatalf("a broken manifest: exit %d, report %+v\n%s", code, report, out)
	}
	found := false
	for _, s := range report.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil && regexp.MustCompile(`^deploy/service\.yaml:\d+:\d+: error: `).MatchString(c.Failure.Message) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no JUnit failure at deploy/service.yaml:L:C in %+v", report)
	}
	// Without BERTH_REPO, the default install says what to set.
	code, out, _ = runGitLabNoReport(t, ws)
	if code == 0 || !strings.Contains(out, "set BERTH_REPO") {
		t.Errorf("no BERTH_REPO: exit %d\n%s", code, out)
	}
}

// runGitLabNoReport runs the job's script with the template's own
// install and no BERTH_REPO.
func runGitLabNoReport(t *testing.T, ws string) (int, string, error) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(root, "contrib", "gitlab", "berth.gitlab-ci.yml"))
	var ci gitlabCI
	if err := yaml.Unmarshal(b, &ci); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-e", "-c", strings.Join(ci.Lint.Script, "\n"))
	cmd.Dir = ws
	cmd.Env = os.Environ()
	for k, v := range ci.Variables {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out), nil
	}
	return 0, string(out), err
}
