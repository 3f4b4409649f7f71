package reconciler

import (
	"encoding/json"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
)

func TestSummarize(t *testing.T) {
	web := mkDeploy("Deployment", "web", "a", 3, plan.Strategy{Type: "RollingUpdate"})
	solo := mkPod("Pod", "solo", "a", 0)
	p := mkPlan("r1", []deploy{web})
	p.Nodes[0].Pods = append(p.Nodes[0].Pods, solo)
	obs := obsOf(web.pods[0], web.pods[1], solo)
	obs.Pods[1].Ready = false
	st := State{Rollouts: map[string]Rollout{web.w.Key(): {Revision: "a", Phase: PhaseProgressing}}}
	s := Summarize(DesiredFor(p, "n1"), obs, st, t0)
	if len(s.Workloads) != 2 {
		t.Fatalf("workloads %+v", s.Workloads)
	}
	w := s.Workloads[0]
	if w.Name != "web" || w.Ready != 1 || w.Total != 3 || w.Phase != PhaseProgressing {
		t.Fatalf("web = %+v", w)
	}
	if b := s.Workloads[1]; b.Kind != "Pod" || b.Ready != 1 || b.Total != 1 {
		t.Fatalf("bare pod = %+v", b)
	}
	raw, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(raw), `"ready":1,"total":3`) {
		t.Fatalf("json %s %v", raw, err)
	}
}

// A StatefulSet's status lists its ordinals on this node: each one's
// state, readiness and revision, old or current, and those not running.
func TestSummarizeOrdinals(t *testing.T) {
	set := mkSet("b", 3, ordered)
	p := mkPlan("r1", []deploy{set})
	old := set.pods[2]
	old.Hash, old.Revision = "h-a-web-2", "a"
	obs := obsOf(set.pods[0], old)
	obs.Pods[1].Ready = false
	s := Summarize(DesiredFor(p, "n1"), obs, State{}, t0)
	got, _ := json.Marshal(s.Workloads[0].Ordinals)
	want := `[{"ordinal":0,"pod":"web-0","state":"Running","ready":true,"revision":"b","current":true},` +
		`{"ordinal":1,"pod":"web-1","state":"Missing","ready":false,"current":false},` +
		`{"ordinal":2,"pod":"web-2","state":"Running","ready":false,"revision":"a","current":false}]`
	if string(got) != want {
		t.Errorf("ordinals\n%s\nwant\n%s", got, want)
	}
}
