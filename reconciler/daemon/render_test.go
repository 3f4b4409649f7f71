package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"berth.dev/berth/compiler/render"
	"berth.dev/berth/reconciler/source"
)

// TestCompileRendersReleases: a revision with a kustomize overlay and a
// HelmRelease naming a chart in a Helm repository compiles on the daemon,
// which fetches the chart once into <state>/charts.
func TestCompileRendersReleases(t *testing.T) {
	archive := helloArchive(t)
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.yaml":
			fmt.Fprintf(w, "entries:\n  hello:\n    - version: 0.1.0\n      urls: [hello.tgz]\n")
		case "/hello.tgz":
			fetches++
			w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	files := map[string]string{
		"apps/hello.yaml":              fmt.Sprintf("apiVersion: berth.dev/v1\nkind: HelmRelease\nmetadata: {name: hello}\nspec:\n  chart: {repository: %s, name: hello, version: 0.1.0, digest: %s}\n", srv.URL, render.Digest(archive)),
		"kust/base/kustomization.yaml": "resources: [cm.yaml]\n",
		"kust/base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
		"kust/prod/kustomization.yaml": "namePrefix: prod-\nresources: [../base]\n",
	}
	for name, content := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state := t.TempDir()
	comp, err := NewCompiler(&Config{Node: "n1", StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	p, diags := comp.Compile(context.Background(), source.Revision{ID: "r1", Dir: dir})
	if p == nil {
		t.Fatalf("no plan: %v", diags)
	}
	if len(diags) > 0 {
		t.Errorf("findings: %v", diags)
	}
	if len(p.Workloads) != 1 || p.Workloads[0].Name != "hello" {
		t.Errorf("workloads %+v", p.Workloads)
	}
	if _, err := os.Stat(filepath.Join(state, "charts", strings.Replace(render.Digest(archive), ":", "-", 1)+".tgz")); err != nil {
		t.Errorf("the chart is not in <state>/charts: %v", err)
	}
	p2, _ := comp.Compile(context.Background(), source.Revision{ID: "r1", Dir: dir})
	if p2 == nil || fetches != 1 {
		t.Errorf("second compile: plan %v, %d fetches (want 1)", p2 != nil, fetches)
	}
}

// helloArchive packages a one-Deployment chart, hello 0.1.0.
func helloArchive(t *testing.T) []byte {
	t.Helper()
	chartDir := t.TempDir()
	for name, content := range map[string]string{
		"Chart.yaml":         "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
		"values.yaml":        "image: example.com/hello:1\n",
		"templates/web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: {{ .Release.Name }}}\nspec:\n  selector: {matchLabels: {app: hello}}\n  template:\n    metadata: {labels: {app: hello}}\n    spec: {containers: [{name: web, image: {{ .Values.image }}}]}\n",
	} {
		os.MkdirAll(filepath.Join(chartDir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(chartDir, name), []byte(content), 0o644)
	}
	c, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := chartutil.Save(c, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := os.ReadFile(tgz)
	return archive
}
