package load

import (
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

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
}

// Load reads every manifest under paths (files, directory trees, or "-"
// for stdin) and returns its documents in a stable order: by file path,
// then by position within the file. Findings about unreadable files and
// bad syntax come back as diagnostics, never as a Go error, so that one
// bad file does not hide the others.
func Load(paths []string, opts Options) ([]Document, []diag.Diagnostic) {
	srcs, roots, diags := collect(paths, opts)
	results := make([]parsed, len(srcs))
	workers := cmp.Or(opts.Workers, runtime.NumCPU())
	if workers > len(srcs) {
		workers = len(srcs)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &arena{}
			for i := range next {
				results[i] = parse(srcs[i], opts, a)
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
	for _, r := range results {
		docs = append(docs, r.docs...)
		diags = append(diags, r.diags...)
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

// parsed is the result of one source.
type parsed struct {
	docs  []Document
	diags []diag.Diagnostic
}

func parse(src source, opts Options, a *arena) parsed {
	if src.format == formatCUE {
		return parseCUE(src)
	}
	var data []byte
	var err error
	if src.path == "" {
		in := opts.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, err = io.ReadAll(in)
	} else {
		data, err = os.ReadFile(src.path)
	}
	if err != nil {
		return parsed{diags: []diag.Diagnostic{ioDiag(src.display, fmt.Errorf("read: %w", err))}}
	}
	return parseYAML(src.display, data, a)
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
	add := func(display, path string, explicit bool) {
		display = filepath.Clean(display)
		if seen[display] || excluded(display, opts.Exclude) {
			return
		}
		ext := strings.ToLower(filepath.Ext(path))
		switch {
		case ext == ".cue":
			// The files of one directory form one CUE package.
			dir := filepath.Dir(display)
			s := cueDirs[dir]
			if s == nil {
				s = &source{display: display, format: formatCUE}
				cueDirs[dir] = s
			}
			s.cue = append(s.cue, display)
			s.cuePath = append(s.cuePath, path)
		case ext == ".yaml" || ext == ".yml" || ext == ".json" || explicit:
			srcs = append(srcs, source{display: display, path: path, format: formatYAML})
		default:
			return
		}
		seen[display] = true
	}
	for _, p := range paths {
		if p == Stdin {
			if !seen[Stdin] {
				seen[Stdin] = true
				srcs = append(srcs, source{display: Stdin})
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			diags = append(diags, ioDiag(p, fmt.Errorf("%w (check the path)", unwrapPathErr(err))))
			continue
		}
		if !info.IsDir() {
			add(p, p, true)
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
		if err := walk(p, opts.Exclude, isRoot, func(display string) { add(display, display, false) }); err != nil {
			diags = append(diags, ioDiag(p, err))
		}
	}
	for _, s := range cueDirs {
		// A package is shown under its first file in path order.
		slices.Sort(s.cue)
		slices.Sort(s.cuePath)
		s.display = s.cue[0]
		srcs = append(srcs, *s)
	}
	slices.SortFunc(srcs, func(a, b source) int { return cmp.Compare(a.display, b.display) })
	return srcs, roots, diags
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// walk calls file for every regular file under root that no .berthignore
// or exclude glob removes, and skips hidden directories such as .git.
// A directory for which isRoot (when not nil) is true is not walked.
func walk(root string, exclude []string, isRoot func(string) bool, file func(string)) error {
	ign := &ignorer{}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		parts := splitRel(rel)
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || ign.match(parts, true) || excluded(path, exclude)) {
				return filepath.SkipDir
			}
			if isRoot != nil && isRoot(path) {
				return filepath.SkipDir
			}
			return ign.read(path, parts)
		}
		if strings.HasPrefix(d.Name(), ".") || ign.match(parts, false) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// A link to a file is followed; a link to a directory is not
			// walked (it could loop).
			if info, err := os.Stat(path); err != nil || info.IsDir() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		file(path)
		return nil
	})
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
