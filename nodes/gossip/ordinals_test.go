package gossip

import (
	"reflect"
	"testing"
)

// A StatefulSet's ordinals ride on its workload entry, in deltas and
// snapshots; an entry without them reads as before.
func TestWireOrdinals(t *testing.T) {
	ws := []workloadEntry{
		{key: "StatefulSet/default/db", w: Workload{Revision: "r", Done: true, Ordinals: "\x00\x07\x02\x01"}},
		{key: "Deployment/default/web", w: Workload{Revision: "r", Available: true}},
		{key: "x", gone: true},
	}
	d := &delta{header: header{owner: "n1", epoch: 1, version: 2}, workloads: ws}
	got, err := decodeDelta(encodeDelta(d))
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("delta round trip: %+v, %v", got, err)
	}
	s := &snapshot{header: d.header, workloads: ws[:2]}
	gs, err := decodeSnapshot(encodeSnapshot(s))
	if err != nil || !reflect.DeepEqual(gs, s) {
		t.Fatalf("snapshot round trip: %+v, %v", gs, err)
	}
	// A word whose ordinals claim more than the message holds is refused.
	b := encodeDelta(&delta{header: d.header, workloads: ws[:1]})
	if _, err := decodeDelta(b[:len(b)-2]); err == nil {
		t.Fatal("a truncated delta with ordinals was read")
	}
}
