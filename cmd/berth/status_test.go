package main

import (
	"strings"
	"testing"

	"berth.dev/berth/reconciler"
)

// berth status lists a StatefulSet's ordinals on the node with their
// state, readiness and revision, and says which run an old one.
func TestPrintOrdinals(t *testing.T) {
	var b strings.Builder
	printOrdinals(&b, reconciler.WorkloadStatus{Kind: "StatefulSet", Namespace: "default", Name: "db", Revision: "r2", Ordinals: []reconciler.OrdinalStatus{
		{Ordinal: 0, Pod: "db-0", State: "Running", Ready: true, Revision: "r1"},
		{Ordinal: 1, Pod: "db-1", State: "Running", Ready: true, Revision: "r2", Current: true},
		{Ordinal: 2, Pod: "db-2", State: "Missing"},
	}})
	want := `
StatefulSet/default/db ordinals (revision r2):
  db-0  Running  ready  r1 (old)
  db-1  Running  ready  r2 (current)
  db-2  Missing  -      -
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printOrdinals(&b, reconciler.WorkloadStatus{Kind: "Deployment", Name: "web"})
	if b.Len() != 0 {
		t.Errorf("a workload without ordinals printed %q", b.String())
	}
}
