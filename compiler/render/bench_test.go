package render_test

import (
	"path/filepath"
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
// (target: under 1 s), as lint does: in a worker process started for
// the render, and read back into documents placed on their lines.
func BenchmarkKustomize1000(b *testing.B) {
	dir := render.Overlay1000(b)
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
	dir := render.Overlay1000(b)
	b.ReportAllocs()
	for b.Loop() {
		m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(dir, "prod"))
		if err != nil || m.Size() != 1000 {
			b.Fatal(err)
		}
	}
}
