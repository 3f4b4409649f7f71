package contrib_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/testneed"
)

// TestREADMEInstall runs the README's install commands from a clone of
// this repository, with a GOPATH (and so a module cache) of its own: what
// a new user gets. The modules come from this machine's module cache used
// as a GOPROXY (file://), then from the configured proxy: the test needs
// no internet, and go.mod and go.sum must still name and pin every module
// the build needs (-mod=readonly, the default). The module path
// berth.dev/berth is not served at that address, so `go install
// berth.dev/berth/cmd/berth@version` cannot work; the README says so.
func TestREADMEInstall(t *testing.T) {
	testneed.Long(t, "builds berth from a clean module cache")
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- BEGIN INSTALL -->\n", "<!-- END INSTALL -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md has no install block (<!-- BEGIN INSTALL --> ... <!-- END INSTALL -->)")
	}
	var cmds []string
	for _, line := range strings.Split(s[i+len(begin):j], "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "```") {
			cmd, _, _ := strings.Cut(line, " #")
			cmds = append(cmds, strings.ReplaceAll(cmd, "<repository-url>", root))
		}
	}
	if len(cmds) == 0 || !strings.Contains(strings.Join(cmds, "\n"), "go install") {
		t.Fatalf("the install block has no go install: %q", cmds)
	}
	dir := t.TempDir()
	gopath := filepath.Join(dir, "gopath")
	hostCache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	proxy, _ := exec.Command("go", "env", "GOPROXY").Output()
	cmd := exec.Command("bash", "-e", "-x", "-c", strings.Join(cmds, "\n"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GOMODCACHE=", "GOBIN=", "GOFLAGS=-modcacherw -buildvcs=false",
		"GOPROXY=file://"+filepath.Join(strings.TrimSpace(string(hostCache)), "cache", "download")+","+strings.TrimSpace(string(proxy)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's install commands failed: %v\n%s", err, out)
	}
	bin := filepath.Join(gopath, "bin", "berth")
	if out, err := exec.Command(bin, "lint", filepath.Join(root, "examples", "web")).CombinedOutput(); err != nil {
		t.Fatalf("the installed berth: %v\n%s", err, out)
	}
}
