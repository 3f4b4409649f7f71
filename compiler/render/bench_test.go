package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/render"
)

// BenchmarkRenderScaffold renders the chart `helm create` makes, with its
// values.yaml (target: under 50 ms).
func BenchmarkRenderScaffold(b *testing.B) {
	r := render.New(render.Options{Root: "testdata"})
	roots := []load.Root{{Dir: "testdata/hello", Top: "testdata"}}
	b.ReportAllocs()
	for b.Loop() {
		out := r.RenderSources(roots, nil)
		if len(out.Docs) != 3 || len(out.Diags) > 0 {
			b.Fatalf("%d docs, %v", len(out.Docs), out.Diags)
		}
	}
}

// BenchmarkKustomize1000 builds an overlay of 1,000 objects: a base of
// 500 Deployments and 500 Services in 50 files, an overlay with a
// namespace, a name prefix, labels, an image, replicas and a patch
// (target: under 1 s).
func BenchmarkKustomize1000(b *testing.B) {
	dir := overlay1000(b)
	r := render.New(render.Options{Root: dir})
	roots := []load.Root{{Dir: filepath.Join(dir, "prod"), Top: dir}}
	b.ReportAllocs()
	for b.Loop() {
		out := r.RenderSources(roots, nil)
		if len(out.Docs) != 1000 || len(out.Diags) > 0 {
			b.Fatalf("%d docs, %v", len(out.Docs), out.Diags)
		}
	}
}

// BenchmarkKustomize1000Upstream builds the same overlay with kustomize
// alone (krusty on the disk, no sandbox, no origins, no parsing into
// documents): the share of the time that is kustomize's own.
func BenchmarkKustomize1000Upstream(b *testing.B) {
	dir := overlay1000(b)
	b.ReportAllocs()
	for b.Loop() {
		m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(dir, "prod"))
		if err != nil || m.Size() != 1000 {
			b.Fatal(err)
		}
	}
}

// overlay1000 writes the overlay of BenchmarkKustomize1000.
func overlay1000(b *testing.B) string {
	dir := b.TempDir()
	var res []string
	for f := range 50 {
		var sb strings.Builder
		for i := range 10 {
			n := fmt.Sprintf("app-%02d-%d", f, i)
			fmt.Fprintf(&sb, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: %s}\n  template:\n    metadata:\n      labels: {app: %s}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/app:1.0\n          ports: [{containerPort: 8080}]\n", n, n, n)
			fmt.Fprintf(&sb, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  selector: {app: %s}\n  ports: [{port: 80, targetPort: 8080}]\n", n, n)
		}
		name := fmt.Sprintf("apps-%02d.yaml", f)
		res = append(res, "  - "+name)
		write(b, filepath.Join(dir, "base", name), sb.String())
	}
	write(b, filepath.Join(dir, "base", "kustomization.yaml"), "resources:\n"+strings.Join(res, "\n")+"\n")
	write(b, filepath.Join(dir, "prod", "kustomization.yaml"), `namespace: prod
namePrefix: prod-
labels:
  - pairs: {env: prod}
resources: [../base]
images:
  - name: registry.example.com/app
    newTag: "1.1"
replicas:
  - name: app-00-0
    count: 3
patches:
  - target: {kind: Deployment}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/env
        value: [{name: ENV, value: prod}]
`)
	return dir
}

func write(b *testing.B, file, content string) {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}
