package load

import (
	"os"
	"path/filepath"

	"berth.dev/berth/compiler/diag"
)

// Renderer builds the directories that are rendered as a whole rather
// than read file by file (kustomizations, Helm charts) and the objects
// that name another source (berth.dev/v1 HelmRelease). The load package
// declares it and compiler/render implements it, so load stays free of
// kustomize and Helm.
type Renderer interface {
	// Root reports whether dir is rendered as a whole; the walk then
	// reads none of its files and does not descend into it.
	Root(dir string) bool
	// Render builds roots (each found under the path argument Top) and
	// the HelmRelease objects among docs, and returns the documents they
	// render, to be added to docs, and the files among docs that a render
	// read as its input (a HelmRelease's values files), to be dropped
	// from them. Findings are diagnostics.
	Render(roots []Root, docs []Document) (rendered []Document, consumed []string, diags []diag.Diagnostic)
}

// Root is a directory the walk left to the Renderer.
type Root struct {
	// Dir is the directory as displayed (like Document.File).
	Dir string
	// Top is the path argument the walk found Dir under.
	Top string
}

// HasFile reports whether dir holds a regular file (or a link to one)
// with one of names: a cheap test for Renderer.Root implementations.
func HasFile(dir string, names ...string) bool {
	for _, n := range names {
		if info, err := os.Stat(filepath.Join(dir, n)); err == nil && info.Mode().IsRegular() {
			return true
		}
	}
	return false
}
