package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"berth.dev/berth/compiler/budget"
)

// ExtractCommit writes the files of the Git repository containing path,
// at revision rev, into a new temporary directory (the caller removes
// it), reading objects with go-git under the budgets and the rules of
// the daemon's snapshots (Extract): the work tree and index are not
// touched, no symbolic link is written. For a directory path the whole
// tree is written, so that kustomize bases and charts outside it are
// there; for a file, that file alone. It returns the directory, where
// path is in it (sub), and the commit. berth plan --base reads its base
// with it.
func ExtractCommit(path, rev string, limits budget.Limits) (dir, sub, commit string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", "", err
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", "", "", fmt.Errorf("open the Git repository containing %s: %w", path, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", "", "", fmt.Errorf("a bare repository has no work tree to compare: %w", err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return "", "", "", err
	}
	if real, rerr := filepath.EvalSymlinks(abs); rerr == nil {
		abs = real
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", "", "", fmt.Errorf("%s is outside the repository at %s", path, root)
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return "", "", "", fmt.Errorf("resolve revision: %w", err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return "", "", "", fmt.Errorf("read commit %s: %w", h, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return "", "", "", fmt.Errorf("read the tree of %s: %w", h, err)
	}
	dir, err = os.MkdirTemp("", "berth-base-")
	if err != nil {
		return "", "", "", err
	}
	rel = filepath.ToSlash(rel)
	sub = dir
	entry, ferr := tree.FindEntry(rel)
	if rel != "." && ferr == nil && entry.Mode.IsFile() && entry.Mode != filemode.Symlink {
		// One file: a tree of it alone, held to the same budgets.
		one := &object.Tree{Entries: []object.TreeEntry{{Name: filepath.Base(rel), Mode: entry.Mode, Hash: entry.Hash}}}
		err = Extract(repo.Storer, one, dir, limits)
	} else {
		err = Extract(repo.Storer, tree, dir, limits)
		sub = filepath.Join(dir, filepath.FromSlash(rel))
		if err == nil {
			// PATH may be new since rev: the base plan is then empty,
			// and the diff shows everything as created.
			err = os.MkdirAll(sub, 0o700)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", "", "", err
	}
	return dir, sub, h.String(), nil
}
