package render

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"berth.dev/berth/compiler/diag"
)

// checkSchemas validates the coalesced values against the chart's
// values.schema.json and its subcharts', as Helm does, but with no
// loader for references: a schema cannot make berth read a file or reach
// the network. A violation is placed at the values layer that set the
// value (the HelmRelease's inline values, a values file, the chart's
// values.yaml), else at the schema.
func (r *Renderer) checkSchemas(c *chart.Chart, values any, job chartJob) []diag.Diagnostic {
	vals, _ := values.(map[string]any)
	if vals == nil {
		if cv, ok := values.(interface{ AsMap() map[string]any }); ok {
			vals = cv.AsMap()
		}
	}
	var out []diag.Diagnostic
	var walk func(c *chart.Chart, vals map[string]any, prefix []string)
	walk = func(c *chart.Chart, vals map[string]any, prefix []string) {
		if len(c.Schema) > 0 {
			out = append(out, r.checkSchema(c, vals, prefix, job)...)
		}
		for _, sub := range c.Dependencies() {
			if sv, ok := vals[sub.Name()].(map[string]any); ok {
				walk(sub, sv, append(slices.Clone(prefix), sub.Name()))
			}
		}
	}
	walk(c, vals, nil)
	return out
}

func (r *Renderer) checkSchema(c *chart.Chart, vals map[string]any, prefix []string, job chartJob) []diag.Diagnostic {
	schemaFile := job.fallback
	if job.dir != "" {
		// ChartFullPath is "root/charts/sub": the chart's place in the
		// root chart's directory.
		_, sub, _ := strings.Cut(c.ChartFullPath(), "/")
		schemaFile = filepath.Join(job.dir, filepath.FromSlash(sub), "values.schema.json")
	}
	fail := func(format string, args ...any) []diag.Diagnostic {
		return []diag.Diagnostic{errorAt(schemaFile, 0, 0, RuleHelm, job.object, format, args...)}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.Schema))
	if err != nil {
		return fail("values.schema.json: %v", err)
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noLoader{})
	if err := comp.AddResource("file:///values.schema.json", doc); err != nil {
		return fail("values.schema.json: %v", err)
	}
	sch, err := comp.Compile("file:///values.schema.json")
	if err != nil {
		return fail("values.schema.json: %v", err)
	}
	// The validator wants JSON's types; the values are YAML's.
	err = sch.Validate(jsonTypes(vals))
	var ve *jsonschema.ValidationError
	if err == nil {
		return nil
	}
	if !errors.As(err, &ve) {
		return fail("values.schema.json: %v", err)
	}
	p := message.NewPrinter(language.English)
	var out []diag.Diagnostic
	for _, leaf := range leaves(ve) {
		at := append(slices.Clone(prefix), leaf.InstanceLocation...)
		file, n := job.locate(at)
		d := diag.Diagnostic{Pos: diag.Pos{File: schemaFile}, Severity: diag.Error, Rule: RuleHelm, Object: job.object,
			Path: valuesPath(at), Message: "values do not match values.schema.json of chart " + c.Name() + ": " + leaf.ErrorKind.LocalizedString(p)}
		if n != nil {
			d.Pos = diag.Pos{File: file, Line: n.Line, Col: n.Column}
		}
		out = append(out, d)
	}
	return out
}

// locate finds the node that set the value at path: the highest values
// layer that has it, or the nearest parent that a layer has.
func (job chartJob) locate(at []string) (string, *yaml.Node) {
	for depth := len(at); depth >= 0; depth-- {
		for i := len(job.values) - 1; i >= 0; i-- {
			if n := lookup(job.values[i].node, at[:depth]); n != nil && n.Line > 0 {
				return job.values[i].file, n
			}
		}
	}
	return "", nil
}

func lookup(n *yaml.Node, at []string) *yaml.Node {
	for _, k := range at {
		if n == nil {
			return nil
		}
		n = mapValue(n, k)
	}
	return n
}

func valuesPath(at []string) string {
	if len(at) == 0 {
		return "values"
	}
	return "values." + strings.Join(at, ".")
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// jsonTypes converts YAML-decoded values to what a JSON decoder makes.
func jsonTypes(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = jsonTypes(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = jsonTypes(x)
		}
		return l
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	case float32:
		return float64(t)
	default:
		return v
	}
}

// noLoader refuses every external reference of a schema.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("values.schema.json refers to %s: berth does not load schema references (no files outside the schema, no network)", url)
}

// readValues parses a values layer: positions from YAML, types as Helm
// reads them.
func readValues(file string, data []byte) (valuesSource, error) {
	vals, err := loader.LoadValues(bytes.NewReader(data))
	if err != nil {
		return valuesSource{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return valuesSource{}, err
	}
	vs := valuesSource{file: file, vals: vals}
	if len(doc.Content) > 0 {
		vs.node = doc.Content[0]
	}
	return vs, nil
}
