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

	"berth.dev/berth/compiler/diag"
)

// checkSchemas validates the coalesced values against the chart's
// values.schema.json and its subcharts', as Helm does, but with no
// loader for references: a schema cannot make berth read a file or reach
// the network. It runs in the worker; schemaDiags places its findings.
func checkSchemas(c *chart.Chart, values any) []schemaErr {
	vals, _ := values.(map[string]any)
	if vals == nil {
		if cv, ok := values.(interface{ AsMap() map[string]any }); ok {
			vals = cv.AsMap()
		}
	}
	var out []schemaErr
	var walk func(c *chart.Chart, vals map[string]any, prefix []string)
	walk = func(c *chart.Chart, vals map[string]any, prefix []string) {
		if len(c.Schema) > 0 {
			out = append(out, checkSchema(c, vals, prefix)...)
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

func checkSchema(c *chart.Chart, vals map[string]any, prefix []string) []schemaErr {
	// ChartFullPath is "root/charts/sub": the chart's place in the root
	// chart's directory.
	_, sub, _ := strings.Cut(c.ChartFullPath(), "/")
	fail := func(err error) []schemaErr {
		return []schemaErr{{Chart: sub, Name: c.Name(), Msg: "values.schema.json: " + err.Error(), Schema: true}}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.Schema))
	if err != nil {
		return fail(err)
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noLoader{})
	if err := comp.AddResource("file:///values.schema.json", doc); err != nil {
		return fail(err)
	}
	sch, err := comp.Compile("file:///values.schema.json")
	if err != nil {
		return fail(err)
	}
	// The validator wants JSON's types; the values are YAML's.
	err = sch.Validate(jsonTypes(vals))
	var ve *jsonschema.ValidationError
	if err == nil {
		return nil
	}
	if !errors.As(err, &ve) {
		return fail(err)
	}
	p := message.NewPrinter(language.English)
	var out []schemaErr
	for _, leaf := range leaves(ve) {
		out = append(out, schemaErr{Chart: sub, Name: c.Name(), At: append(slices.Clone(prefix), leaf.InstanceLocation...),
			Msg: leaf.ErrorKind.LocalizedString(p)})
	}
	return out
}

// schemaDiags places the schema findings of a render: a violation at the
// values layer that set the value (the HelmRelease's inline values, a
// values file, the chart's values.yaml), else at the schema.
func schemaDiags(errs []schemaErr, job chartJob) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, e := range errs {
		schemaFile := job.fallback
		if job.dir != "" {
			schemaFile = filepath.Join(job.dir, filepath.FromSlash(e.Chart), "values.schema.json")
		}
		if e.Schema {
			out = append(out, errorAt(schemaFile, 0, 0, RuleHelm, job.object, "%s", e.Msg))
			continue
		}
		file, n := job.locate(e.At)
		d := diag.Diagnostic{Pos: diag.Pos{File: schemaFile}, Severity: diag.Error, Rule: RuleHelm, Object: job.object,
			Path: valuesPath(e.At), Message: "values do not match values.schema.json of chart " + e.Name + ": " + e.Msg}
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

// readValues reads a values layer's positions; the worker reads its
// values.
func readValues(file string, data []byte) valuesSource {
	vs := valuesSource{file: file, data: data}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 {
		vs.node = doc.Content[0]
	}
	return vs
}
