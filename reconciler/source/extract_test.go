package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"berth.dev/berth/compiler/budget"
)

// storeTree writes a tree of entries into s.
func storeTree(t *testing.T, s *memory.Storage, entries []object.TreeEntry) plumbing.Hash {
	t.Helper()
	tree := &object.Tree{Entries: entries}
	o := s.NewEncodedObject()
	if err := tree.Encode(o); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func storeBlob(t *testing.T, s *memory.Storage, data string) plumbing.Hash {
	t.Helper()
	o := s.NewEncodedObject()
	o.SetType(plumbing.BlobObject)
	w, _ := o.Writer()
	w.Write([]byte(data))
	w.Close()
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// treeBomb builds levels of trees of fanout identical entries: fanout^levels
// files from levels+1 objects.
func treeBomb(t *testing.T, s *memory.Storage, levels, fanout int) *object.Tree {
	t.Helper()
	blob := storeBlob(t, s, "kind: ConfigMap\n")
	var entries []object.TreeEntry
	for i := range fanout {
		entries = append(entries, object.TreeEntry{Name: fmt.Sprintf("f%d.yaml", i), Mode: filemode.Regular, Hash: blob})
	}
	h := storeTree(t, s, entries)
	for range levels - 1 {
		entries = nil
		for i := range fanout {
			entries = append(entries, object.TreeEntry{Name: fmt.Sprintf("d%d", i), Mode: filemode.Dir, Hash: h})
		}
		h = storeTree(t, s, entries)
	}
	tree, err := object.GetTree(s, h)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestExtractTreeBomb(t *testing.T) {
	s := memory.NewStorage()
	tree := treeBomb(t, s, 6, 10) // a million paths
	c := &counter{s: s, lim: budget.Limits{}, seen: map[plumbing.Hash]treeCost{}}
	_, err := c.count(tree, "")
	var ex *budget.Exceeded
	if !errors.As(err, &ex) || ex.Limit != budget.Files {
		t.Fatalf("err = %v, want the files budget", err)
	}
	if c.trees > 6 {
		t.Fatalf("read %d trees for a bomb of 6 distinct ones", c.trees)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := Extract(s, tree, dir, budget.Limits{}); !errors.As(err, &ex) {
		t.Fatalf("Extract: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("a refused tree wrote files")
	}

	// A small one of the same shape is written out in full.
	small := treeBomb(t, s, 2, 3)
	if err := Extract(s, small, dir, budget.Limits{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "d2", "f1.yaml")); err != nil || string(b) != "kind: ConfigMap\n" {
		t.Fatalf("d2/f1.yaml = %q, %v", b, err)
	}
}

func TestExtractRefusals(t *testing.T) {
	s := memory.NewStorage()
	blob := storeBlob(t, s, strings.Repeat("x", 2048))
	for _, tt := range []struct {
		name    string
		entries []object.TreeEntry
		lim     budget.Limits
		want    string
	}{
		{"parent", []object.TreeEntry{{Name: "..", Mode: filemode.Regular, Hash: blob}}, budget.Limits{}, `tree entry ".."`},
		{"dotgit", []object.TreeEntry{{Name: ".GIT", Mode: filemode.Regular, Hash: blob}}, budget.Limits{}, `tree entry ".GIT"`},
		{"slash", []object.TreeEntry{{Name: "a/../../x", Mode: filemode.Regular, Hash: blob}}, budget.Limits{}, "not a valid file name"},
		{"file size", []object.TreeEntry{{Name: "big.yaml", Mode: filemode.Regular, Hash: blob}}, budget.Limits{FileBytes: 1024}, "budget exceeded (file size)"},
		{"total", []object.TreeEntry{{Name: "a.yaml", Mode: filemode.Regular, Hash: blob}, {Name: "b.yaml", Mode: filemode.Regular, Hash: blob}},
			budget.Limits{TotalBytes: 3000}, "budget exceeded (total size)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tree, _ := object.GetTree(s, storeTree(t, s, tt.entries))
			err := Extract(s, tree, filepath.Join(t.TempDir(), "out"), tt.lim)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Links and submodules are skipped, never written.
	link := storeBlob(t, s, "/etc/passwd")
	tree, _ := object.GetTree(s, storeTree(t, s, []object.TreeEntry{
		{Name: "a.yaml", Mode: filemode.Regular, Hash: blob},
		{Name: "l.yaml", Mode: filemode.Symlink, Hash: link},
		{Name: "sub", Mode: filemode.Submodule, Hash: blob},
	}))
	dir := filepath.Join(t.TempDir(), "out")
	if err := Extract(s, tree, dir, budget.Limits{}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 || ents[0].Name() != "a.yaml" {
		t.Fatalf("wrote %v, want a.yaml only", ents)
	}
}

// TestFetchBudgets pushes the attacks of issue 19 through real git: each
// commit is refused as a *RevisionError naming the budget, without the
// cost it asks for.
func TestFetchBudgets(t *testing.T) {
	t.Run("blob of 300 MB of zeros", func(t *testing.T) {
		r := newRepo(t)
		cmd := exec.Command("sh", "-c", "head -c 314572800 /dev/zero | git hash-object -w --stdin")
		cmd.Dir = r.work
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		tree := r.gitIn(fmt.Sprintf("100644 blob %s\tzero.yaml\n", strings.TrimSpace(string(out))), "mktree")
		head := r.git(r.work, "commit-tree", "-m", "blob bomb", tree)
		r.git(r.work, "push", "-q", "-f", "origin", head+":refs/heads/main")

		g, _ := NewGit(GitOptions{URL: r.bare, Dir: t.TempDir()})
		var before syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		_, _, err = g.Fetch(context.Background(), "")
		assertRefused(t, err, head, budget.FileBytes)
		var after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		if after.Maxrss*1024 > 128<<20 {
			t.Fatalf("fetching the bomb peaked at %d MiB", after.Maxrss>>10)
		}
	})
	t.Run("tree bomb", func(t *testing.T) {
		r := newRepo(t)
		blob := r.gitIn("kind: ConfigMap\n", "hash-object", "-w", "--stdin")
		var b strings.Builder
		for i := range 10 {
			fmt.Fprintf(&b, "100644 blob %s\tf%d.yaml\n", blob, i)
		}
		tree := r.gitIn(b.String(), "mktree")
		for range 5 {
			b.Reset()
			for i := range 10 {
				fmt.Fprintf(&b, "040000 tree %s\td%d\n", tree, i)
			}
			tree = r.gitIn(b.String(), "mktree")
		}
		head := r.git(r.work, "commit-tree", "-m", "tree bomb", tree)
		r.git(r.work, "push", "-q", "-f", "origin", head+":refs/heads/main")
		dir := t.TempDir()
		g, _ := NewGit(GitOptions{URL: r.bare, Dir: dir})
		_, _, err := g.Fetch(context.Background(), "")
		assertRefused(t, err, head, budget.Files)
		if ents, _ := os.ReadDir(filepath.Join(dir, "snapshots")); len(ents) != 0 {
			t.Fatalf("a refused commit left snapshots: %v", ents)
		}
	})
}

func assertRefused(t *testing.T, err error, head string, limit budget.Limit) {
	t.Helper()
	var re *RevisionError
	var ex *budget.Exceeded
	if !errors.As(err, &re) || re.ID != head || !errors.As(err, &ex) || ex.Limit != limit {
		t.Fatalf("err = %v, want commit %s refused for its %s", err, head, limit)
	}
}

func TestDeltaHeader(t *testing.T) {
	d := &deltaHeader{}
	// base 300, result 2^20+5 (varints), then instructions.
	d.Write([]byte{0xac, 0x02, 0x85, 0x80, 0x40, 0x91, 0x00})
	if got, err := d.target(); err != nil || got != 1<<20+5 {
		t.Fatalf("target = %d, %v", got, err)
	}
	if _, err := (&deltaHeader{buf: []byte{0x80}}).target(); err == nil {
		t.Fatal("a truncated header passed")
	}
}

// BenchmarkTreeBombRefused: a commit of 8 levels of 10 identical trees
// (10^8 paths) is counted and refused.
func BenchmarkTreeBombRefused(b *testing.B) {
	t := &testing.T{}
	s := memory.NewStorage()
	tree := treeBomb(t, s, 8, 10)
	for b.Loop() {
		c := &counter{s: s, lim: budget.Limits{}, seen: map[plumbing.Hash]treeCost{}}
		if _, err := c.count(tree, ""); err == nil {
			b.Fatal("the bomb passed")
		}
	}
}
