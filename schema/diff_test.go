package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"gopkg.in/yaml.v3"
)

// cueSchema builds the embedded files with CUE itself.
func cueSchema(tb testing.TB, s *Set) cue.Value {
	tb.Helper()
	inst := build.NewContext().NewInstance("berth.dev/berth/schema", nil)
	for _, f := range s.files {
		if err := inst.AddSyntax(f); err != nil {
			tb.Fatal(err)
		}
	}
	v := cuecontext.New().BuildInstance(inst)
	if err := v.Err(); err != nil {
		tb.Fatalf("the schema is not valid CUE: %v", err)
	}
	return v
}

func TestSchemaIsValidCUE(t *testing.T) {
	s := mustLoad(t)
	v := cueSchema(t, s)
	for _, k := range s.Kinds() {
		kd := s.kinds[k.APIVersion+"/"+k.Kind]
		if d := v.LookupPath(cue.ParsePath(kd.def)); !d.Exists() || d.Err() != nil {
			t.Errorf("%s: %v", kd.def, d.Err())
		}
	}
}

// toGo converts a YAML value to plain Go values for cue.Context.Encode.
// Null fields are dropped: null means absent, in Kubernetes and in berth.
func toGo(n *yaml.Node) (any, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], resolve(n.Content[i+1])
			if k.Tag == "!!merge" {
				return nil, fmt.Errorf("merge keys are not compared")
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("duplicate key")
			}
			if isNull(v) {
				continue
			}
			x, err := toGo(v)
			if err != nil {
				return nil, err
			}
			m[k.Value] = x
		}
		return m, nil
	case yaml.SequenceNode:
		l := []any{}
		for _, e := range n.Content {
			x, err := toGo(e)
			if err != nil {
				return nil, err
			}
			l = append(l, x)
		}
		return l, nil
	}
	switch dataKind(n) {
	case kInt:
		return strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	case kFloat:
		return strconv.ParseFloat(n.Value, 64)
	case kBool:
		return n.Value == "true", nil
	case kNull:
		return nil, nil
	}
	return n.Value, nil
}

// mutations derives invalid (and some valid) variants of a document: every
// scalar replaced by values of other kinds and out of range, every mapping
// given an unknown field or deprived of each field in turn.
func mutations(doc *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	var paths [][]int
	var walk func(n *yaml.Node, path []int)
	walk = func(n *yaml.Node, path []int) {
		paths = append(paths, append([]int(nil), path...))
		for i, c := range n.Content {
			walk(c, append(path, i))
		}
	}
	walk(doc, nil)
	at := func(root *yaml.Node, path []int) *yaml.Node {
		for _, i := range path {
			root = root.Content[i]
		}
		return root
	}
	scalars := []yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x_Y"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: ""},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "8000"},
		{Kind: yaml.ScalarNode, Tag: "!!int", Value: "70000"},
		{Kind: yaml.ScalarNode, Tag: "!!int", Value: "-1"},
		{Kind: yaml.ScalarNode, Tag: "!!int", Value: "0"},
		{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"},
		{Kind: yaml.ScalarNode, Tag: "!!float", Value: "1.5"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.Repeat("a", 64)},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.Repeat("a", 254)},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "1.5Gi"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "30%"},
		{Kind: yaml.MappingNode, Tag: "!!map"},
		{Kind: yaml.SequenceNode, Tag: "!!seq"},
	}
	for _, p := range paths {
		n := at(doc, p)
		switch n.Kind {
		case yaml.ScalarNode:
			if len(p) > 0 && p[len(p)-1]%2 == 0 && at(doc, p[:len(p)-1]).Kind == yaml.MappingNode {
				continue // a key
			}
			for _, s := range scalars {
				c := deepCopy(doc)
				*at(c, p) = s
				out = append(out, c)
			}
		case yaml.MappingNode:
			c := deepCopy(doc)
			m := at(c, p)
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "bogus"}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"})
			out = append(out, c)
			for _, key := range []string{"bad key!", "example.com/app", "count/pods"} {
				if len(n.Content) > 0 {
					c := deepCopy(doc)
					m := at(c, p)
					m.Content[0] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
					out = append(out, c)
				}
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				c := deepCopy(doc)
				m := at(c, p)
				m.Content = append(append([]*yaml.Node(nil), m.Content[:i]...), m.Content[i+2:]...)
				out = append(out, c)
			}
		case yaml.SequenceNode:
			c := deepCopy(doc)
			at(c, p).Content = nil
			out = append(out, c)
		}
	}
	return out
}

// TestDifferential checks that the native validator accepts and rejects
// exactly what CUE's own Unify + Validate(Concrete) does, and that the
// defaults it writes are the ones CUE fills in. Go-only checks (@berth
// attributes) are disabled for the comparison.
func TestDifferential(t *testing.T) {
	s := mustLoad(t)
	schema := cueSchema(t, s)
	ctx := schema.Context()
	defs := map[string]cue.Value{}
	for key, kd := range s.kinds {
		defs[key] = schema.LookupPath(cue.ParsePath(kd.def))
	}
	docs := corpus(t, 20)
	docs = append(docs, handWritten(t)...)
	cases, accepted, rejected := 0, 0, 0
	perDoc := 150
	if testing.Short() {
		perDoc = 15
	}
	for _, doc := range docs {
		variants := append([]*yaml.Node{deepCopy(doc)}, mutations(doc)...)
		stride := max(1, len(variants)/perDoc)
		for i, v := range variants {
			if i%stride != 0 {
				continue
			}
			av, k := mapValue(v, "apiVersion"), mapValue(v, "kind")
			if av == nil || k == nil {
				continue
			}
			def, ok := defs[av.Value+"/"+k.Value]
			if !ok {
				continue
			}
			data, err := toGo(v)
			if err != nil {
				continue
			}
			cases++
			native := deepCopy(v)
			viols := s.validate(native, Options{}, false)
			u := def.Unify(ctx.Encode(data))
			cueErr := u.Validate(cue.Concrete(true))
			if (len(viols) == 0) != (cueErr == nil) {
				text, _ := yaml.Marshal(v)
				t.Errorf("native and CUE disagree:\nnative: %v\ncue: %v\n%s", viols, cueErr, text)
				continue
			}
			if cueErr != nil {
				rejected++
				continue
			}
			accepted++
			got, _ := toGo(native)
			var want any
			b, err := u.MarshalJSON()
			if err != nil {
				t.Fatalf("cue marshal: %v", err)
			}
			_ = json.Unmarshal(b, &want)
			if !reflect.DeepEqual(normalize(got), normalize(want)) {
				gj, _ := json.Marshal(normalize(got))
				t.Errorf("defaults differ:\nnative: %s\ncue:    %s", gj, b)
			}
		}
	}
	t.Logf("%d cases: %d accepted, %d rejected by both", cases, accepted, rejected)
	if accepted == 0 || rejected == 0 {
		t.Fatal("the corpus must hold both valid and invalid objects")
	}
}

// normalize makes JSON-decoded and YAML-decoded values comparable and drops
// imagePullPolicy, whose default berth computes in Go.
func normalize(x any) any {
	switch x := x.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, v := range x {
			if k == "imagePullPolicy" {
				continue
			}
			m[k] = normalize(v)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, v := range x {
			l[i] = normalize(v)
		}
		return l
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return x
}
