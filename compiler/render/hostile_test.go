package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/render"
)

// writeTree writes files (path: content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dataV is data.v of a rendered ConfigMap.
func dataV(d load.Document) string {
	n := d.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "data" {
			return n.Content[i+1].Content[1].Value
		}
	}
	return ""
}

const chartYAML = "apiVersion: v2\nname: evil\nversion: 0.1.0\n"

func renderDir(t *testing.T, dir string, limits budget.Limits) ([]load.Document, []diag.Diagnostic) {
	t.Helper()
	r := render.New(render.Options{Root: dir, Budget: limits})
	var roots []load.Root
	if r.Root(dir) {
		roots = append(roots, load.Root{Dir: dir, Top: dir})
	}
	docs, _, diags := r.Render(roots, nil)
	return docs, diags
}

func wantError(t *testing.T, diags []diag.Diagnostic, rule, substr string) {
	t.Helper()
	for _, d := range diags {
		if d.Rule == rule && strings.Contains(d.Message, substr) {
			return
		}
	}
	t.Fatalf("want a %s finding containing %q, got %v", rule, substr, diags)
}

// TestHostileTemplates: templates cannot read outside their chart, and a
// template that loops or makes too much output is stopped with a clear
// error within its budget.
func TestHostileTemplates(t *testing.T) {
	cm := func(body string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  v: |\n    " + body + "\n"
	}
	t.Run("files outside the chart read as empty", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":          chartYAML,
			"templates/read.yaml": cm(`{{ .Files.Get "/etc/passwd" }}{{ .Files.Get "../../../../../etc/passwd" }}x`),
		})
		docs, diags := renderDir(t, dir, budget.Limits{})
		if len(diags) > 0 || len(docs) != 1 {
			t.Fatalf("docs %d, diags %v", len(docs), diags)
		}
		v := dataV(docs[0])
		if strings.Contains(v, "root:") || strings.TrimSpace(v) != "x" {
			t.Fatalf("template read %q", v)
		}
	})
	t.Run("a link out of the chart is refused", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": cm(`{{ .Files.Get "passwd" }}`)})
		if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
			t.Fatal(err)
		}
		_, diags := renderDir(t, dir, budget.Limits{})
		wantError(t, diags, render.RuleHelm, "a chart may not link outside its directory")
	})
	t.Run("environment and DNS are not reachable", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":        chartYAML,
			"templates/cm.yaml": cm(`[{{ getHostByName "localhost" }}]`),
		})
		docs, diags := renderDir(t, dir, budget.Limits{})
		if len(diags) > 0 || !strings.Contains(dataV(docs[0]), "[]") {
			t.Fatalf("diags %v docs %v", diags, docs)
		}
		dir = writeTree(t, map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": cm(`{{ env "HOME" }}`)})
		_, diags = renderDir(t, dir, budget.Limits{})
		wantError(t, diags, render.RuleHelm, `function "env" not defined`)
	})
	t.Run("an endless loop is stopped at the time budget", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":        chartYAML,
			"templates/cm.yaml": cm(`{{ range until 1000000 }}{{ range until 1000000 }}{{ range until 1000000 }}{{ add 1 1 }}{{ end }}{{ end }}{{ end }}`),
		})
		_, diags := renderDir(t, dir, budget.Limits{EvalTime: 300 * time.Millisecond})
		wantError(t, diags, budget.Rule, "budget exceeded (evaluation time)")
	})
	// A range over values calls no function: only the worker's deadline
	// stops it.
	t.Run("a loop over values is stopped at the time budget", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":        chartYAML,
			"values.yaml":       "big: [" + strings.Repeat("0,", 9999) + "0]\n",
			"templates/cm.yaml": cm(`{{ range .Values.big }}{{ range $.Values.big }}{{ range $.Values.big }}{{ end }}{{ end }}{{ end }}`),
		})
		_, diags := renderDir(t, dir, budget.Limits{EvalTime: 300 * time.Millisecond})
		wantError(t, diags, budget.Rule, "budget exceeded (evaluation time): ")
		wantError(t, diags, budget.Rule, "(raise it with --max-eval-time)")
	})
	t.Run("a gigabyte of output is refused", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":        chartYAML,
			"templates/cm.yaml": cm(`{{ range until 1024 }}{{ repeat 1048576 "x" }}{{ end }}`),
		})
		_, diags := renderDir(t, dir, budget.Limits{RenderBytes: 16 << 20})
		wantError(t, diags, budget.Rule, "budget exceeded (render output)")
	})
	// Ranging over values writes a gigabyte with no function call: the
	// worker's memory cap stops it.
	t.Run("a gigabyte of output from values is stopped at the memory budget", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":        chartYAML,
			"values.yaml":       "big: [" + strings.Repeat("0,", 9999) + "0]\ns: " + strings.Repeat("x", 10000) + "\n",
			"templates/cm.yaml": cm(`{{ range .Values.big }}{{ range $.Values.big }}{{ $.Values.s }}{{ end }}{{ end }}`),
		})
		_, diags := renderDir(t, dir, budget.Limits{EvalMemory: 256 << 20, EvalTime: time.Minute})
		wantError(t, diags, budget.Rule, "budget exceeded (evaluation memory)")
	})
	t.Run("a huge list is refused", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": cm(`{{ len (until 1000000000) }}`)})
		_, diags := renderDir(t, dir, budget.Limits{})
		wantError(t, diags, budget.Rule, "budget exceeded (render output)")
	})
	t.Run("too many objects", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":        chartYAML,
			"templates/cm.yaml": "{{ range until 50 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ . }}\n{{ end }}",
		})
		_, diags := renderDir(t, dir, budget.Limits{RenderObjects: 10})
		wantError(t, diags, budget.Rule, "budget exceeded (rendered objects)")
	})
	t.Run("schema references are not loaded", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"Chart.yaml":         chartYAML,
			"values.schema.json": `{"$ref": "file:///etc/passwd"}`,
			"templates/cm.yaml":  cm("x"),
		})
		_, diags := renderDir(t, dir, budget.Limits{})
		wantError(t, diags, render.RuleHelm, "berth does not load schema references")
	})
}

// TestHostileKustomizations: no file outside the repository, no remote
// base, no helm program, no plugin.
func TestHostileKustomizations(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		rule  string
		want  string
	}{
		{"remote git base", map[string]string{"app/kustomization.yaml": "resources:\n  - github.com/example/app//base?ref=v1\n"},
			render.RuleRemote, `resource "github.com/example/app//base?ref=v1" is remote`},
		{"remote file", map[string]string{"app/kustomization.yaml": "resources:\n  - https://example.com/deploy.yaml\n"},
			render.RuleRemote, "vendor it into the repository"},
		{"ssh base", map[string]string{"app/kustomization.yaml": "components:\n  - git@github.com:example/app.git\n"},
			render.RuleRemote, "is remote"},
		{"helm charts", map[string]string{"app/kustomization.yaml": "helmCharts:\n  - name: web\n"},
			render.RuleKustomize, "render the chart with a berth.dev/v1 HelmRelease"},
		{"outside the repository", map[string]string{"app/kustomization.yaml": "resources:\n  - ../../outside\n"},
			render.RuleKustomize, "outside the repository"},
		{"file outside the kustomization", map[string]string{
			"app/kustomization.yaml": "resources:\n  - ../secret.yaml\n",
			"secret.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"},
			render.RuleKustomize, "security; file"},
		{"exec plugin", map[string]string{
			"app/kustomization.yaml": "generators:\n  - gen.yaml\n",
			"app/gen.yaml":           "apiVersion: example.com/v1\nkind: Exec\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n"},
			render.RuleKustomize, "kustomize build"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeTree(t, c.files)
			r := render.New(render.Options{Root: root})
			app := filepath.Join(root, "app")
			docs, _, diags := r.Render([]load.Root{{Dir: app, Top: root}}, nil)
			if len(docs) != 0 {
				t.Errorf("rendered %d documents", len(docs))
			}
			wantError(t, diags, c.rule, c.want)
		})
	}
	t.Run("too many objects", func(t *testing.T) {
		var b strings.Builder
		for i := range 20 {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n", i)
		}
		root := writeTree(t, map[string]string{"app/kustomization.yaml": "resources: [cms.yaml]\n", "app/cms.yaml": b.String()})
		r := render.New(render.Options{Root: root, Budget: budget.Limits{RenderObjects: 10}})
		_, _, diags := r.Render([]load.Root{{Dir: filepath.Join(root, "app"), Top: root}}, nil)
		wantError(t, diags, budget.Rule, "budget exceeded (rendered objects): 20, over the limit of 10")
	})
	t.Run("a build past its time", func(t *testing.T) {
		dir := render.Overlay1000(t)
		r := render.New(render.Options{Root: dir, Budget: budget.Limits{EvalTime: 100 * time.Millisecond}})
		_, _, diags := r.Render([]load.Root{{Dir: filepath.Join(dir, "prod"), Top: dir}}, nil)
		wantError(t, diags, budget.Rule, "budget exceeded (evaluation time)")
	})
	t.Run("a link out of the repository", func(t *testing.T) {
		root := writeTree(t, map[string]string{"app/kustomization.yaml": "resources:\n  - passwd.yaml\n"})
		if err := os.Symlink("/etc/passwd", filepath.Join(root, "app", "passwd.yaml")); err != nil {
			t.Fatal(err)
		}
		r := render.New(render.Options{Root: root})
		_, _, diags := r.Render([]load.Root{{Dir: filepath.Join(root, "app"), Top: root}}, nil)
		wantError(t, diags, render.RuleKustomize, "outside the repository")
	})
}
