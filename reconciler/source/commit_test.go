package source

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitobject "github.com/go-git/go-git/v5/plumbing/object"

	"berth.dev/berth/compiler/budget"
)

// TestExtractCommit: berth plan --base reads a commit with the daemon's
// extraction: the whole tree for a directory (kustomize bases outside
// it), the file alone for a file, no symbolic link, the work tree's
// later changes ignored.
func TestExtractCommit(t *testing.T) {
	root := t.TempDir()
	repo, err := git.PlainInit(root, false)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("apps/web.yaml", "kind: A\n")
	write("base/base.yaml", "kind: B\n")
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "apps", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("one", &git.CommitOptions{Author: &gitobject.Signature{Name: "t", Email: "t@example.com", When: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	write("apps/web.yaml", "kind: Changed\n")

	dir, sub, commit, err := ExtractCommit(filepath.Join(root, "apps"), "HEAD", budget.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if commit != h.String() || sub != filepath.Join(dir, "apps") {
		t.Errorf("commit %s sub %s, want %s %s", commit, sub, h, filepath.Join(dir, "apps"))
	}
	if b, err := os.ReadFile(filepath.Join(sub, "web.yaml")); err != nil || string(b) != "kind: A\n" {
		t.Errorf("web.yaml = %q, %v; want the committed content", b, err)
	}
	if _, err := os.ReadFile(filepath.Join(dir, "base", "base.yaml")); err != nil {
		t.Errorf("the tree outside the path is missing: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(sub, "link.yaml")); !os.IsNotExist(err) {
		t.Errorf("a symbolic link was written: %v", err)
	}

	one, sub, _, err := ExtractCommit(filepath.Join(root, "apps", "web.yaml"), "HEAD", budget.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(one)
	entries, _ := os.ReadDir(one)
	if sub != one || len(entries) != 1 || entries[0].Name() != "web.yaml" {
		t.Errorf("a file extracts %v in %s (sub %s), want web.yaml alone", entries, one, sub)
	}
	if _, _, _, err := ExtractCommit(t.TempDir(), "HEAD", budget.Limits{}); err == nil {
		t.Error("a directory outside any repository extracted")
	}
}
