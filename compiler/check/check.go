// Package check runs the semantic checks that a schema cannot express:
// cross-object references, selectors, ports, names, and admission.
package check

import (
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// Options tune the checks.
type Options struct{}

// Run checks every object of one revision and returns the findings.
func Run(set *object.Set, opts Options) []diag.Diagnostic {
	return nil
}
