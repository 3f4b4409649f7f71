package load

import "testing"

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
