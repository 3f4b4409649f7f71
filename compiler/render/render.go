// Package render builds what a repository holds in a form other than
// plain manifests: kustomize overlays (a directory with a kustomization
// file), Helm charts (a directory with Chart.yaml, rendered with its
// values.yaml) and berth.dev/v1 HelmRelease objects (a chart, a release
// name and namespace, values). It runs kustomize's krusty and Helm's
// engine as libraries, never a program, and returns documents the
// loader's model understands, each named after the file it came from.
//
// Rendering is sandboxed: it runs in a child process (worker.go) under
// the evaluation time and memory budgets, reads nothing outside the
// repository and the chart cache, reaches no network, and each render
// has an output and an object budget (compiler/budget). Charts from
// outside the repository come only from the chart cache, checked against
// their digest (see Cache).
package render

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
)

// Rules of the diagnostics rendering reports.
const (
	// RuleKustomize is a kustomization that does not build.
	RuleKustomize = "kustomize"
	// RuleHelm is a chart that does not load or render: a template
	// error, a values.schema.json violation, a missing chart.
	RuleHelm = "helm"
	// RuleRemote is a remote base or resource, which berth never fetches.
	RuleRemote = "remote"
	// RuleHook is a Helm hook berth does not run.
	RuleHook = "helm-hook"
)

// KubeVersion is the Kubernetes version templates see in
// .Capabilities.KubeVersion: the version of the API berth follows
// (k8s.io/api v0.37), fixed so that every node renders alike.
const KubeVersion = "v1.37.0"

// Options configure a Renderer.
type Options struct {
	// Root is the repository root: nothing outside it is read. "" finds
	// it from each path argument: the enclosing Git work tree, else the
	// current directory if the path is below it, else the path itself.
	Root string
	// ChartCache is the directory of charts fetched from outside the
	// repository (berth chart pull, the daemon); "" has none.
	ChartCache string
	// Fetcher, when set, fetches a chart the cache lacks into it (the
	// daemon, berth chart pull); without it rendering is offline.
	Fetcher Fetcher
	// Context ends a chart fetch or a render early (nil: never).
	Context context.Context
	// Budget holds the run's input budgets (compiler/budget): each render
	// has the evaluation time and memory, the render output and object
	// budgets, and every rendered document is held to the per-file and
	// per-object ones like a file's.
	Budget budget.Limits
}

// Renderer renders kustomizations, charts and HelmReleases. It
// implements load.Renderer; one Renderer may serve many loads.
type Renderer struct {
	opts Options
}

// New returns a Renderer.
func New(opts Options) *Renderer {
	return &Renderer{opts: opts}
}

// kustomizationFiles are the names kustomize looks for, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Root reports whether dir is a kustomization or a Helm chart.
func (r *Renderer) Root(dir string) bool {
	return load.HasFile(dir, kustomizationFiles...) || load.HasFile(dir, "Chart.yaml")
}

// Source says where rendered documents come from, for reports that
// group objects by their origin (plan diffs).
type Source struct {
	// Kind is "kustomize", "chart" or "HelmRelease".
	Kind string
	// Path is the directory (kustomize, chart) or the HelmRelease's
	// file; for a HelmRelease, Name is "namespace/name".
	Path string
	Name string
}

// String is "kustomize overlays/dev", "chart charts/web",
// "HelmRelease web/site (apps/site.yaml)".
func (s Source) String() string {
	if s.Name != "" {
		return fmt.Sprintf("%s %s (%s)", s.Kind, s.Name, s.Path)
	}
	return s.Kind + " " + s.Path
}

// Render builds roots and the HelmReleases among docs. A kustomization
// that another one builds (a base), and a chart that a HelmRelease
// names, are not rendered on their own. Documents come back root by
// root in path order, each root's in render order.
func (r *Renderer) Render(roots []load.Root, docs []load.Document) ([]load.Document, []string, []diag.Diagnostic) {
	out := r.RenderSources(roots, docs)
	return out.Docs, out.Consumed, out.Diags
}

// Output is what RenderSources renders.
type Output struct {
	Docs []load.Document
	// Sources says where each of Docs came from (same index).
	Sources []Source
	// Consumed are the plain files a render read as input (values files).
	Consumed []string
	Diags    []diag.Diagnostic
}

// RenderSources is Render that also says where each document came from.
func (r *Renderer) RenderSources(roots []load.Root, docs []load.Document) Output {
	slices.SortFunc(roots, func(a, b load.Root) int { return cmp.Compare(a.Dir, b.Dir) })
	var kusts, charts []load.Root
	for _, rt := range roots {
		if load.HasFile(rt.Dir, kustomizationFiles...) {
			kusts = append(kusts, rt)
		} else {
			charts = append(charts, rt)
		}
	}

	type built struct {
		root load.Root
		res  result
	}
	w := newWorker(r.opts.Context, r.opts.Budget, r.readable(roots, docs))
	defer w.close()
	var all []built
	used := map[string]bool{} // absolute directories some build read
	for _, rt := range kusts {
		res := r.kustomize(rt, w)
		for d := range res.usedDirs {
			used[d] = true
		}
		all = append(all, built{rt, res})
	}
	// Releases: from the plain files and from what kustomize built.
	var releases []release
	var diags []diag.Diagnostic
	collect := func(ds []load.Document) {
		for i := range ds {
			if isRelease(ds[i].Node) {
				rel, d := parseRelease(&ds[i])
				diags = append(diags, d...)
				if rel != nil {
					releases = append(releases, *rel)
				}
			}
		}
	}
	collect(docs)
	for _, b := range all {
		if !used[absDir(b.root.Dir)] {
			collect(b.res.docs)
		}
	}
	var relResults []built
	for _, rel := range releases {
		res := r.release(rel, w)
		for d := range res.usedDirs {
			used[d] = true
		}
		relResults = append(relResults, built{load.Root{Dir: rel.file}, res})
	}
	for _, rt := range charts {
		if used[absDir(rt.Dir)] {
			continue
		}
		all = append(all, built{rt, r.chartDir(rt, w)})
	}
	all = append(all, relResults...)

	var out Output
	for _, b := range all {
		if b.res.kind == "kustomize" && used[absDir(b.root.Dir)] {
			continue // a base: its objects come with the overlay that uses it
		}
		for _, d := range b.res.docs {
			d.Origin = b.res.source.String()
			out.Docs = append(out.Docs, d)
			out.Sources = append(out.Sources, b.res.source)
		}
		out.Consumed = append(out.Consumed, b.res.consumed...)
		diags = append(diags, b.res.diags...)
	}
	out.Diags = diags
	return out
}

// readable are the directories the worker may read: the repositories of
// roots and of the HelmReleases among docs (those a kustomization makes
// are in its repository), and the chart cache.
func (r *Renderer) readable(roots []load.Root, docs []load.Document) []string {
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, rt := range roots {
		add(r.repoRoot(rt.Top))
	}
	for i := range docs {
		if isRelease(docs[i].Node) {
			add(r.repoRoot(docs[i].File))
		}
	}
	if r.opts.ChartCache != "" {
		add(absDir(r.opts.ChartCache))
	}
	return out
}

// result is one render's output.
type result struct {
	kind     string
	source   Source
	docs     []load.Document
	diags    []diag.Diagnostic
	usedDirs map[string]bool // absolute directories read, other than the root's own
	consumed []string        // plain files read as input, as displayed
}

func absDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// repoRoot is the directory nothing is read outside of, for a root found
// under top.
func (r *Renderer) repoRoot(top string) string {
	if r.opts.Root != "" {
		return absDir(r.opts.Root)
	}
	start := absDir(top)
	if info, err := os.Stat(start); err == nil && !info.IsDir() {
		start = filepath.Dir(start)
	}
	for d := start; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	// Outside Git: the current directory when the path is below it (berth
	// lint overlays/dev reaches ../../base), else the path itself.
	if wd, err := os.Getwd(); err == nil {
		if wd = absDir(wd); within(wd, start) {
			return wd
		}
	}
	return start
}

// within reports whether path is root or below it (both absolute, clean).
func within(root, path string) bool {
	if path == root {
		return true
	}
	return strings.HasPrefix(path, root+string(filepath.Separator)) || root == string(filepath.Separator)
}

// display turns an absolute path below the root's directory into the
// path shown to the user: relative to how the root directory was named.
func display(rootDir, rootAbs, abs string) string {
	rel, err := filepath.Rel(rootAbs, abs)
	if err != nil {
		return abs
	}
	return filepath.Clean(filepath.Join(rootDir, rel))
}

func errorAt(file string, line, col int, rule, object, format string, args ...any) diag.Diagnostic {
	return diag.Diagnostic{Pos: diag.Pos{File: file, Line: line, Col: col}, Severity: diag.Error, Rule: rule,
		Object: object, Message: fmt.Sprintf(format, args...)}
}
