// Package render builds what a repository holds in a form other than
// plain manifests: kustomize overlays (a directory with a kustomization
// file), Helm charts (a directory with Chart.yaml, rendered with its
// values.yaml) and berth.dev/v1 HelmRelease objects (a chart, a release
// name and namespace, values). It runs kustomize's krusty and Helm's
// engine in the process, never a program, and returns documents the
// loader's model understands, each named after the file it came from.
//
// Rendering is sandboxed: nothing outside the repository is read, nothing
// reaches the network, and each render has a time, output and object
// budget (Limits). Charts from outside the repository come only from the
// chart cache, checked against their digest (see Cache).
package render

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

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
	// RuleBudget is a render that went past its Limits.
	RuleBudget = "render-budget"
	// RuleHook is a Helm hook berth does not run.
	RuleHook = "helm-hook"
)

// KubeVersion is the Kubernetes version templates see in
// .Capabilities.KubeVersion: the version of the API berth follows
// (k8s.io/api v0.37), fixed so that every node renders alike.
const KubeVersion = "v1.37.0"

// Limits bound one render (one kustomization, one chart). They are the
// render's share of the hostile-input budgets; zero fields take the
// defaults.
type Limits struct {
	// Time is the wall time of one render (default 10 s).
	Time time.Duration
	// OutputBytes caps the rendered YAML of one render (default 64 MiB).
	OutputBytes int64
	// Objects caps the objects of one render (default 10,000).
	Objects int
}

// DefaultLimits are the budgets used for zero fields.
var DefaultLimits = Limits{Time: 10 * time.Second, OutputBytes: 64 << 20, Objects: 10000}

func (l Limits) withDefaults() Limits {
	l.Time = cmp.Or(l.Time, DefaultLimits.Time)
	l.OutputBytes = cmp.Or(l.OutputBytes, DefaultLimits.OutputBytes)
	l.Objects = cmp.Or(l.Objects, DefaultLimits.Objects)
	return l
}

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
	// Limits bound each render.
	Limits Limits
	// Context ends a chart fetch early (nil: never).
	Context context.Context
	// Budget holds the run's input budgets (compiler/budget): every
	// rendered document is held to them like a file's, and EvalTime
	// bounds a render when Limits.Time is zero.
	Budget budget.Limits
}

// Renderer renders kustomizations, charts and HelmReleases. It
// implements load.Renderer; one Renderer may serve many loads.
type Renderer struct {
	opts Options
}

// New returns a Renderer.
func New(opts Options) *Renderer {
	if opts.Limits.Time == 0 {
		opts.Limits.Time = time.Duration(opts.Budget.Get(budget.EvalTime))
	}
	opts.Limits = opts.Limits.withDefaults()
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
	var all []built
	used := map[string]bool{} // absolute directories some build read
	for _, rt := range kusts {
		res := r.kustomize(rt)
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
		res := r.release(rel)
		for d := range res.usedDirs {
			used[d] = true
		}
		relResults = append(relResults, built{load.Root{Dir: rel.file}, res})
	}
	for _, rt := range charts {
		if used[absDir(rt.Dir)] {
			continue
		}
		all = append(all, built{rt, r.chartDir(rt)})
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
