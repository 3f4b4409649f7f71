package source

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// Checkout returns the snapshot of any commit of the repository by its
// hash (berth pin): its kept snapshot, or the commit fetched by hash
// (servers that allow it) and extracted under the same budgets as a head.
// With a keyring the commit must be signed; it need not descend from the
// applied one: pinning an earlier revision is what it is for.
func (g *Git) Checkout(ctx context.Context, id string) (Revision, error) {
	if r, ok := g.snapshot(id); ok {
		if g.verifies() {
			if err := g.reverify(id); err != nil {
				return Revision{}, err
			}
		}
		return r, nil
	}
	if g.repo == nil {
		repo, err := g.open()
		if err != nil {
			return Revision{}, err
		}
		g.repo = repo
	}
	h := plumbing.NewHash(id)
	if _, err := g.repo.CommitObject(h); err != nil {
		ref := config.RefSpec(fmt.Sprintf("%s:refs/berth/pin", id))
		err := g.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RemoteURL: g.opts.URL,
			RefSpecs: []config.RefSpec{ref}, Depth: 1, Force: true, Tags: git.NoTags, Auth: g.auth})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return Revision{}, g.secrets.Error(fmt.Errorf("commit %s is not in the clone, and fetching it by hash from %s failed: %w (pin a revision that berth history lists)",
				short(id), g.shown, err))
		}
	}
	c, err := g.repo.CommitObject(h)
	if err != nil {
		return Revision{}, fmt.Errorf("commit %s: %w", short(id), err)
	}
	if g.verifies() {
		if err := verifyCommit(c, g.opts.Keyring); err != nil {
			return Revision{}, fmt.Errorf("%w: %v", ErrUnsigned, err)
		}
	}
	return g.extract(c)
}
