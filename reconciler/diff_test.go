package reconciler

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

func running(p plan.Pod) nodes.PodStatus {
	return nodes.PodStatus{Namespace: p.Namespace, Name: p.Name, Owner: p.Owner, Revision: p.Revision, Hash: p.Hash,
		ConfigHash: p.ConfigHash, IP: "10.88.0.9", Phase: nodes.PhaseRunning, Ready: true, ReadySince: t0.Add(-time1h)}
}

const time1h = 3600 * 1e9

func obsOf(pods ...plan.Pod) nodes.NodeState {
	var s nodes.NodeState
	for _, p := range pods {
		s.Pods = append(s.Pods, running(p))
	}
	return s
}

// summary renders actions as "kind key" lines.
func summary(as []Action) string {
	var b []string
	for _, a := range as {
		b = append(b, a.Kind.String()+" "+a.Key)
	}
	return strings.Join(b, "\n")
}

func TestDiff(t *testing.T) {
	bare := mkPod("Pod", "solo", "a", 0)
	bare.Name = "solo"
	bareChanged := bare
	bareChanged.Hash = "h-new"
	bareConfig := bare
	bareConfig.ConfigHash = "c2"
	web := mkDeploy("Deployment", "web", "a", 2, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
	webB := mkDeploy("Deployment", "web", "b", 2, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
	re := mkDeploy("Deployment", "re", "b", 2, plan.Strategy{Type: "Recreate"})
	reOld := mkDeploy("Deployment", "re", "a", 2, plan.Strategy{Type: "Recreate"})
	complete := func(key, rev string) State {
		return State{Now: t0, Rollouts: map[string]Rollout{key: {Revision: rev, Phase: PhaseComplete, Available: 2, Active: rev}}}
	}
	foreign := nodes.PodStatus{Namespace: "default", Name: "not-ours", Phase: nodes.PhaseRunning}
	dead := running(bare)
	dead.Phase = nodes.PhaseFailed
	orphan := running(mkPod("Deployment", "gone", "a", 0))

	tests := []struct {
		name     string
		desired  []deploy
		bare     []plan.Pod
		observed nodes.NodeState
		state    State
		want     string
	}{
		{name: "unchanged bare pod", bare: []plan.Pod{bare}, observed: obsOf(bare)},
		{name: "missing pod is created", bare: []plan.Pod{bare}, want: "create default/solo"},
		{name: "config only is updated in place", bare: []plan.Pod{bareConfig}, observed: obsOf(bare), want: "update-config default/solo"},
		{name: "changed bare pod is replaced", bare: []plan.Pod{bareChanged}, observed: obsOf(bare), want: "remove default/solo\ncreate default/solo"},
		{name: "dead pod is re-created", bare: []plan.Pod{bare}, observed: nodes.NodeState{Pods: []nodes.PodStatus{dead}}, want: "remove default/solo\ncreate default/solo"},
		{name: "foreign pod is never touched", observed: nodes.NodeState{Pods: []nodes.PodStatus{foreign}}},
		{name: "orphan is pruned", observed: nodes.NodeState{Pods: []nodes.PodStatus{orphan}}, want: "remove default/gone-a-0"},
		{name: "unchanged deployment", desired: []deploy{web}, observed: obsOf(web.pods...), state: complete(web.w.Key(), "a")},
		{name: "rolling update starts with one surge pod", desired: []deploy{webB}, observed: obsOf(web.pods...), state: complete(web.w.Key(), "a"),
			want: "record rollouts/Deployment/default/web\ncreate default/web-b-0"},
		{name: "recreate removes the old first", desired: []deploy{re}, observed: obsOf(reOld.pods...), state: complete(re.w.Key(), "a"),
			want: "record rollouts/Deployment/default/re\nremove default/re-a-0\nremove default/re-a-1"},
		{name: "workload left the plan", observed: obsOf(web.pods...), state: complete(web.w.Key(), "a"),
			want: "record rollouts/Deployment/default/web\nremove default/web-a-0\nremove default/web-a-1"},
		{name: "first deploy creates all", desired: []deploy{web},
			want: "record rollouts/Deployment/default/web\ncreate default/web-a-0\ncreate default/web-a-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mkPlan("r1", tc.desired)
			p.Nodes[0].Pods = append(p.Nodes[0].Pods, tc.bare...)
			st := tc.state
			st.Now = t0
			got := summary(Diff(DesiredFor(p, "n1"), tc.observed, st))
			if got != tc.want {
				t.Fatalf("Diff:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestDiffDeterministic shuffles the inputs: the actions stay the same.
func TestDiffDeterministic(t *testing.T) {
	var ds []deploy
	var old []plan.Pod
	st := State{Now: t0, Rollouts: map[string]Rollout{}}
	for i := range 10 {
		name := fmt.Sprintf("w%d", i)
		ds = append(ds, mkDeploy("Deployment", name, "b", 3, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1}))
		old = append(old, mkDeploy("Deployment", name, "a", 3, plan.Strategy{}).pods...)
		st.Rollouts["Deployment/default/"+name] = Rollout{Revision: "a", Phase: PhaseComplete}
	}
	p := mkPlan("r", ds)
	first := Diff(DesiredFor(p, "n1"), obsOf(old...), st)
	if len(first) != 20 {
		t.Fatalf("got %d actions, want 20:\n%s", len(first), summary(first))
	}
	// Pods point into the plan, which is shuffled below: compare encodings.
	want, _ := json.Marshal(first)
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(old), func(i, j int) { old[i], old[j] = old[j], old[i] })
		pods := p.Nodes[0].Pods
		r.Shuffle(len(pods), func(i, j int) { pods[i], pods[j] = pods[j], pods[i] })
		got, _ := json.Marshal(Diff(DesiredFor(p, "n1"), obsOf(old...), st))
		if string(got) != string(want) {
			t.Fatalf("shuffled input changed the actions:\n%s\nwant\n%s", got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := DefaultJobBackoff
	for n, want := range map[int]string{1: "10s", 2: "20s", 3: "40s", 6: "5m20s", 7: "6m0s", 30: "6m0s"} {
		if got := b.After(n).String(); got != want {
			t.Errorf("After(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestCanaryPods(t *testing.T) {
	for _, tc := range []struct {
		w    int32
		n, k int
	}{{0, 4, 0}, {20, 4, 1}, {25, 4, 1}, {26, 4, 2}, {50, 4, 2}, {100, 4, 4}, {1, 10, 1}, {20, 1, 1}} {
		if got := canaryPods(tc.w, tc.n); got != tc.k {
			t.Errorf("canaryPods(%d, %d) = %d, want %d", tc.w, tc.n, got, tc.k)
		}
	}
}

func TestDiffDeadPodOfController(t *testing.T) {
	for _, s := range []string{"", "RollingUpdate", "Recreate"} {
		d := mkDeploy("ReplicaSet", "rs", "a", 2, plan.Strategy{Type: s, MaxSurge: 1})
		obs := obsOf(d.pods...)
		obs.Pods[1].Phase = nodes.PhaseFailed
		st := State{Now: t0, Rollouts: map[string]Rollout{d.w.Key(): {Revision: "a", Phase: PhaseComplete, Available: 1, Active: "a"}}}
		got := summary(Diff(DesiredFor(mkPlan("r", []deploy{d}), "n1"), obs, st))
		if want := "remove default/rs-a-1\ncreate default/rs-a-1"; got != want {
			t.Errorf("strategy %q:\n%s\nwant\n%s", s, got, want)
		}
	}
}
