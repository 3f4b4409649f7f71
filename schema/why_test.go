package schema

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// A field berth leaves out by design is refused with the reason, wherever
// a schema reaches it. serviceAccountToken is refused that way inside a
// projected volume once projected volumes are in the schema: this test
// builds that schema now.
func TestUnsupportedFieldReason(t *testing.T) {
	names, err := fs.Glob(cueFiles, "cue/*.cue")
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string][]byte{}
	for _, n := range names {
		b, err := cueFiles.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		srcs[path.Base(n)] = b
	}
	srcs["zz_test.cue"] = []byte(`package schema

#ProjectedTest: {
	apiVersion: "test.berth.dev/v1"
	kind:       "ProjectedTest"
	metadata!:  #ObjectMeta
	spec!: {
		sources?: [...{
			configMap?: {name!: string}
		}]
	}
}
`)
	s, err := compileSources(srcs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ doc, want string }{{
		doc:  "apiVersion: test.berth.dev/v1\nkind: ProjectedTest\nmetadata: {name: p}\nspec:\n  sources:\n  - serviceAccountToken: {path: token}\n",
		want: `spec.sources[0].serviceAccountToken: field "serviceAccountToken" is not supported by berth: ` + NoTokenReason,
	}, {
		doc:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generateName: web-}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: c:1}]}}}\n",
		want: `metadata.generateName: field "generateName" is not supported by berth: berth applies objects by name, as kubectl apply does; set metadata.name (a Job may have a generateName: berth names it from its content)`,
	}} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tt.doc), &n); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range s.Validate(n.Content[0], Options{}) {
			got = append(got, v.Path+": "+v.Message)
		}
		if !strings.Contains(strings.Join(got, "\n"), tt.want) {
			t.Errorf("violations:\n%s\nwant one:\n%s", strings.Join(got, "\n"), tt.want)
		}
	}
}
