package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	cmDoc  = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: v\n"
	depDoc = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    team: "shop" # a comment
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: &img registry.example.com/web:1.0
          args: ["1.0", 'yes', 0755, *img]
          envFrom: [{configMapRef: {name: conf}}]
`
)

func cm(name string) string { return strings.ReplaceAll(cmDoc, "%s", name) }

// TestMarkersMatchOrigins: berth's markers find the same source for every
// object as kustomize's origin annotations, the output is the same
// byte for byte, and a build the markers cannot explain is built again
// with the origins.
func TestMarkersMatchOrigins(t *testing.T) {
	cases := []struct {
		name     string
		files    map[string]string
		dir      string
		remarked bool
	}{
		{name: "testdata dev", dir: "testdata/kustomize/overlays/dev"},
		{name: "testdata prod", dir: "testdata/kustomize/overlays/prod"},
		{name: "overlay transformers", dir: "o", files: map[string]string{
			"b/kustomization.yaml": "resources: [dep.yaml, cms.yaml]\nconfigMapGenerator: [{name: conf, literals: [a=b]}]\n",
			"b/dep.yaml":           depDoc,
			"b/cms.yaml":           cm("one") + "---\n" + cm("two"),
			"o/kustomization.yaml": "namespace: prod\nnamePrefix: p-\ncommonAnnotations: {owner: me}\nlabels: [{pairs: {env: prod}}]\nresources: [../b, list.json]\n" +
				"images: [{name: registry.example.com/web, newTag: '2.0'}]\npatches: [{path: patch.yaml}]\n",
			"o/list.json":  `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}]}`,
			"o/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n",
		}},
		{name: "generators merge and replace", dir: "o", files: map[string]string{
			"b/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator: [{name: gen, literals: [a=b]}, {name: kept, literals: [a=b]}]\n" +
				"secretGenerator: [{name: s, literals: [p=q]}]\n",
			"b/cm.yaml": cm("file"),
			"o/kustomization.yaml": "resources: [../b]\nconfigMapGenerator:\n  - {name: gen, behavior: merge, literals: [c=d]}\n" +
				"  - {name: kept, behavior: replace, literals: [e=f]}\n  - {name: file, behavior: merge, literals: [g=h]}\n" +
				"secretGenerator: [{name: s, behavior: replace, literals: [r=s], options: {annotations: {x: z}}}]\n" +
				"generatorOptions: {labels: {gen: 'yes'}}\n",
		}},
		{name: "component", dir: "o", files: map[string]string{
			"c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n" +
				"configMapGenerator: [{name: gen, behavior: replace, literals: [x=z]}]\n",
			"c/extra.yaml":         cm("extra"),
			"o/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator: [{name: gen, literals: [a=b]}]\ncomponents: [../c]\n",
			"o/cm.yaml":            cm("own"),
		}},
		{name: "user asks for origins", dir: "o", files: map[string]string{
			"o/kustomization.yaml": "resources: [cm.yaml]\nbuildMetadata: [originAnnotations]\n",
			"o/cm.yaml":            cm("own"),
		}},
		{name: "annotations replaced by a patch", dir: "o", remarked: true, files: map[string]string{
			"o/kustomization.yaml": "resources: [cm.yaml]\npatches: [{path: p.yaml}]\n",
			"o/cm.yaml":            cm("own"),
			"o/p.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n  annotations:\n    $patch: replace\n    a: b\n",
		}},
		{name: "a resource file read by a generator", dir: "o", remarked: true, files: map[string]string{
			"o/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator: [{name: copy, files: [cm.yaml]}]\n",
			"o/cm.yaml":            cm("own"),
		}},
		{name: "a resource file that is also a patch", dir: "o", remarked: true, files: map[string]string{
			"o/kustomization.yaml":   "resources: [b, cm.yaml]\npatches: [{path: cm.yaml, target: {name: other}}]\n",
			"o/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  k: patched\n",
			"o/b/kustomization.yaml": "resources: [other.yaml]\n",
			"o/b/other.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: x\n",
		}},
		{name: "annotations copied by a replacement", dir: "o", remarked: true, files: map[string]string{
			"o/kustomization.yaml": "resources: [a.yaml]\nreplacements:\n  - source: {kind: ConfigMap, name: a, fieldPath: metadata.annotations}\n" +
				"    targets: [{select: {kind: ConfigMap, name: b}, fieldPaths: [data], options: {create: true}}]\n",
			"o/a.yaml": cm("a") + "---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
		}},
		{name: "two replacing generators", dir: "o", remarked: true, files: map[string]string{
			"b/kustomization.yaml": "configMapGenerator: [{name: g, literals: [a=b]}]\n",
			"m/kustomization.yaml": "resources: [../b]\nconfigMapGenerator: [{name: g, behavior: replace, literals: [c=d]}]\n",
			"o/kustomization.yaml": "resources: [../m]\nconfigMapGenerator: [{name: g, behavior: replace, literals: [e=f]}]\n",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, _ := filepath.Abs(".")
			if c.files != nil {
				root = t.TempDir()
				for name, content := range c.files {
					p := filepath.Join(root, name)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			top := absDir(filepath.Join(root, c.dir))
			root = absDir(root)
			marked := buildKustomization(kustRequest{Root: root, Top: top, Dir: c.dir})
			exact := buildKustomization(kustRequest{Root: root, Top: top, Dir: c.dir, Origins: true})
			if marked.Err != "" || exact.Err != "" || len(marked.Refused) > 0 {
				t.Fatalf("build: %q / %q %v", marked.Err, exact.Err, marked.Refused)
			}
			if marked.Remarked != c.remarked {
				t.Errorf("built again with origins: %v, want %v", marked.Remarked, c.remarked)
			}
			if len(marked.Objects) != len(exact.Objects) || len(exact.Objects) == 0 {
				t.Fatalf("%d objects, kustomize's origins %d", len(marked.Objects), len(exact.Objects))
			}
			for i, m := range marked.Objects {
				e := exact.Objects[i]
				if string(m.YAML) != string(e.YAML) {
					t.Errorf("object %d:\n%s\nwith kustomize's origins:\n%s", i, m.YAML, e.YAML)
				}
				if m.File != e.File || m.Written != e.Written {
					t.Errorf("%s %s: from %s (written %v), kustomize's origin %s (%v)", m.Kind, m.Name, m.File, m.Written, e.File, e.Written)
				}
				if e.File == "" {
					t.Errorf("%s %s: no origin", e.Kind, e.Name)
				}
			}
		})
	}
}
