package daemon

import (
	"reflect"
	"testing"

	"berth.dev/berth/nodes/gossip"
	"berth.dev/berth/reconciler"
)

// A StatefulSet's ordinals go on the wire with its rollout and come back
// the same; a word whose ordinals cannot be read counts as no word.
func TestWorkloadOrdinalsGossip(t *testing.T) {
	in := map[string]reconciler.PeerWorkload{"StatefulSet/default/db": {Revision: "r", Done: true, Available: true,
		Ordinals: []reconciler.PeerOrdinal{{Ordinal: 0, Ready: true, Available: true, Current: true}, {Ordinal: 2}}}}
	out := toGossip(in)
	got, ok := workloadFromGossip(out["StatefulSet/default/db"])
	if !ok || !reflect.DeepEqual(got, in["StatefulSet/default/db"]) {
		t.Fatalf("round trip: %+v, %v", got, ok)
	}
	if _, ok := workloadFromGossip(gossip.Workload{Revision: "r", Ordinals: "\x00\x09"}); ok {
		t.Fatal("malformed ordinals read")
	}
}
