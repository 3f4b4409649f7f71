package load

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget"
)

// FuzzLoadYAML feeds arbitrary bytes to the YAML reader: it must return
// documents or diagnostics, and never panic.
func FuzzLoadYAML(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n",
		"a: 1\n---\nb: [1,\n---\nc: &x {d: *x}\n",
		"{\"kind\": \"Service\", \"spec\": {\"ports\": [{\"port\": 80}]}}",
		"- a\n- b\n",
		"kind : pod\nspec :\n    containers :\n        -name : c\n         image : i\n",
		"a: !!binary AAAA\nb: <<\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := parseYAML("fuzz.yaml", data, nil)
		for _, d := range out.docs {
			if d.Node == nil || d.File != "fuzz.yaml" {
				t.Fatalf("bad document %+v", d)
			}
		}
		for _, d := range out.diags {
			if d.Message == "" || d.Line < 1 {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
	})
}

// FuzzLoadBudgets feeds arbitrary YAML to the reader with tight budgets:
// it never panics, every document it keeps is within the budgets, and
// every refusal names its flag.
func FuzzLoadBudgets(f *testing.F) {
	for _, s := range []string{
		aliasBomb(40, 40),
		"a: &x [1, 2, 3]\nb: [*x, *x, *x, *x]\nc: {d: *x}\n",
		"a: &a [&b [&c [1]]]\nb: [*a, *b, *c, *a, *b, *c]\n",
		"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: \"" + strings.Repeat("\\u0001", 200) + "\"\n",
		"k: <<\n<<: {a: 1}\n",
	} {
		f.Add([]byte(s))
	}
	lim := budget.Limits{ObjectBytes: 2048, AliasExpansion: 2, FileBytes: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := parseYAMLLimited("fuzz.yaml", data, nil, lim)
		for _, d := range out.docs {
			if err := measureDocument(d.Node, lim, &measurer{memo: map[*yaml.Node]cost{}}); err != nil {
				t.Fatalf("kept a document over budget: %v", err)
			}
		}
		for _, d := range out.diags {
			if d.Rule == budget.Rule && !strings.Contains(d.Message, "(raise it with --max-") {
				t.Fatalf("refusal without its flag: %v", d)
			}
		}
	})
}
