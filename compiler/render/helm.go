package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
)

// chartJob is one chart to render: where it is, how it is shown, and the
// release it is rendered as.
type chartJob struct {
	// dir is the chart directory as displayed; "" for a chart from the
	// cache (archive), whose documents are then shown under the
	// HelmRelease's file.
	dir     string
	archive string
	ref     ChartRef
	// fallback is the file findings go to when they have no better place.
	fallback string
	// loadErr is the finding of a chart that cannot be read.
	loadErr  func(msg string) diag.Diagnostic
	name, ns string // release name ("": the chart's name) and namespace
	// setNamespace puts ns on namespaced objects without one, as Helm's
	// client does when it applies them.
	setNamespace bool
	values       []valuesSource // values layers, lowest priority first
	object       string         // "HelmRelease ns/name" for findings
}

// valuesSource is one layer of values, with positions for findings.
type valuesSource struct {
	file string
	node *yaml.Node // the mapping, with positions
	// data is the layer for the worker; nil for the chart's values.yaml,
	// which Helm's loader reads with the chart.
	data []byte
	// at is where a layer that does not parse is reported (in the
	// HelmRelease's file), what it is called there.
	at   *yaml.Node
	what string
}

// chartDir renders a chart in the repository with its own values.yaml,
// as Argo CD does for a chart in Git: the release is named after the
// chart, in namespace "default".
func (r *Renderer) chartDir(rt load.Root, w *worker) result {
	res := result{kind: "chart", source: Source{Kind: "chart", Path: rt.Dir}}
	chartYAML := filepath.Join(rt.Dir, "Chart.yaml")
	job := chartJob{dir: rt.Dir, fallback: chartYAML, ns: "default", values: chartValues(rt.Dir),
		loadErr: func(msg string) diag.Diagnostic {
			return errorAt(chartYAML, 0, 0, RuleHelm, "", "load the chart: %s", msg)
		}}
	r.renderChart(&res, job, w)
	return res
}

// chartValues is the chart's values.yaml as a layer of positions only
// (Helm reads its values with the chart).
func chartValues(dir string) []valuesSource {
	data, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil
	}
	vs := readValues(filepath.Join(dir, "values.yaml"), data)
	vs.data = nil
	return []valuesSource{vs}
}

// renderChart renders one chart in the worker (chartbuild.go) as `helm
// template` does, and reads what it made into documents.
func (r *Renderer) renderChart(res *result, job chartJob, w *worker) {
	if job.object != "" {
		res.source.Name = strings.TrimPrefix(job.object, "HelmRelease ")
	}
	fail := func(format string, args ...any) {
		res.diags = append(res.diags, errorAt(job.fallback, 0, 0, RuleHelm, job.object, format, args...))
	}
	req := chartRequest{Archive: job.archive, Ref: job.ref, Release: job.name, Namespace: job.ns,
		Templates: job.dir != "", Limits: r.opts.Budget}
	if job.dir != "" {
		req.Dir = absDir(job.dir)
	}
	var layers []int // job.values index of each request layer
	for i, v := range job.values {
		if v.data != nil {
			req.Values = append(req.Values, v.data)
			layers = append(layers, i)
		}
	}
	out, err := w.run(request{Chart: &req})
	if err != nil {
		res.diags = append(res.diags, failed(err, job.fallback, RuleHelm, job.object, "render"))
		return
	}
	resp := out.Chart
	switch {
	case resp.LoadErr != "":
		res.diags = append(res.diags, job.loadErr(resp.LoadErr))
		return
	case resp.ValuesErr != "":
		v := job.values[layers[resp.BadValues]]
		res.diags = append(res.diags, errorAt(job.fallback, v.at.Line, v.at.Column, RuleHelm, job.object, "%s: %s", v.what, resp.ValuesErr))
		return
	case resp.Fail != "":
		fail("%s", resp.Fail)
		return
	case len(resp.Schema) > 0:
		res.diags = append(res.diags, schemaDiags(resp.Schema, job)...)
		return
	case resp.TemplateErr != "":
		res.diags = append(res.diags, r.templateError(errors.New(resp.TemplateErr), job))
		return
	case resp.Exceeded != nil:
		res.diags = append(res.diags, exceeded(resp.Exceeded, job.fallback, job.object))
		return
	}
	for _, h := range resp.Skipped {
		res.diags = append(res.diags, diag.Diagnostic{Pos: diag.Pos{File: r.chartFile(job, h.Path)}, Severity: diag.Warning,
			Rule: RuleHook, Object: h.Kind + " " + h.Name,
			Message: fmt.Sprintf("hook %s runs on events berth never has (it installs and upgrades, it never deletes or rolls back a release); the object is not applied", h.Events)})
	}
	maxObjects := r.opts.Budget.Get(budget.RenderObjects)
	parser := load.NewParser(r.opts.Budget)
	for _, f := range resp.Files {
		file := r.chartFile(job, f.Name)
		docs, ds := parser.Parse(file, []byte(f.Content))
		var tmpl []templateKeys
		if src, ok := resp.Templates[f.Name]; ok {
			tmpl = indexTemplate(src)
		}
		res.diags = append(res.diags, ds...)
		for i := range docs {
			if int64(len(res.docs)) >= maxObjects {
				res.diags = append(res.diags, exceeded(&budget.Exceeded{Limit: budget.RenderObjects, Max: maxObjects}, job.fallback, job.object))
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
	// Helm marks the messages of required and fail.
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "HELM_ERR_START", ""), "HELM_ERR_END", "")
	return errorAt(file, line, col, RuleHelm, job.object, "template: %s", msg)
}
