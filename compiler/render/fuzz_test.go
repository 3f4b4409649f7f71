package render

import (
	"errors"
	"testing"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/load"
)

// FuzzKustomizationCheck: whatever a kustomization file holds, the check
// berth makes before kustomize reads it never panics.
func FuzzKustomizationCheck(f *testing.F) {
	f.Add([]byte("resources:\n  - ../base\n  - https://example.com/x.yaml\n"))
	f.Add([]byte("configMapGenerator:\n  - name: c\n    files: [a=b.txt, github.com/x/y]\n    env: x.env\n"))
	f.Add([]byte("patches:\n  - path: p.yaml\nhelmCharts: []\nopenapi: {path: git@host:x}\n"))
	f.Add([]byte("buildMetadata: originAnnotations\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandboxFS("/nonexistent", "/nonexistent/app", func(p string) string { return p })
		_, _ = s.kustomization("/nonexistent/app/kustomization.yaml", data)
	})
}

// FuzzMarkResources: whatever a resource file holds, marking it never
// panics, and what it hands kustomize is the file itself or YAML.
func FuzzMarkResources(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: List\nitems: [{metadata: {name: b}}]\n"))
	f.Add([]byte("a: &x {metadata: *x}\n"))
	f.Add([]byte("{\"metadata\": {\"annotations\": null}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandboxFS("/nonexistent", "/nonexistent/app", func(p string) string { return p })
		_ = s.markResources("/nonexistent/app/r.yaml", data)
	})
}

// FuzzRelease: a HelmRelease document of any shape is read without a
// panic.
func FuzzRelease(f *testing.F) {
	f.Add([]byte("apiVersion: berth.dev/v1\nkind: HelmRelease\nmetadata: {name: a}\nspec: {chart: {path: x}, valuesFiles: [a], values: {a: 1}}\n"))
	f.Add([]byte("apiVersion: berth.dev/v1\nkind: HelmRelease\nmetadata: {name: a, namespace: b}\nspec: {chart: {repository: oci://r/c, name: c, version: 1, digest: sha256:00}}\n"))
	f.Add([]byte("apiVersion: berth.dev/v1\nkind: HelmRelease\nmetadata: []\nspec: {chart: 3}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := load.ParseYAML("r.yaml", data, budget.Limits{})
		for i := range docs {
			if isRelease(docs[i].Node) {
				parseRelease(&docs[i])
				RemoteChart(&docs[i])
			}
		}
	})
}

// FuzzTemplateError: Helm's error text of any form is placed without a
// panic.
func FuzzTemplateError(f *testing.F) {
	f.Add("execution error at (c/templates/a.yaml:17:20): set x")
	f.Add("parse error at (c/templates/a.yaml:3): unexpected }")
	f.Add("c/templates/a.yaml:17:77\n  executing \"c/templates/a.yaml\" at <.Values.x>:\n    nil pointer")
	f.Add("template: :0:0\n")
	f.Fuzz(func(t *testing.T, msg string) {
		r := New(Options{})
		r.templateError(errors.New(msg), chartJob{fallback: "Chart.yaml", dir: "c"})
	})
}
