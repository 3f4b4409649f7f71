package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/load"
)

// Overlay1000 writes the overlay of BenchmarkKustomize1000 (for the
// package's external tests).
var Overlay1000 = overlay1000

// BenchmarkKustomize1000Markers is the worker's build of that overlay,
// in this process: kustomize with berth's markers, and the objects
// written out with their sources.
func BenchmarkKustomize1000Markers(b *testing.B) { benchBuild(b, false) }

// BenchmarkKustomize1000Origins is the same build with kustomize's
// origin annotations instead of the markers.
func BenchmarkKustomize1000Origins(b *testing.B) { benchBuild(b, true) }

func benchBuild(b *testing.B, origins bool) {
	dir := overlay1000(b)
	req := kustRequest{Root: absDir(dir), Top: absDir(filepath.Join(dir, "prod")), Dir: "prod", Origins: origins}
	b.ReportAllocs()
	for b.Loop() {
		resp := buildKustomization(req)
		if len(resp.Objects) != 1000 || resp.Err != "" || resp.Remarked {
			b.Fatalf("%d objects, %q, built again: %v", len(resp.Objects), resp.Err, resp.Remarked)
		}
	}
}

// overlay1000 writes a base of 500 Deployments and 500 Services in 50
// files, and an overlay of it (prod) with a namespace, a name prefix,
// labels, an image, replicas and a JSON patch on every Deployment.
func overlay1000(b testing.TB) string {
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

func write(b testing.TB, file, content string) {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRenderScaffoldWarm renders the scaffold chart in a worker
// already running: the render itself, without the worker's start.
func BenchmarkRenderScaffoldWarm(b *testing.B) {
	r := New(Options{Root: "testdata"})
	rt := load.Root{Dir: "testdata/hello", Top: "testdata"}
	w := newWorker(context.Background(), budget.Limits{}, r.readable([]load.Root{rt}, nil))
	defer w.close()
	b.ReportAllocs()
	for b.Loop() {
		res := r.chartDir(rt, w)
		if len(res.docs) != 3 || len(res.diags) > 0 {
			b.Fatalf("%d docs, %v", len(res.docs), res.diags)
		}
	}
}

// BenchmarkWorkerStart starts a render worker and has it answer one
// request (a chart of one ConfigMap): what a lint run with a chart or a
// kustomization pays once.
func BenchmarkWorkerStart(b *testing.B) {
	dir := b.TempDir()
	write(b, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: c\nversion: 0.1.0\n")
	write(b, filepath.Join(dir, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
	for b.Loop() {
		w := newWorker(context.Background(), budget.Limits{}, []string{dir})
		resp, err := w.run(request{Chart: &chartRequest{Dir: dir}})
		w.close()
		if err != nil || len(resp.Chart.Files) != 1 {
			b.Fatalf("%v %+v", err, resp.Chart)
		}
	}
}
