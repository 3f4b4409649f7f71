package render

import (
	"cmp"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
)

// release is a berth.dev/v1 HelmRelease, read from its document.
type release struct {
	file        string // the HelmRelease's file, as displayed
	doc         *load.Document
	name        string // release name
	namespace   string
	id          string // "HelmRelease ns/name"
	chart       *yaml.Node
	path        *yaml.Node // spec.chart.path, for a chart in the repository
	remote      ChartRef   // for a chart from a repository
	valuesFiles *yaml.Node
	values      *yaml.Node
}

// ChartRef names a chart outside the repository: an exact version from a
// Helm repository (https://) or an OCI registry (oci://), and the sha256
// digest of its archive, which makes the plan depend only on the commit.
type ChartRef struct {
	Repository string `json:"repository"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	Digest     string `json:"digest"`
}

// String is "web 1.2.3 from https://charts.example.com".
func (c ChartRef) String() string { return c.Name + " " + c.Version + " from " + c.Repository }

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func isRelease(n *yaml.Node) bool {
	av, k := mapValue(n, "apiVersion"), mapValue(n, "kind")
	return av != nil && k != nil && av.Value == "berth.dev/v1" && k.Value == "HelmRelease"
}

// parseRelease reads what rendering needs. The schema (berth_v1.cue)
// reports malformed fields; a release it would refuse is skipped here
// without a second finding.
func parseRelease(doc *load.Document) (*release, []diag.Diagnostic) {
	n := doc.Node
	md, spec := mapValue(n, "metadata"), mapValue(n, "spec")
	name := mapValue(md, "name")
	if name == nil || spec == nil || spec.Kind != yaml.MappingNode {
		return nil, nil
	}
	rel := &release{file: doc.File, doc: doc, name: name.Value, namespace: "default"}
	if ns := mapValue(md, "namespace"); ns != nil && ns.Value != "" {
		rel.namespace = ns.Value
	}
	rel.id = "HelmRelease " + rel.namespace + "/" + name.Value
	if v := mapValue(spec, "releaseName"); v != nil && v.Value != "" {
		rel.name = v.Value
	}
	if v := mapValue(spec, "namespace"); v != nil && v.Value != "" {
		rel.namespace = v.Value
	}
	rel.chart = mapValue(spec, "chart")
	if rel.chart == nil || rel.chart.Kind != yaml.MappingNode {
		return nil, nil
	}
	rel.path = mapValue(rel.chart, "path")
	str := func(k string) string {
		if v := mapValue(rel.chart, k); v != nil {
			return v.Value
		}
		return ""
	}
	rel.remote = ChartRef{Repository: str("repository"), Name: str("name"), Version: str("version"), Digest: str("digest")}
	remote := rel.remote.Repository != "" || rel.remote.Name != "" || rel.remote.Version != "" || rel.remote.Digest != ""
	switch {
	case rel.path != nil && remote:
		return nil, []diag.Diagnostic{errorAt(doc.File, rel.chart.Line, rel.chart.Column, RuleHelm, rel.id,
			"spec.chart has both path and repository fields: name a chart in this repository (path) or one from a repository (repository, name, version, digest)")}
	case rel.path == nil && (rel.remote.Repository == "" || rel.remote.Name == "" || rel.remote.Version == "" || rel.remote.Digest == ""):
		return nil, []diag.Diagnostic{errorAt(doc.File, rel.chart.Line, rel.chart.Column, RuleHelm, rel.id,
			"spec.chart needs path (a chart in this repository) or all of repository, name, version and digest (an exact chart from a repository, pinned by the sha256 of its archive, so every node renders the same chart)")}
	case rel.path == nil && !digestRE.MatchString(rel.remote.Digest):
		return nil, nil // the schema reports the digest
	case rel.path == nil && hasUserInfo(rel.remote.Repository):
		// The message never quotes the URL: it holds a password.
		n := cmp.Or(mapValue(rel.chart, "repository"), rel.chart)
		return nil, []diag.Diagnostic{errorAt(doc.File, n.Line, n.Column, RuleHelm, rel.id,
			"spec.chart.repository carries credentials (user info in the URL), which would show in every plan, log and status: remove them, and give the nodes and `berth chart pull` a registry config with --registry-config FILE (Docker's config.json, as helm registry login writes it)")}
	}
	rel.valuesFiles = mapValue(spec, "valuesFiles")
	rel.values = mapValue(spec, "values")
	return rel, nil
}

// hasUserInfo reports whether a repository URL names a user or a
// password.
func hasUserInfo(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.User != nil
}

// release renders a HelmRelease: its chart (from the repository or the
// chart cache) with its values files and inline values, in that order of
// priority over the chart's values.yaml.
func (r *Renderer) release(rel release, w *worker) result {
	res := result{kind: "HelmRelease", source: Source{Kind: "HelmRelease", Path: rel.file}, usedDirs: map[string]bool{}}
	at := func(n *yaml.Node, rule, format string, args ...any) {
		res.diags = append(res.diags, errorAt(rel.file, n.Line, n.Column, rule, rel.id, format, args...))
	}
	dir := filepath.Dir(rel.file)
	root := r.repoRoot(rel.file)
	inRepo := func(n *yaml.Node, p string) (string, bool) {
		abs := absDir(filepath.Join(dir, filepath.FromSlash(p)))
		if filepath.IsAbs(p) || !within(root, abs) {
			at(n, RuleHelm, "%s is outside the repository: a HelmRelease reads only files in it", p)
			return "", false
		}
		return abs, true
	}

	job := chartJob{name: rel.name, ns: rel.namespace, setNamespace: true, object: rel.id, fallback: rel.file}
	if rel.path != nil {
		abs, ok := inRepo(rel.path, rel.path.Value)
		if !ok {
			return res
		}
		chartDir := filepath.Join(dir, filepath.FromSlash(rel.path.Value))
		if !load.HasFile(chartDir, "Chart.yaml") {
			at(rel.path, RuleHelm, "%s is not a chart directory (it has no Chart.yaml)", rel.path.Value)
			return res
		}
		res.usedDirs[abs] = true
		job.dir = filepath.Clean(chartDir)
		job.values = chartValues(job.dir)
		job.loadErr = func(msg string) diag.Diagnostic {
			return errorAt(rel.file, rel.path.Line, rel.path.Column, RuleHelm, rel.id, "load the chart %s: %s", rel.path.Value, msg)
		}
	} else {
		cache := Cache{Dir: r.opts.ChartCache}
		file, ok := cache.Path(rel.remote)
		if !ok && r.opts.Fetcher != nil && r.opts.ChartCache != "" {
			ctx := r.opts.Context
			if ctx == nil {
				ctx = context.Background()
			}
			data, err := r.opts.Fetcher.Fetch(ctx, rel.remote)
			if err == nil {
				err = cache.Put(rel.remote, data)
			}
			if err != nil {
				at(rel.chart, RuleHelm, "fetch chart %s: %v", rel.remote, err)
				return res
			}
			file, ok = cache.Path(rel.remote)
		}
		if !ok {
			where := "no chart cache is configured"
			if r.opts.ChartCache != "" {
				where = "it is not in the chart cache " + r.opts.ChartCache
			}
			at(rel.chart, RuleHelm, "chart %s is not available offline: %s; fetch it with `berth chart pull %s` (the daemon fetches it itself)",
				rel.remote, where, cmp.Or(dir, "."))
			return res
		}
		job.archive, job.ref = file, rel.remote
		job.loadErr = func(msg string) diag.Diagnostic {
			return errorAt(rel.file, rel.chart.Line, rel.chart.Column, RuleHelm, rel.id, "chart %s: %s", rel.remote, msg)
		}
	}

	if rel.valuesFiles != nil {
		for _, f := range rel.valuesFiles.Content {
			abs, ok := inRepo(f, f.Value)
			if !ok {
				return res
			}
			shown := filepath.Join(dir, filepath.FromSlash(f.Value))
			if info, err := os.Stat(abs); err == nil {
				if err := r.opts.Budget.Check(budget.FileBytes, shown, info.Size()); err != nil {
					res.diags = append(res.diags, exceeded(err.(*budget.Exceeded), rel.file, rel.id))
					return res
				}
			}
			data, err := os.ReadFile(abs)
			if err != nil {
				at(f, RuleHelm, "values file %s: %v", f.Value, unwrapPath(err))
				return res
			}
			res.consumed = append(res.consumed, shown)
			vs := readValues(shown, data)
			vs.at, vs.what = f, "values file "+f.Value
			job.values = append(job.values, vs)
		}
	}
	if rel.values != nil && rel.values.Kind == yaml.MappingNode {
		data, err := yaml.Marshal(rel.values)
		if err != nil {
			at(rel.values, RuleHelm, "values: %v", err)
			return res
		}
		job.values = append(job.values, valuesSource{file: rel.file, node: rel.values, data: data, at: rel.values, what: "values"})
	}
	r.renderChart(&res, job, w)
	return res
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// RemoteChart is the chart a HelmRelease document names from outside the
// repository, if it names one.
func RemoteChart(doc *load.Document) (ChartRef, bool) {
	if !isRelease(doc.Node) {
		return ChartRef{}, false
	}
	rel, _ := parseRelease(doc)
	if rel == nil || rel.path != nil {
		return ChartRef{}, false
	}
	return rel.remote, true
}
