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
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/reconciler/redact"
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

// DefaultBranch is the branch a source follows when none is given.
const DefaultBranch = "main"

// GitOptions say which repository to follow.
type GitOptions struct {
	// URL must not carry credentials (see redact.ErrCredentialsInURL).
	URL    string
	Branch string // default DefaultBranch
	Path   string // sub-folder with the manifests
	// Dir is where the clone and the snapshots live (under the state dir).
	Dir  string
	Auth Auth
	// Keyring, when set, is an armored OpenPGP key ring or SSH public keys
	// (authorized_keys or allowed_signers lines): commits not signed by one
	// of its keys are refused, and so is a head that does not descend from
	// the commit applied last (a rollback by force-push, or a signed commit
	// of another branch), unless AllowNonFastForward.
	Keyring             string
	AllowNonFastForward bool
	// Limits bound what one commit's snapshot may hold.
	Limits budget.Limits
	// Secrets collects the credentials read, so that whoever shows text
	// (the logger, status) can mask them; nil keeps them to this source.
	Secrets *redact.Secrets
	Logger  *slog.Logger
}

// Git follows one branch of a repository.
type Git struct {
	opts    GitOptions
	auth    transport.AuthMethod
	repo    *git.Repository
	log     *slog.Logger
	shown   string // the URL as logs and errors show it
	secrets *redact.Secrets

	mu sync.Mutex
	// anchor is the commit applied last: with a keyring, a new head must
	// descend from it.
	anchor string
	// refused is the last head refused for what it is: while the branch
	// stays there, it is refused again without a fetch.
	refused *RevisionError
}

// ErrUnsigned marks a commit refused by --require-signed-commits.
var ErrUnsigned = errors.New("commit is not signed by a trusted key")

// ErrNotFastForward marks a head that does not descend from the applied
// commit, refused by --require-signed-commits.
var ErrNotFastForward = errors.New("the new head does not descend from the applied commit")

// RevisionError is a commit refused for what it is (unsigned, a rollback,
// over a budget): the node keeps its last good revision, and the commit is
// not tried again until the branch moves.
type RevisionError struct {
	ID  string
	Err error
}

func (e *RevisionError) Error() string { return fmt.Sprintf("commit %s: %v", short(e.ID), e.Err) }
func (e *RevisionError) Unwrap() error { return e.Err }

// NewGit prepares to follow a repository; nothing is fetched yet.
func NewGit(opts GitOptions) (*Git, error) {
	if opts.URL == "" {
		return nil, errors.New("git source: no repository URL (use --repo)")
	}
	if redact.HasCredentials(opts.URL) {
		return nil, fmt.Errorf("--repo %s: %w", redact.URL(opts.URL), redact.ErrCredentialsInURL)
	}
	if opts.Branch == "" {
		opts.Branch = DefaultBranch
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Secrets == nil {
		opts.Secrets = &redact.Secrets{}
	}
	auth, err := opts.Auth.method(opts.URL, opts.Secrets)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("git source: %w", err)
	}
	return &Git{opts: opts, auth: auth, log: opts.Logger, shown: redact.URL(opts.URL), secrets: opts.Secrets}, nil
}

// URL is the repository followed, as it may be shown.
func (g *Git) URL() string { return g.shown }

// Anchor records the commit the node applied: with a keyring, a head that
// does not descend from it is refused (unless AllowNonFastForward).
func (g *Git) Anchor(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.anchor = id
}

// verifies says whether commits are checked: signatures, and descent.
func (g *Git) verifies() bool { return g.opts.Keyring != "" }

// needsHistory says whether the clone keeps the branch's history, to check
// that a head descends from the applied commit.
func (g *Git) needsHistory() bool { return g.verifies() && !g.opts.AllowNonFastForward }

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
		return "", g.secrets.Error(fmt.Errorf("ls-remote %s: %w", g.shown, err))
	}
	want := plumbing.NewBranchReferenceName(g.opts.Branch)
	for _, r := range refs {
		if r.Name() == want {
			return r.Hash().String(), nil
		}
	}
	return "", fmt.Errorf("ls-remote %s: no branch %q (push one, or pass --branch)", g.shown, g.opts.Branch)
}

// Fetch brings the branch's newest commit and returns its snapshot. When
// the remote head equals have and its snapshot exists, nothing is fetched
// and changed is false. A force-pushed branch is followed, unless commits
// are verified (a keyring): then the head must descend from the anchor.
// A commit refused for what it holds is a *RevisionError.
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
	if g.refused != nil && g.refused.ID == head {
		return Revision{}, false, g.refused
	}
	rev, err = g.fetchRevision(ctx, head)
	var re *RevisionError
	if errors.As(err, &re) {
		g.refused = re
	}
	if err != nil {
		return Revision{}, false, err
	}
	return rev, head != have, nil
}

func (g *Git) fetchRevision(ctx context.Context, head string) (Revision, error) {
	if err := g.fetch(ctx); err != nil {
		var ex *budget.Exceeded
		if errors.As(err, &ex) {
			return Revision{}, &RevisionError{ID: head, Err: err}
		}
		return Revision{}, err
	}
	commit, err := g.repo.CommitObject(plumbing.NewHash(head))
	if err != nil {
		return Revision{}, g.secrets.Error(fmt.Errorf("fetch %s: commit %s: %w", g.shown, head, err))
	}
	if err := g.verify(commit); err != nil {
		return Revision{}, &RevisionError{ID: head, Err: err}
	}
	rev, err := g.extract(commit)
	if err != nil {
		var ex *budget.Exceeded
		if errors.As(err, &ex) || errors.Is(err, errBadName) {
			return Revision{}, &RevisionError{ID: head, Err: err}
		}
		return Revision{}, err
	}
	return rev, nil
}

// verify checks a commit's signature and, with a history kept, that it
// descends from the anchor.
func (g *Git) verify(c *object.Commit) error {
	if !g.verifies() {
		return nil
	}
	if err := verifyCommit(c, g.opts.Keyring); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsigned, err)
	}
	g.mu.Lock()
	anchor := g.anchor
	g.mu.Unlock()
	if !g.needsHistory() || anchor == "" || anchor == c.Hash.String() {
		return nil
	}
	base, err := g.repo.CommitObject(plumbing.NewHash(anchor))
	if err == nil {
		var ok bool
		if ok, err = base.IsAncestor(c); err == nil && ok {
			return nil
		}
	}
	return fmt.Errorf("%w %s: a force-push back to an older commit, or a commit of another branch, is refused "+
		"(push a new commit on top of it, or pass --allow-non-fast-forward)", ErrNotFastForward, short(anchor))
}

func (g *Git) fetch(ctx context.Context) error {
	if g.repo == nil {
		repo, err := g.open()
		if err != nil {
			return err
		}
		g.repo = repo
	}
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/remotes/origin/%[1]s", g.opts.Branch))
	depth := 1
	if g.needsHistory() {
		depth = 0 // the ancestry of a head is checked
	}
	err := g.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RemoteURL:  g.opts.URL,
		RefSpecs:   []config.RefSpec{spec},
		Depth:      depth,
		Force:      true,
		Tags:       git.NoTags,
		Auth:       g.auth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		var ex *budget.Exceeded
		if errors.As(err, &ex) {
			return ex // the commit's content, not the transport
		}
		return g.secrets.Error(fmt.Errorf("fetch %s: %w", g.shown, err))
	}
	return nil
}

// open opens the clone, creating it the first time, on an object store
// that scans every pack a fetch brings against the budgets (see
// guardedStorage).
func (g *Git) open() (*git.Repository, error) {
	clone := filepath.Join(g.opts.Dir, "repo.git")
	if g.needsHistory() {
		g.dropShallow(clone)
	}
	_, statErr := os.Stat(clone)
	if err := os.MkdirAll(clone, 0o700); err != nil {
		return nil, fmt.Errorf("open clone %s: %w", clone, err)
	}
	st := &guardedStorage{
		// Blobs over 1 MiB are streamed from the pack, not read whole.
		Storage: filesystem.NewStorageWithOptions(osfs.New(clone), cache.NewObjectLRUDefault(),
			filesystem.Options{LargeObjectThreshold: 1 << 20}),
		tmpDir: g.opts.Dir,
		lim:    g.opts.Limits,
	}
	var repo *git.Repository
	var err error
	if errors.Is(statErr, os.ErrNotExist) {
		repo, err = git.Init(st, nil)
		if err == nil {
			_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{g.opts.URL}})
		}
	} else {
		repo, err = git.Open(st, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("open clone %s: %w", clone, err)
	}
	return repo, nil
}

// dropShallow removes a shallow clone (made before commits were verified):
// it lacks the history a descent check walks.
func (g *Git) dropShallow(clone string) {
	repo, err := git.PlainOpen(clone)
	if err != nil {
		return
	}
	if sh, err := repo.Storer.Shallow(); err == nil && len(sh) > 0 {
		g.log.Info("the clone is shallow and commits are verified: cloning the branch's history")
		_ = os.RemoveAll(clone)
	}
}

func (g *Git) snapshotDir(id string) string { return filepath.Join(g.opts.Dir, "snapshots", id) }

// Snapshot returns the snapshot of a revision fetched before, if it is
// still on disk: a restarted daemon recompiles the revision it applied
// last even when the branch head is now a bad commit. With a keyring, the
// commit's signature is verified again (the keyring may have changed
// since), and the revision becomes the anchor.
func (g *Git) Snapshot(id string) (Revision, bool) {
	r, ok := g.snapshot(id)
	if !ok || !g.verifies() {
		return r, ok
	}
	if err := g.reverify(id); err != nil {
		g.log.Warn("the applied revision no longer verifies; it is not resumed", "revision", id, "err", g.secrets.Error(err))
		return Revision{}, false
	}
	g.Anchor(id)
	return r, true
}

func (g *Git) reverify(id string) error {
	if g.repo == nil {
		repo, err := g.open()
		if err != nil {
			return err
		}
		g.repo = repo
	}
	c, err := g.repo.CommitObject(plumbing.NewHash(id))
	if err != nil {
		return err
	}
	if err := verifyCommit(c, g.opts.Keyring); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsigned, err)
	}
	return nil
}

func (g *Git) snapshot(id string) (Revision, bool) {
	dir := g.snapshotDir(id)
	if _, err := os.Stat(filepath.Join(dir, ".berth-complete")); err != nil {
		return Revision{}, false
	}
	return Revision{ID: id, Dir: filepath.Join(dir, filepath.FromSlash(g.opts.Path))}, true
}

// extract writes the commit's tree into its own snapshot directory, via a
// temporary one and a rename, so a crash never leaves a half snapshot.
// The tree is held to the budgets before a file is written.
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
	prefix := strings.Trim(path.Clean("/"+g.opts.Path), "/")
	if prefix != "" {
		if tree, err = tree.Tree(prefix); err != nil {
			return Revision{}, fmt.Errorf("commit %s has no folder %q (check --path)", short(id), prefix)
		}
	}
	tmp, err := os.MkdirTemp(g.opts.Dir, "extract-")
	if err != nil {
		return Revision{}, err
	}
	defer os.RemoveAll(tmp)
	if err := Extract(g.repo.Storer, tree, filepath.Join(tmp, filepath.FromSlash(prefix)), g.opts.Limits); err != nil {
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
