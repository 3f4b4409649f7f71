// Package load reads manifests (YAML, JSON, CUE) from files, directories
// or stdin into documents that keep the source position of every value.
//
// A directory is walked in path order; hidden entries (.git), files that
// are not .yaml, .yml, .json or .cue, and paths matched by a .berthignore
// (gitignore syntax, in the directory or any parent within the walk) are
// skipped. YAML streams are cut at "---" and each document parsed on its
// own, so a syntax error costs one document. The .cue files of a
// directory form one CUE package whose top-level "objects" field, a list
// or a struct, holds the objects.
package load

import "gopkg.in/yaml.v3"

// Document is one object as written: a YAML mapping node whose every
// descendant carries its line and column. JSON is read as YAML; CUE
// objects are converted to the same tree with their CUE positions.
type Document struct {
	// File is the path as the user named it (or relative to the directory
	// given), "-" for stdin.
	File string
	// Index is the document's position within its file, from 0.
	Index int
	// Node is the object's mapping node.
	Node *yaml.Node
	// Origin says what rendered the document ("kustomize overlays/dev",
	// "chart charts/web", "HelmRelease web/site (apps/site.yaml)"); "" for
	// a document read as written.
	Origin string
	// Files names the file of nodes written in another file than File:
	// in a kustomize build, the values a patch set. Usually nil.
	Files map[*yaml.Node]string
}

// FileOf is the file node was written in.
func (d *Document) FileOf(n *yaml.Node) string {
	if f, ok := d.Files[n]; ok {
		return f
	}
	return d.File
}
