package source

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"berth.dev/berth/internal/testneed"
)

// repo is a bare "remote" plus a work clone that pushes to it, driven by
// the real git command.
type repo struct {
	t          *testing.T
	bare, work string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	testneed.Tools(t, "git")
	d := t.TempDir()
	r := &repo{t: t, bare: filepath.Join(d, "remote.git"), work: filepath.Join(d, "work")}
	r.git(d, "init", "-q", "--bare", "-b", "main", r.bare)
	r.git(d, "init", "-q", "-b", "main", r.work)
	r.git(r.work, "config", "user.email", "t@example.com")
	r.git(r.work, "config", "user.name", "t")
	r.git(r.work, "remote", "add", "origin", r.bare)
	return r
}

func (r *repo) git(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// gitIn runs git in the work tree with stdin.
func (r *repo) gitIn(stdin string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.work
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) commit(files map[string]string, msg string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git(r.work, "add", "-A")
	r.git(r.work, "commit", "-q", "-m", msg)
	r.git(r.work, "push", "-q", "-f", "origin", "main")
	return r.git(r.work, "rev-parse", "HEAD")
}

func TestGitFetch(t *testing.T) {
	r := newRepo(t)
	c1 := r.commit(map[string]string{"deploy/a.yaml": "a: 1\n", "README.md": "x"}, "first")
	g, err := NewGit(GitOptions{URL: r.bare, Path: "deploy", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rev, changed, err := g.Fetch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if rev.ID != c1 || !changed || rev.Message != "first" {
		t.Fatalf("Fetch = %+v changed=%v, want %s changed", rev, changed, c1)
	}
	if b, err := os.ReadFile(filepath.Join(rev.Dir, "a.yaml")); err != nil || string(b) != "a: 1\n" {
		t.Fatalf("snapshot a.yaml = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(rev.Dir, "README.md")); err == nil {
		t.Fatal("snapshot has a file outside --path")
	}

	// Unchanged: no fetch, same snapshot.
	again, changed, err := g.Fetch(ctx, c1)
	if err != nil || changed || again.Dir != rev.Dir {
		t.Fatalf("second Fetch = %+v changed=%v err=%v, want unchanged", again, changed, err)
	}

	// A new commit, then a force-push that rewrites it away.
	c2 := r.commit(map[string]string{"deploy/a.yaml": "a: 2\n"}, "second")
	rev2, changed, err := g.Fetch(ctx, c1)
	if err != nil || !changed || rev2.ID != c2 {
		t.Fatalf("Fetch after push = %+v changed=%v err=%v, want %s", rev2, changed, err, c2)
	}
	r.git(r.work, "reset", "-q", "--hard", c1)
	c3 := r.commit(map[string]string{"deploy/b.yaml": "b: 1\n"}, "rewritten")
	rev3, changed, err := g.Fetch(ctx, c2)
	if err != nil || !changed || rev3.ID != c3 {
		t.Fatalf("Fetch after force-push = %+v changed=%v err=%v, want %s", rev3, changed, err, c3)
	}
	if b, _ := os.ReadFile(filepath.Join(rev3.Dir, "a.yaml")); string(b) != "a: 1\n" {
		t.Fatalf("force-pushed snapshot a.yaml = %q, want the rewritten history's content", b)
	}
	if err := g.Prune(c3); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rev.Dir); err == nil {
		t.Fatal("Prune kept an old snapshot")
	}
}

func TestGitMissingBranchAndPath(t *testing.T) {
	r := newRepo(t)
	r.commit(map[string]string{"a.yaml": "a: 1\n"}, "first")
	g, _ := NewGit(GitOptions{URL: r.bare, Branch: "prod", Dir: t.TempDir()})
	if _, _, err := g.Fetch(context.Background(), ""); err == nil || !strings.Contains(err.Error(), `no branch "prod"`) {
		t.Fatalf("Fetch of a missing branch: err = %v", err)
	}
	g, _ = NewGit(GitOptions{URL: r.bare, Path: "nope", Dir: t.TempDir()})
	if _, _, err := g.Fetch(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "--path") {
		t.Fatalf("Fetch of a missing path: err = %v", err)
	}
}

func TestGitSignedCommits(t *testing.T) {
	r := newRepo(t)
	r.commit(map[string]string{"a.yaml": "a: 1\n"}, "unsigned")
	entity, err := openpgp.NewEntity("berth test", "", "t@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()

	g, _ := NewGit(GitOptions{URL: r.bare, Dir: t.TempDir(), Keyring: pub.String()})
	if _, _, err := g.Fetch(context.Background(), ""); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned commit: err = %v, want ErrUnsigned", err)
	}

	// A commit signed by the trusted key is accepted.
	repo, err := git.PlainOpen(r.work)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	os.WriteFile(filepath.Join(r.work, "b.yaml"), []byte("b: 1\n"), 0o644)
	wt.Add("b.yaml")
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}
	h, err := wt.Commit("signed", &git.CommitOptions{Author: sig, SignKey: entity})
	if err != nil {
		t.Fatal(err)
	}
	r.git(r.work, "push", "-q", "origin", "main")
	rev, _, err := g.Fetch(context.Background(), "")
	if err != nil || rev.ID != h.String() {
		t.Fatalf("signed commit: rev %+v err %v", rev, err)
	}
}

func TestWatchLocalRepo(t *testing.T) {
	r := newRepo(t)
	r.commit(map[string]string{"a.yaml": "a: 1\n"}, "first")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Watch(ctx, 50*time.Millisecond, RefPaths(r.bare)...)
	if err != nil {
		t.Fatal(err)
	}
	r.commit(map[string]string{"a.yaml": "a: 2\n"}, "second")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s of a push into the watched bare repository")
	}
}

func TestDirRevision(t *testing.T) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "a.yaml"), []byte("a: 1\n"), 0o644)
	r1, err := DirRevision(d)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "a.yaml"), []byte("a: 1\n"), 0o644)
	r2, _ := DirRevision(d)
	os.WriteFile(filepath.Join(d, "a.yaml"), []byte("a: 2\n"), 0o644)
	r3, _ := DirRevision(d)
	if r1.ID != r2.ID || r1.ID == r3.ID {
		t.Fatalf("DirRevision ids %s %s %s: want same content → same id, changed → new id", r1.ID, r2.ID, r3.ID)
	}
}

func TestGitSSHSignedCommits(t *testing.T) {
	testneed.Tools(t, "ssh-keygen")
	r := newRepo(t)
	keyDir := t.TempDir()
	for _, name := range []string{"trusted", "other"} {
		r.git(keyDir, "--version") // keeps the helper's error reporting
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(keyDir, name)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(keyDir, "trusted.pub"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join(keyDir, "other.pub"))
	r.git(r.work, "config", "gpg.format", "ssh")
	r.git(r.work, "config", "user.signingkey", filepath.Join(keyDir, "trusted"))
	r.git(r.work, "config", "commit.gpgsign", "true")
	c1 := r.commit(map[string]string{"a.yaml": "a: 1\n"}, "ssh-signed")

	// allowed_signers format: a principal before the key.
	g, _ := NewGit(GitOptions{URL: r.bare, Dir: t.TempDir(), Keyring: "t@example.com " + string(pub)})
	rev, _, err := g.Fetch(context.Background(), "")
	if err != nil || rev.ID != c1 {
		t.Fatalf("SSH-signed commit with its key trusted: rev %+v err %v", rev, err)
	}
	g, _ = NewGit(GitOptions{URL: r.bare, Dir: t.TempDir(), Keyring: string(other)})
	if _, _, err := g.Fetch(context.Background(), ""); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), "not in the keyring") {
		t.Fatalf("SSH-signed commit by an untrusted key: err = %v", err)
	}
	r.git(r.work, "config", "commit.gpgsign", "false")
	r.commit(map[string]string{"a.yaml": "a: 2\n"}, "unsigned")
	g, _ = NewGit(GitOptions{URL: r.bare, Dir: t.TempDir(), Keyring: string(pub)})
	if _, _, err := g.Fetch(context.Background(), ""); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned commit with an SSH keyring: err = %v", err)
	}
}

// signingRepo is a repository whose commits git signs with an SSH key;
// pub is the key's allowed_signers line.
func signingRepo(t *testing.T) (r *repo, pub string, keyDir string) {
	t.Helper()
	testneed.Tools(t, "ssh-keygen")
	r = newRepo(t)
	keyDir = t.TempDir()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(keyDir, "key")).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(filepath.Join(keyDir, "key.pub"))
	r.git(r.work, "config", "gpg.format", "ssh")
	r.git(r.work, "config", "user.signingkey", filepath.Join(keyDir, "key"))
	r.git(r.work, "config", "commit.gpgsign", "true")
	return r, "t@example.com " + string(b), keyDir
}

// TestGitSignedRollbackRefused: with signed commits required, a
// force-push back to an older signed commit, or to a signed commit of
// another branch, is refused; --allow-non-fast-forward accepts them.
func TestGitSignedRollbackRefused(t *testing.T) {
	r, pub, _ := signingRepo(t)
	ctx := context.Background()
	c1 := r.commit(map[string]string{"a.yaml": "a: 1\n"}, "v1")
	dir := t.TempDir()
	g, _ := NewGit(GitOptions{URL: r.bare, Dir: dir, Keyring: pub})
	if rev, _, err := g.Fetch(ctx, ""); err != nil || rev.ID != c1 {
		t.Fatalf("v1: %+v %v", rev, err)
	}
	g.Anchor(c1) // the loop anchors after an apply
	c2 := r.commit(map[string]string{"a.yaml": "a: 2\n"}, "v2")
	if rev, _, err := g.Fetch(ctx, c1); err != nil || rev.ID != c2 {
		t.Fatalf("v2 (a fast-forward): %+v %v", rev, err)
	}
	g.Anchor(c2)

	r.git(r.work, "push", "-q", "-f", "origin", c1+":refs/heads/main")
	_, _, err := g.Fetch(ctx, c2)
	var re *RevisionError
	if !errors.As(err, &re) || re.ID != c1 || !errors.Is(err, ErrNotFastForward) || !strings.Contains(err.Error(), "--allow-non-fast-forward") {
		t.Fatalf("rollback to v1: err = %v, want ErrNotFastForward", err)
	}

	// A signed commit of another branch, pushed over main.
	r.git(r.work, "checkout", "-q", "--orphan", "other")
	other := r.commit(map[string]string{"a.yaml": "a: 9\n"}, "other branch")
	r.git(r.work, "push", "-q", "-f", "origin", "other:main")
	if _, _, err := g.Fetch(ctx, c2); !errors.Is(err, ErrNotFastForward) {
		t.Fatalf("another branch's commit: err = %v, want ErrNotFastForward", err)
	}

	// Allowed on request.
	g2, _ := NewGit(GitOptions{URL: r.bare, Dir: t.TempDir(), Keyring: pub, AllowNonFastForward: true})
	g2.Anchor(c2)
	if rev, _, err := g2.Fetch(ctx, c2); err != nil || rev.ID != other {
		t.Fatalf("with --allow-non-fast-forward: %+v %v", rev, err)
	}
}

// TestGitResumeReverifies: on restart the applied snapshot is verified
// again with the keyring the daemon has now.
func TestGitResumeReverifies(t *testing.T) {
	r, pub, keyDir := signingRepo(t)
	c1 := r.commit(map[string]string{"a.yaml": "a: 1\n"}, "v1")
	dir := t.TempDir()
	g, _ := NewGit(GitOptions{URL: r.bare, Dir: dir, Keyring: pub})
	if _, _, err := g.Fetch(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	g, _ = NewGit(GitOptions{URL: r.bare, Dir: dir, Keyring: pub})
	if _, ok := g.Snapshot(c1); !ok {
		t.Fatal("the applied snapshot did not resume with its key trusted")
	}
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(keyDir, "new")).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	rotated, _ := os.ReadFile(filepath.Join(keyDir, "new.pub"))
	g, _ = NewGit(GitOptions{URL: r.bare, Dir: dir, Keyring: string(rotated)})
	if _, ok := g.Snapshot(c1); ok {
		t.Fatal("a snapshot signed by a key no longer trusted was resumed")
	}
}

// TestGitCredentialsNeverShown: a URL with credentials is refused, and a
// token read from a file never appears in an error.
func TestGitCredentialsNeverShown(t *testing.T) {
	for _, u := range []string{"https://user:tok3n@example.com/x.git", "https://tok3n@example.com/x.git", "ssh://git:tok3n@example.com/x.git"} {
		_, err := NewGit(GitOptions{URL: u, Dir: t.TempDir()})
		if err == nil || strings.Contains(err.Error(), "tok3n") || !strings.Contains(err.Error(), "--token-file") {
			t.Fatalf("NewGit(%s): %v", u, err)
		}
	}
	if _, err := NewGit(GitOptions{URL: "git@example.com:x.git", Dir: t.TempDir()}); err != nil {
		t.Fatalf("an scp-style URL (a user, no password) is fine: %v", err)
	}
	// A server that echoes what it was sent in its error.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "denied: "+r.Header.Get("Authorization")+" "+r.URL.String(), http.StatusForbidden)
	}))
	defer srv.Close()
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("PLANTED-TOKEN-123\n"), 0o600)
	g, err := NewGit(GitOptions{URL: srv.URL + "/x.git", Dir: t.TempDir(), Auth: Auth{TokenFile: tok}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.Fetch(context.Background(), "")
	basic := base64.StdEncoding.EncodeToString([]byte("berth:PLANTED-TOKEN-123"))
	if err == nil || strings.Contains(err.Error(), "PLANTED-TOKEN-123") || strings.Contains(err.Error(), basic) {
		t.Fatalf("err = %v", err)
	}
}
