package source

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"berth.dev/berth/compiler/budget"
)

// Extract writes the regular files of tree into dir (created), after
// holding the tree to the budgets: the number of files, their total size
// and each file's size, read from the object store without reading a
// blob. Identical subtrees are counted once (a seen set keyed by tree
// hash), so a tree bomb (levels of identical trees, a million paths from
// a few kilobytes) is refused after looking at its few distinct trees.
// Symbolic links and submodules are never written: nothing in a snapshot
// leads out of it. Names a checkout could not hold safely (".", "..",
// ".git", a slash) refuse the tree, as git fsck does.
func Extract(s storer.EncodedObjectStorer, tree *object.Tree, dir string, lim budget.Limits) error {
	c := &counter{s: s, lim: lim, seen: map[plumbing.Hash]treeCost{}}
	if _, err := c.count(tree, ""); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return write(s, tree, dir, lim.Get(budget.FileBytes))
}

// treeCost is what a tree holds, all levels down. Sums saturate: a
// bomb's path count does not fit in an int64.
type treeCost struct{ files, bytes int64 }

type counter struct {
	s    storer.EncodedObjectStorer
	lim  budget.Limits
	seen map[plumbing.Hash]treeCost
	// trees counts the trees read, for the tests that show a bomb costs
	// its distinct trees only.
	trees int
}

func (c *counter) count(t *object.Tree, path string) (treeCost, error) {
	if tc, ok := c.seen[t.Hash]; ok {
		return tc, nil
	}
	c.trees++
	var tc treeCost
	for _, e := range t.Entries {
		name := path + e.Name
		if err := validName(e.Name); err != nil {
			return tc, fmt.Errorf("tree entry %q: %w", name, err)
		}
		switch {
		case e.Mode == filemode.Dir:
			sub, err := object.GetTree(c.s, e.Hash)
			if err != nil {
				return tc, fmt.Errorf("read tree %s: %w", name, err)
			}
			st, err := c.count(sub, name+"/")
			if err != nil {
				return tc, err
			}
			tc.files, tc.bytes = satAdd(tc.files, st.files), satAdd(tc.bytes, st.bytes)
		case e.Mode.IsFile() && e.Mode != filemode.Symlink:
			size, err := c.s.EncodedObjectSize(e.Hash)
			if err != nil {
				return tc, fmt.Errorf("read %s: %w", name, err)
			}
			if err := c.lim.Check(budget.FileBytes, name, size); err != nil {
				return tc, err
			}
			tc.files, tc.bytes = satAdd(tc.files, 1), satAdd(tc.bytes, size)
		default:
			continue // symbolic links and submodules are not extracted
		}
		where := strings.TrimSuffix(path, "/")
		if where == "" {
			where = "the commit"
		}
		if err := c.lim.Check(budget.Files, where, tc.files); err != nil {
			return tc, err
		}
		if err := c.lim.Check(budget.TotalBytes, where, tc.bytes); err != nil {
			return tc, err
		}
	}
	c.seen[t.Hash] = tc
	return tc, nil
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

var errBadName = errors.New("not a valid file name in a checkout (git fsck refuses it too)")

func validName(n string) error {
	if n == "" || n == "." || n == ".." || strings.EqualFold(n, ".git") || strings.ContainsAny(n, "/\x00") {
		return errBadName
	}
	return nil
}

// write creates the tree's files under dir; count has checked it.
func write(s storer.EncodedObjectStorer, t *object.Tree, dir string, maxFile int64) error {
	for _, e := range t.Entries {
		dst := filepath.Join(dir, e.Name)
		switch {
		case e.Mode == filemode.Dir:
			sub, err := object.GetTree(s, e.Hash)
			if err != nil {
				return err
			}
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			if err := write(s, sub, dst, maxFile); err != nil {
				return err
			}
		case e.Mode.IsFile() && e.Mode != filemode.Symlink:
			if err := writeBlob(s, e.Hash, dst, maxFile); err != nil {
				return fmt.Errorf("write %s: %w", e.Name, err)
			}
		}
	}
	return nil
}

func writeBlob(s storer.EncodedObjectStorer, h plumbing.Hash, dst string, maxFile int64) error {
	blob, err := object.GetBlob(s, h)
	if err != nil {
		return err
	}
	r, err := blob.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	// O_EXCL|O_NOFOLLOW: the file is new, and no link stands in its place.
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.LimitReader(r, maxFile)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
