// Package fieldpath reads the downward API's field paths, as
// k8s.io/kubernetes/pkg/fieldpath does: for lint and expansion
// (compiler/validate, compiler/expand) and for the node's resolution of
// a pod's fields (compiler/plan).
package fieldpath

import "strings"

// SplitSubscript is fieldpath.SplitMaybeSubscriptedPath:
// "metadata.labels['k']" is "metadata.labels" and "k".
func SplitSubscript(fieldPath string) (string, string, bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return fieldPath, "", false
	}
	parts := strings.SplitN(strings.TrimSuffix(fieldPath, "']"), "['", 2)
	if len(parts) < 2 || parts[0] == "" {
		return fieldPath, "", false
	}
	return parts[0], parts[1], true
}
