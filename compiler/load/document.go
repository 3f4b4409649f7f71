// Package load reads manifests (YAML, JSON, CUE) from files, directories
// or stdin into documents that keep the source position of every value.
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
}
