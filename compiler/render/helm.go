package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v4/pkg/chart/common"
	cutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/ignore"
	relv1 "helm.sh/helm/v4/pkg/release/v1"
	relutil "helm.sh/helm/v4/pkg/release/v1/util"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
)

// chartJob is one chart to render: where it is, how it is shown, and the
// release it is rendered as.
type chartJob struct {
	chart *chart.Chart
	// dir is the chart directory as displayed; "" for a chart from the
	// cache, whose documents are then shown under the HelmRelease's file.
	dir string
	// fallback is the file findings go to when they have no better place.
	fallback string
	name     string // release name
	ns       string // release namespace
	// setNamespace puts ns on namespaced objects without one, as Helm's
	// client does when it applies them.
	setNamespace bool
	values       []valuesSource // user values, lowest priority first
	object       string         // "HelmRelease ns/name" for findings
}

// valuesSource is one layer of values, with positions for findings.
type valuesSource struct {
	file string
	node *yaml.Node // the mapping, with positions
	vals map[string]any
}

// chartDir renders a chart in the repository with its own values.yaml,
// as Argo CD does for a chart in Git: the release is named after the
// chart, in namespace "default".
func (r *Renderer) chartDir(rt load.Root) result {
	res := result{kind: "chart", source: Source{Kind: "chart", Path: rt.Dir}}
	c, err := loadChartDir(rt.Dir, r.opts.Limits.OutputBytes)
	if err != nil {
		res.diags = append(res.diags, errorAt(filepath.Join(rt.Dir, "Chart.yaml"), 0, 0, RuleHelm, "", "load the chart: %v", err))
		return res
	}
	job := chartJob{chart: c, dir: rt.Dir, fallback: filepath.Join(rt.Dir, "Chart.yaml"), name: c.Name(), ns: "default"}
	job.values = chartValues(rt.Dir)
	r.renderChart(&res, job)
	return res
}

// chartValues is the chart's values.yaml as a layer of positions only
// (Helm reads its values with the chart).
func chartValues(dir string) []valuesSource {
	data, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil
	}
	vs, err := readValues(filepath.Join(dir, "values.yaml"), data)
	if err != nil {
		return nil
	}
	return []valuesSource{{file: vs.file, node: vs.node}}
}

// loadChartDir reads a chart directory as Helm's loader does (honouring
// .helmignore), but only through an os.Root: a link that leads out of the
// chart is an error, so templates cannot reach a file outside it.
func loadChartDir(dir string, budget int64) (*chart.Chart, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	rules := ignore.Empty()
	if data, err := root.ReadFile(ignore.HelmIgnore); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	var total int64
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		info, err := root.Stat(name) // follows a link, within the root only
		if err != nil {
			return fmt.Errorf("%s: %w (a chart may not link outside its directory)", name, err)
		}
		if info.IsDir() {
			if rules.Ignore(name, info) {
				return fs.SkipDir
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s: a linked directory in a chart is not supported", name)
			}
			return nil
		}
		if rules.Ignore(name, info) {
			return nil
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", name)
		}
		total += info.Size()
		if total > budget {
			return &budgetError{fmt.Sprintf("the chart's files are larger than the %d bytes one render may read", budget)}
		}
		data, err := root.ReadFile(name)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: filepath.ToSlash(name), Data: bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}

// renderChart renders one chart as `helm template` does: values
// coalesced with the chart's and its subcharts', dependencies enabled by
// their conditions and tags, values.schema.json checked, hooks ordered
// and test hooks left out.
func (r *Renderer) renderChart(res *result, job chartJob) {
	if job.object != "" {
		res.source.Name = strings.TrimPrefix(job.object, "HelmRelease ")
	}
	fail := func(rule, format string, args ...any) {
		res.diags = append(res.diags, errorAt(job.fallback, 0, 0, rule, job.object, format, args...))
	}
	c := job.chart
	if c.Metadata != nil && c.Metadata.Type == "library" {
		fail(RuleHelm, "chart %s is a library chart: it renders nothing on its own", c.Name())
		return
	}
	vals := map[string]any{}
	for _, v := range job.values {
		vals = loader.MergeMaps(vals, v.vals)
	}
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		fail(RuleHelm, "chart dependencies: %v", err)
		return
	}
	kv, err := common.ParseKubeVersion(KubeVersion)
	if err != nil {
		fail(RuleHelm, "kube version: %v", err)
		return
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	if c.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(c.Metadata.KubeVersion, KubeVersion) {
		fail(RuleHelm, "chart requires kubeVersion %s, and berth renders charts for Kubernetes %s", c.Metadata.KubeVersion, KubeVersion)
		return
	}
	top, err := cutil.ToRenderValuesWithSchemaValidation(c, vals, common.ReleaseOptions{
		Name: job.name, Namespace: job.ns, Revision: 1, IsInstall: true,
	}, caps, true)
	if err != nil {
		fail(RuleHelm, "values: %v", err)
		return
	}
	if ds := r.checkSchemas(c, top["Values"], job); len(ds) > 0 {
		res.diags = append(res.diags, ds...)
		return
	}

	var files map[string]string
	err = runBudgeted(r.opts.Limits.Time, func(ctx context.Context) error {
		b := &templateBudget{ctx: ctx, bytes: r.opts.Limits.OutputBytes}
		e := engine.Engine{CustomTemplateFuncs: b.funcs()}
		var err error
		files, err = e.RenderWithContext(ctx, c, top)
		if err == nil && b.exceeded != nil {
			err = b.exceeded
		}
		return err
	})
	if err != nil {
		res.diags = append(res.diags, r.templateError(err, job))
		return
	}
	var total int64
	for name, text := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
			continue
		}
		total += int64(len(text))
	}
	if total > r.opts.Limits.OutputBytes {
		fail(RuleBudget, "the chart renders more than %d bytes of YAML", r.opts.Limits.OutputBytes)
		return
	}
	hooks, manifests, err := relutil.SortManifests(files, nil, relutil.InstallOrder)
	if err != nil {
		res.diags = append(res.diags, r.templateError(err, job))
		return
	}

	var pre, post []*relv1.Hook
	for _, h := range hooks {
		switch {
		case hasEvent(h, relv1.HookPreInstall, relv1.HookPreUpgrade):
			pre = append(pre, h)
		case hasEvent(h, relv1.HookPostInstall, relv1.HookPostUpgrade):
			post = append(post, h)
		case hasEvent(h, relv1.HookTest):
			// helm install never runs test hooks; `helm test` does.
		default:
			res.diags = append(res.diags, diag.Diagnostic{Pos: diag.Pos{File: r.chartFile(job, h.Path)}, Severity: diag.Warning,
				Rule: RuleHook, Object: h.Kind + " " + h.Name,
				Message: fmt.Sprintf("hook %s runs on events berth never has (it installs and upgrades, it never deletes or rolls back a release); the object is not applied", events(h))})
		}
	}
	byWeight := func(a, b *relv1.Hook) int {
		if a.Weight != b.Weight {
			return a.Weight - b.Weight
		}
		return strings.Compare(a.Name, b.Name)
	}
	slices.SortStableFunc(pre, byWeight)
	slices.SortStableFunc(post, byWeight)

	// Templates by name, to place fields on their lines (not for a
	// cached chart: its files are not in the repository to look at).
	sources := map[string]string{}
	if job.dir != "" {
		var collect func(ch *chart.Chart)
		collect = func(ch *chart.Chart) {
			for _, t := range ch.Templates {
				sources[ch.ChartFullPath()+"/"+t.Name] = string(t.Data)
			}
			for _, d := range ch.Dependencies() {
				collect(d)
			}
		}
		collect(c)
	}
	add := func(name, text string) {
		file := r.chartFile(job, name)
		docs, ds := load.ParseYAML(file, []byte(text), r.opts.Budget)
		var tmpl []templateKeys
		if src, ok := sources[name]; ok {
			tmpl = indexTemplate(src)
		}
		res.diags = append(res.diags, ds...)
		for i := range docs {
			if len(res.docs) >= r.opts.Limits.Objects {
				fail(RuleBudget, "the chart renders more than %d objects", r.opts.Limits.Objects)
				return
			}
			forget(docs[i].Node)
			if tmpl != nil {
				placeOnTemplate(docs[i].Node, tmpl)
			}
			if job.setNamespace {
				setNamespace(docs[i].Node, job.ns)
			}
			docs[i].Index = len(res.docs)
			res.docs = append(res.docs, docs[i])
		}
	}
	for _, crd := range c.CRDObjects() {
		add(crd.Filename, string(crd.File.Data))
	}
	for _, h := range pre {
		add(h.Path, h.Manifest)
	}
	for _, m := range manifests {
		add(m.Name, m.Content)
	}
	for _, h := range post {
		add(h.Path, h.Manifest)
	}
}

func hasEvent(h *relv1.Hook, evs ...relv1.HookEvent) bool {
	for _, e := range h.Events {
		if slices.Contains(evs, e) {
			return true
		}
	}
	return false
}

func events(h *relv1.Hook) string {
	var s []string
	for _, e := range h.Events {
		s = append(s, e.String())
	}
	return strings.Join(s, ",")
}

// chartFile shows a chart's file ("web/templates/x.yaml", as Helm names
// templates) under the chart's directory; a cached chart's files show
// under the HelmRelease's file.
func (r *Renderer) chartFile(job chartJob, name string) string {
	if job.dir == "" {
		return job.fallback
	}
	if _, rest, ok := strings.Cut(name, "/"); ok {
		name = rest
	}
	return filepath.Join(job.dir, filepath.FromSlash(name))
}

// clusterScoped reports whether a kind has no namespace: berth's, and
// the cluster-wide kinds charts carry.
func clusterScoped(kind string) bool {
	switch kind {
	case "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass", "PriorityClass",
		"IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
		"APIService", "CSIDriver", "VolumeAttachment", "PodSecurityPolicy", "ValidatingAdmissionPolicy",
		"ValidatingAdmissionPolicyBinding":
		return true
	}
	return object.ClusterScoped(kind)
}

// setNamespace puts ns into metadata.namespace of a namespaced object
// that names none.
func setNamespace(n *yaml.Node, ns string) {
	kind := mapValue(n, "kind")
	if kind == nil || clusterScoped(kind.Value) {
		return
	}
	md := mapValue(n, "metadata")
	if md == nil || md.Kind != yaml.MappingNode {
		return
	}
	if v := mapValue(md, "namespace"); v != nil {
		if v.Value == "" {
			v.Value, v.Tag = ns, "!!str"
		}
		return
	}
	md.Content = append(md.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "namespace"},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ns})
}

// Helm's template errors: "execution error at (chart/templates/x.yaml:17:9):
// msg", "parse error at (chart/templates/x.yaml:3): msg", or a trace
// whose first line is "template: chart/templates/x.yaml:17:9".
var (
	helmErrPos   = regexp.MustCompile(`(?:execution|parse) error (?:at|in) \(([^:)\s]+)(?::(\d+))?(?::(\d+))?\): `)
	helmTracePos = regexp.MustCompile(`^(?:template: )?([^:\s]+):(\d+):(\d+)\s*\n`)
	helmTraceAt  = regexp.MustCompile(`executing "[^"]*" at (<[^\n]*>):`)
)

// templateError places a template error at the template's line.
func (r *Renderer) templateError(err error, job chartJob) diag.Diagnostic {
	var be *budgetError
	if errors.As(err, &be) {
		return errorAt(job.fallback, 0, 0, RuleBudget, job.object, "render chart %s: %v", job.chart.Name(), err)
	}
	msg := err.Error()
	file, line, col := job.fallback, 0, 0
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := helmErrPos.FindStringSubmatch(msg); m != nil {
		file, line, col = r.chartFile(job, m[1]), num(m[2]), num(m[3])
		if line > 0 && col == 0 {
			col = 1
		}
		msg = msg[strings.Index(msg, m[0])+len(m[0]):]
	} else if m := helmTracePos.FindStringSubmatch(msg); m != nil {
		file, line, col = r.chartFile(job, m[1]), num(m[2]), num(m[3])
		lines := strings.Split(strings.TrimSpace(msg), "\n")
		last := strings.TrimSpace(lines[len(lines)-1])
		if at := helmTraceAt.FindAllStringSubmatch(msg, -1); at != nil {
			last = at[len(at)-1][1] + ": " + last
		}
		msg = last
	}
	// Helm marks the messages of required and fail; a panic in a template
	// function (a budget) comes back as "error calling NAME: ...".
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "HELM_ERR_START", ""), "HELM_ERR_END", "")
	return errorAt(file, line, col, RuleHelm, job.object, "template: %s", msg)
}
