package load

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/budget/isolate"
	"berth.dev/berth/compiler/diag"
)

// Rules of the diagnostics Load reports.
const (
	// RuleIO is a file or directory that cannot be read; the CLI exits 2.
	RuleIO = "io"
	// RuleSyntax is a YAML or JSON syntax error, or a document that is not
	// an object.
	RuleSyntax = "syntax"
	// RuleCUE is a CUE package that does not compile or evaluate.
	RuleCUE = "cue"
	// RuleSymlink is a symbolic link that points outside the tree being
	// read; it is not followed.
	RuleSymlink = "symlink"
)

// Stdin is the path that names standard input.
const Stdin = "-"

// Options tune Load.
type Options struct {
	// Workers parse files in parallel; 0 means runtime.NumCPU().
	Workers int
	// Exclude holds globs (filepath.Match syntax) of paths to skip. A glob
	// matches a path as displayed, any of its parent directories, or its
	// base name, so "examples/broken" and "*_test.yaml" both work.
	Exclude []string
	// Stdin is read for the path "-"; nil means os.Stdin.
	Stdin io.Reader
	// Renderer builds kustomizations, Helm charts and HelmReleases; nil
	// reads every directory file by file.
	Renderer Renderer
	// Limits are the budgets of the run (zero fields: the defaults): file
	// count and sizes, objects, object size, YAML alias expansion, CUE
	// evaluation time and memory.
	Limits budget.Limits
	// Context ends CUE evaluations early (nil: never).
	Context context.Context
}

// format is how a file is parsed.
type format int

const (
	formatYAML format = iota // YAML, and JSON read as YAML
	formatCUE
)

// source is one input: a file, stdin, or a directory's CUE package.
type source struct {
	display string // path as shown in diagnostics
	path    string // path to open ("" for stdin)
	format  format
	cue     []string // for formatCUE: every file of the package, display paths
	cuePath []string // for formatCUE: the same files, paths to open
	cueSize []int64  // for formatCUE: the same files' sizes
	cueRead []string // for formatCUE: the directories its evaluation may read
	size    int64    // the file's size (-1: unknown, stdin)
	// root is the tree the file was found in (its directory when named
	// on its own): no symbolic link is followed out of it.
	root string
}

// Load reads every manifest under paths (files, directory trees, or "-"
// for stdin) and returns its documents in a stable order: by file path,
// then by position within the file. Findings about unreadable files and
// bad syntax come back as diagnostics, never as a Go error, so that one
// bad file does not hide the others.
func Load(paths []string, opts Options) ([]Document, []diag.Diagnostic) {
	srcs, roots, diags := collect(paths, opts)
	srcs, more := countFiles(srcs, opts.Limits)
	diags = append(diags, more...)
	results := make([]parsed, len(srcs))
	workers := cmp.Or(opts.Workers, runtime.NumCPU())
	if workers > len(srcs) {
		workers = len(srcs)
	}
	cueOpts := isolate.Options{
		Time:   time.Duration(opts.Limits.Get(budget.EvalTime)),
		Memory: opts.Limits.Get(budget.EvalMemory),
		Read:   cueReadUnion(srcs),
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &arena{}
			ev := &cueEvaluator{opts: cueOpts}
			defer ev.close()
			for i := range next {
				results[i] = parse(srcs[i], opts, a, ev)
			}
		}()
	}
	for i := range srcs {
		next <- i
	}
	close(next)
	wg.Wait()

	n := 0
	for _, r := range results {
		n += len(r.docs)
	}
	docs := make([]Document, 0, n)
	maxObjects := opts.Limits.Get(budget.Objects)
	for _, r := range results {
		diags = append(diags, r.diags...)
		if room := maxObjects - int64(len(docs)); int64(len(r.docs)) > room {
			// Counted in path order, so the same file trips it every time.
			over := r.docs[max(room, 0)]
			diags = append(diags, exceededDiag(over, &budget.Exceeded{Limit: budget.Objects, Got: int64(n), Max: maxObjects}))
			return append(docs, r.docs[:max(room, 0)]...), diags
		}
		docs = append(docs, r.docs...)
	}
	if opts.Renderer != nil {
		more, consumed, rdiags := opts.Renderer.Render(roots, docs)
		if len(consumed) > 0 {
			drop := map[string]bool{}
			for _, f := range consumed {
				drop[filepath.Clean(f)] = true
			}
			docs = slices.DeleteFunc(docs, func(d Document) bool { return drop[d.File] })
			diags = slices.DeleteFunc(diags, func(d diag.Diagnostic) bool { return drop[d.File] })
		}
		docs = append(docs, more...)
		diags = append(diags, rdiags...)
	}
	return docs, diags
}

// countFiles holds the sources to the file budgets, in path order so that
// the same file trips a budget on every run: a file over the size budget
// is left out, and past the file count or the total size nothing more is
// read.
func countFiles(srcs []source, lim budget.Limits) ([]source, []diag.Diagnostic) {
	t := budget.NewTally(lim)
	var diags []diag.Diagnostic
	kept := srcs[:0]
	for i, src := range srcs {
		display, sizes := []string{src.display}, []int64{src.size}
		if src.format == formatCUE {
			display, sizes = src.cue, src.cueSize
		}
		var err error
		for j := range display {
			if sizes[j] >= 0 {
				if err = t.File(display[j], sizes[j]); err != nil {
					break
				}
			}
		}
		if err == nil {
			kept = append(kept, src)
			continue
		}
		ex := err.(*budget.Exceeded)
		diags = append(diags, ex.Diagnostic(diag.Pos{}))
		if ex.Limit != budget.FileBytes {
			if rest := len(srcs) - i - 1; rest > 0 {
				diags[len(diags)-1].Message += fmt.Sprintf("; %d more files were not read", rest)
			}
			break
		}
	}
	return kept, diags
}

// parsed is the result of one source.
type parsed struct {
	docs  []Document
	diags []diag.Diagnostic
}

func parse(src source, opts Options, a *arena, ev *cueEvaluator) parsed {
	if src.format == formatCUE {
		return parseCUE(src, opts, ev)
	}
	var data []byte
	var err error
	if src.path == "" {
		in := opts.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, err = readLimited(in, src.display, opts.Limits)
	} else {
		data, err = readFileLimited(src.path, src.display, opts.Limits)
	}
	if err != nil {
		if d, ok := budgetDiag(src.display, err); ok {
			return parsed{diags: []diag.Diagnostic{d}}
		}
		return parsed{diags: []diag.Diagnostic{ioDiag(src.display, fmt.Errorf("read: %w", err))}}
	}
	return parseYAMLLimited(src.display, data, a, opts.Limits)
}

func ioDiag(file string, err error) diag.Diagnostic {
	return diag.Diagnostic{Pos: diag.Pos{File: file}, Severity: diag.Error, Rule: RuleIO, Message: err.Error()}
}

// collect expands paths into sources, sorted by display path, skipping
// what is not a manifest or is ignored.
func collect(paths []string, opts Options) ([]source, []Root, []diag.Diagnostic) {
	var srcs []source
	var roots []Root
	var diags []diag.Diagnostic
	seen := map[string]bool{}
	cueDirs := map[string]*source{}
	add := func(f found, explicit bool) {
		display := filepath.Clean(f.path)
		if seen[display] || excluded(display, opts.Exclude) {
			return
		}
		ext := strings.ToLower(filepath.Ext(f.path))
		switch {
		case ext == ".cue":
			// The files of one directory form one CUE package.
			dir := filepath.Dir(display)
			s := cueDirs[dir]
			if s == nil {
				s = &source{display: display, format: formatCUE, root: f.root}
				cueDirs[dir] = s
			}
			s.cue = append(s.cue, display)
			s.cuePath = append(s.cuePath, f.path)
			s.cueSize = append(s.cueSize, f.size)
		case ext == ".yaml" || ext == ".yml" || ext == ".json" || explicit:
			srcs = append(srcs, source{display: display, path: f.path, format: formatYAML, size: f.size, root: f.root})
		default:
			return
		}
		seen[display] = true
	}
	for _, p := range paths {
		if p == Stdin {
			if !seen[Stdin] {
				seen[Stdin] = true
				srcs = append(srcs, source{display: Stdin, size: -1})
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			diags = append(diags, ioDiag(p, fmt.Errorf("%w (check the path)", unwrapPathErr(err))))
			continue
		}
		if !info.IsDir() {
			// A file named on its own is read even through a link: the
			// user chose it.
			add(found{path: p, size: info.Size(), root: filepath.Dir(p)}, true)
			continue
		}
		var isRoot func(string) bool
		if opts.Renderer != nil {
			isRoot = func(dir string) bool {
				if !opts.Renderer.Root(dir) {
					return false
				}
				roots = append(roots, Root{Dir: filepath.Clean(dir), Top: p})
				return true
			}
		}
		warns, err := walk(p, opts.Exclude, isRoot, func(f found) { add(f, false) })
		diags = append(diags, warns...)
		if err != nil {
			diags = append(diags, ioDiag(p, err))
		}
	}
	for _, s := range cueDirs {
		// A package is shown under its first file in path order.
		order := make([]int, len(s.cue))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(s.cue[a], s.cue[b]) })
		s.cue, s.cuePath, s.cueSize = permute(s.cue, order), permute(s.cuePath, order), permute(s.cueSize, order)
		s.display = s.cue[0]
		srcs = append(srcs, *s)
	}
	slices.SortFunc(srcs, func(a, b source) int { return cmp.Compare(a.display, b.display) })
	return srcs, roots, diags
}

func permute[T any](xs []T, order []int) []T {
	out := make([]T, len(xs))
	for i, j := range order {
		out[i] = xs[j]
	}
	return out
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// found is a file the walk found.
type found struct {
	path string
	size int64
	root string
}

// walk calls file for every regular file under root that no .berthignore
// or exclude glob removes, and skips hidden directories such as .git. A
// symbolic link is followed only to a regular file inside root: one that
// leads out of it is reported (by its own name, never its target's
// content) and skipped, so that a repository cannot make lint read, and
// quote into CI annotations, a file of the machine it runs on. A
// directory for which isRoot (when not nil) is true is not walked.
func walk(root string, exclude []string, isRoot func(string) bool, file func(found)) ([]diag.Diagnostic, error) {
	ign := &ignorer{}
	var warns []diag.Diagnostic
	realRoot, err := realPath(root)
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		parts := splitRel(rel)
		if d.IsDir() {
			// cue.mod holds a CUE module's metadata and vendored packages,
			// which the packages that import them read; they are no manifests.
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "cue.mod" || ign.match(parts, true) || excluded(path, exclude)) {
				return filepath.SkipDir
			}
			if isRoot != nil && isRoot(path) {
				return filepath.SkipDir
			}
			return ign.read(path, parts, realRoot)
		}
		if strings.HasPrefix(d.Name(), ".") || ign.match(parts, false) {
			return nil
		}
		var info fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			if !isManifest(path) || excluded(path, exclude) {
				return nil
			}
			target, err := realPath(path)
			if err != nil {
				return nil // a dangling link is no file
			}
			if !within(realRoot, target) {
				warns = append(warns, diag.Diagnostic{Pos: diag.Pos{File: path}, Severity: diag.Warning, Rule: RuleSymlink,
					Message: fmt.Sprintf("symbolic link leads outside %s; not followed (berth reads only files inside the tree it checks)", root)})
				return nil
			}
			// A link to a directory is not walked (it could loop).
			if info, err = os.Stat(path); err != nil || !info.Mode().IsRegular() {
				return nil
			}
		} else {
			if !d.Type().IsRegular() {
				return nil
			}
			if info, err = d.Info(); err != nil {
				return nil
			}
		}
		file(found{path: path, size: info.Size(), root: root})
		return nil
	})
	return warns, err
}

// isManifest says whether a walked file is one that Load reads.
func isManifest(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json", ".cue":
		return true
	}
	return false
}

// realPath is path absolute with every link resolved.
func realPath(path string) (string, error) {
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// within reports whether path is root or under it; both are clean and
// absolute, with links resolved.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func splitRel(rel string) []string {
	if rel == "." || rel == "" {
		return nil
	}
	return strings.Split(filepath.ToSlash(rel), "/")
}

// excluded reports whether a glob matches path, one of its parent
// directories, or its base name.
func excluded(path string, globs []string) bool {
	if len(globs) == 0 {
		return false
	}
	path = filepath.Clean(path)
	base := filepath.Base(path)
	for _, g := range globs {
		g = filepath.Clean(g)
		if ok, _ := filepath.Match(g, base); ok {
			return true
		}
		for p := path; p != "." && p != string(filepath.Separator); p = filepath.Dir(p) {
			if ok, _ := filepath.Match(g, p); ok {
				return true
			}
			if filepath.Dir(p) == p {
				break
			}
		}
	}
	return false
}
