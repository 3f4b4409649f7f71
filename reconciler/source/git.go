// Package source follows where the manifests come from: a Git repository
// (any transport go-git speaks) or a plain directory, and says when a new
// revision is there. It fetches only on change (STYLE.md 17) and hands
// out each revision as an immutable snapshot directory.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Revision is one snapshot of the manifests.
type Revision struct {
	// ID is the commit hash, or a content hash for a plain directory.
	ID string `json:"id"`
	// Dir holds the manifests of this revision (the --path sub-folder).
	Dir string `json:"dir"`
	// Message is the commit's first line, when there is one; Author and
	// Time are the commit's author and author date.
	Message string    `json:"message,omitempty"`
	Author  string    `json:"author,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

// GitOptions say which repository to follow.
type GitOptions struct {
	URL    string
	Branch string // default "main"
	Path   string // sub-folder with the manifests
	// Dir is where the clone and the snapshots live (under the state dir).
	Dir  string
	Auth Auth
	// Keyring, when set, is an armored OpenPGP key ring or SSH public keys
	// (authorized_keys or allowed_signers lines): commits not signed by one
	// of its keys are refused.
	Keyring string
	Logger  *slog.Logger
}

// Git follows one branch of a repository.
type Git struct {
	opts GitOptions
	auth transport.AuthMethod
	repo *git.Repository
	log  *slog.Logger
}

// ErrUnsigned marks a commit refused by --require-signed-commits.
var ErrUnsigned = errors.New("commit is not signed by a trusted key")

// NewGit prepares to follow a repository; nothing is fetched yet.
func NewGit(opts GitOptions) (*Git, error) {
	if opts.URL == "" {
		return nil, errors.New("git source: no repository URL (use --repo)")
	}
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	auth, err := opts.Auth.method(opts.URL)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("git source: %w", err)
	}
	return &Git{opts: opts, auth: auth, log: opts.Logger}, nil
}

// URL is the repository followed.
func (g *Git) URL() string { return g.opts.URL }

// LocalPath returns the repository's directory when it is on this machine
// (a path or file:// URL), for watching its refs; "" otherwise.
func (g *Git) LocalPath() string { return localPath(g.opts.URL) }

func localPath(url string) string {
	if p, ok := strings.CutPrefix(url, "file://"); ok {
		return p
	}
	if strings.HasPrefix(url, "/") || strings.HasPrefix(url, ".") {
		return url
	}
	return ""
}

// Head asks the remote which commit the branch points at, without
// fetching (git ls-remote).
func (g *Git) Head(ctx context.Context) (string, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{g.opts.URL}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: g.auth})
	if err != nil {
		return "", fmt.Errorf("ls-remote %s: %w", g.opts.URL, err)
	}
	want := plumbing.NewBranchReferenceName(g.opts.Branch)
	for _, r := range refs {
		if r.Name() == want {
			return r.Hash().String(), nil
		}
	}
	return "", fmt.Errorf("ls-remote %s: no branch %q (push one, or pass --branch)", g.opts.URL, g.opts.Branch)
}

// Fetch brings the branch's newest commit and returns its snapshot. When
// the remote head equals have and its snapshot exists, nothing is fetched
// and changed is false. A force-pushed branch is followed.
func (g *Git) Fetch(ctx context.Context, have string) (rev Revision, changed bool, err error) {
	head, err := g.Head(ctx)
	if err != nil {
		return Revision{}, false, err
	}
	if head == have {
		if r, ok := g.snapshot(head); ok {
			return r, false, nil
		}
	}
	if err := g.fetch(ctx); err != nil {
		return Revision{}, false, err
	}
	commit, err := g.repo.CommitObject(plumbing.NewHash(head))
	if err != nil {
		return Revision{}, false, fmt.Errorf("fetch %s: commit %s: %w", g.opts.URL, head, err)
	}
	if g.opts.Keyring != "" {
		if err := verifyCommit(commit, g.opts.Keyring); err != nil {
			return Revision{}, false, fmt.Errorf("commit %s: %w: %v", short(head), ErrUnsigned, err)
		}
	}
	rev, err = g.extract(commit)
	if err != nil {
		return Revision{}, false, err
	}
	return rev, head != have, nil
}

func (g *Git) fetch(ctx context.Context) error {
	clone := filepath.Join(g.opts.Dir, "repo.git")
	if g.repo == nil {
		repo, err := git.PlainOpen(clone)
		if errors.Is(err, git.ErrRepositoryNotExists) {
			repo, err = git.PlainInit(clone, true)
			if err == nil {
				_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{g.opts.URL}})
			}
		}
		if err != nil {
			return fmt.Errorf("open clone %s: %w", clone, err)
		}
		g.repo = repo
	}
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/remotes/origin/%[1]s", g.opts.Branch))
	err := g.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RemoteURL:  g.opts.URL,
		RefSpecs:   []config.RefSpec{spec},
		Depth:      1,
		Force:      true,
		Tags:       git.NoTags,
		Auth:       g.auth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch %s: %w", g.opts.URL, err)
	}
	return nil
}

func (g *Git) snapshotDir(id string) string { return filepath.Join(g.opts.Dir, "snapshots", id) }

// Snapshot returns the snapshot of a revision fetched before, if it is
// still on disk: a restarted daemon recompiles the revision it applied
// last even when the branch head is now a bad commit.
func (g *Git) Snapshot(id string) (Revision, bool) { return g.snapshot(id) }

func (g *Git) snapshot(id string) (Revision, bool) {
	dir := g.snapshotDir(id)
	if _, err := os.Stat(filepath.Join(dir, ".berth-complete")); err != nil {
		return Revision{}, false
	}
	return Revision{ID: id, Dir: filepath.Join(dir, filepath.FromSlash(g.opts.Path))}, true
}

// extract writes the commit's tree into its own snapshot directory, via a
// temporary one and a rename, so a crash never leaves a half snapshot.
func (g *Git) extract(c *object.Commit) (Revision, error) {
	id := c.Hash.String()
	msg, _, _ := strings.Cut(c.Message, "\n")
	if r, ok := g.snapshot(id); ok {
		r.Message, r.Author, r.Time = msg, c.Author.Name, c.Author.When
		return r, nil
	}
	tree, err := c.Tree()
	if err != nil {
		return Revision{}, fmt.Errorf("commit %s: %w", short(id), err)
	}
	tmp, err := os.MkdirTemp(g.opts.Dir, "extract-")
	if err != nil {
		return Revision{}, err
	}
	defer os.RemoveAll(tmp)
	prefix := strings.Trim(path.Clean("/"+g.opts.Path), "/")
	err = tree.Files().ForEach(func(f *object.File) error {
		if prefix != "" && f.Name != prefix && !strings.HasPrefix(f.Name, prefix+"/") {
			return nil
		}
		if f.Mode == filemode.Symlink || f.Mode == filemode.Submodule {
			return nil // never follow links out of the snapshot
		}
		dst := filepath.Join(tmp, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		return Revision{}, fmt.Errorf("extract commit %s: %w", short(id), err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".berth-complete"), nil, 0o644); err != nil {
		return Revision{}, err
	}
	if err := os.MkdirAll(filepath.Dir(g.snapshotDir(id)), 0o755); err != nil {
		return Revision{}, err
	}
	if err := os.Rename(tmp, g.snapshotDir(id)); err != nil {
		return Revision{}, fmt.Errorf("extract commit %s: %w", short(id), err)
	}
	if prefix != "" {
		if _, err := os.Stat(filepath.Join(g.snapshotDir(id), filepath.FromSlash(prefix))); err != nil {
			return Revision{}, fmt.Errorf("commit %s has no folder %q (check --path)", short(id), prefix)
		}
	}
	return Revision{ID: id, Dir: filepath.Join(g.snapshotDir(id), filepath.FromSlash(prefix)), Message: msg,
		Author: c.Author.Name, Time: c.Author.When}, nil
}

// Prune removes snapshots other than keep.
func (g *Git) Prune(keep ...string) error {
	entries, err := os.ReadDir(filepath.Join(g.opts.Dir, "snapshots"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if !contains(keep, e.Name()) {
			if err := os.RemoveAll(filepath.Join(g.opts.Dir, "snapshots", e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
