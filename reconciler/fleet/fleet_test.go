package fleet

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	healthy := func(revs ...string) Facts { return Facts{Healthy: revs} }
	failed := func(f Facts, rev, reason string, attempt int) Facts {
		f.MarkFailed(Failure{Revision: rev, Reason: reason, Attempt: attempt, Object: "Deployment/default/web"})
		return f
	}
	for _, tt := range []struct {
		name string
		in   Input
		want string
		why  string
	}{
		{"head", Input{Head: "r3", Applied: "r2", AutoRevert: true, Nodes: nodes,
			View: View{"n1": healthy("r2", "r1"), "n2": healthy("r2", "r1"), "n3": healthy("r2", "r1")}}, "r3", WhyHead},
		{"failed on one node: all go back", Input{Head: "r3", Applied: "r3", AutoRevert: true, Nodes: nodes,
			View: View{"n1": healthy("r2", "r1"), "n2": failed(healthy("r2", "r1"), "r3", "deadline", 0), "n3": healthy("r2", "r1")}}, "r2", WhyReverted},
		{"last healthy everywhere, not on one node", Input{Head: "r3", AutoRevert: true, Nodes: nodes,
			View: View{"n1": failed(healthy("r2", "r1"), "r3", "x", 0), "n2": healthy("r2", "r1"), "n3": healthy("r1")}}, "r1", WhyReverted},
		{"a node that never told does not count", Input{Head: "r3", AutoRevert: true, Nodes: nodes,
			View: View{"n1": failed(healthy("r2"), "r3", "x", 0), "n2": healthy("r2")}}, "r2", WhyReverted},
		{"a node outside the inventory does not count", Input{Head: "r3", AutoRevert: true, Nodes: []string{"n1"},
			View: View{"n1": failed(healthy("r2"), "r3", "x", 0), "n9": healthy("r1")}}, "r2", WhyReverted},
		{"re-healthy moves to the front", Input{Head: "r3", AutoRevert: true, Nodes: nodes[:2],
			View: View{"n1": failed(healthy("r1", "r2"), "r3", "x", 0), "n2": healthy("r1", "r2")}}, "r1", WhyReverted},
		{"nothing healthy: stay", Input{Head: "r1", Applied: "r1", AutoRevert: true, Nodes: nodes,
			View: View{"n1": failed(Facts{}, "r1", "x", 0)}}, "r1", WhyFailed},
		{"auto-revert off", Input{Head: "r3", Applied: "r3", Nodes: nodes,
			View: View{"n1": failed(healthy("r2"), "r3", "x", 0)}}, "r3", WhyFailed},
		{"retried: the old failure is stale", Input{Head: "r3", Applied: "r2", AutoRevert: true, Nodes: nodes,
			View: View{"n1": failed(healthy("r2"), "r3", "x", 0), "n2": {Healthy: []string{"r2"}, Retries: []Retry{{"r3", 1}}}}}, "r3", WhyHead},
		{"failed again after the retry", Input{Head: "r3", Applied: "r3", AutoRevert: true, Nodes: nodes,
			View: View{"n1": failed(healthy("r2"), "r3", "y", 1), "n2": {Healthy: []string{"r2"}, Retries: []Retry{{"r3", 1}}}}}, "r2", WhyReverted},
		{"a failed revision is no revert target", Input{Head: "r3", AutoRevert: true, Nodes: nodes[:1],
			View: View{"n1": failed(failed(healthy("r2", "r1"), "r2", "x", 0), "r3", "y", 0)}}, "r1", WhyReverted},
		{"pinned wins", Input{Head: "r3", Applied: "r3", Pin: "r1", AutoRevert: true, Nodes: nodes,
			View: View{"n1": failed(healthy("r2"), "r3", "x", 0)}}, "r1", WhyPinned},
		{"suspended keeps the applied one", Input{Head: "r4", Applied: "r3", Suspended: true, AutoRevert: true, Nodes: nodes,
			View: View{"n1": failed(healthy("r2"), "r4", "x", 0)}}, "r3", WhySuspended},
		{"suspended before anything ran", Input{Head: "r4", Suspended: true}, "", WhySuspended},
	} {
		d := Decide(tt.in)
		if d.Target != tt.want || d.Why != tt.why {
			t.Errorf("%s: %+v, want %s (%s)", tt.name, d, tt.want, tt.why)
		}
	}
}

func TestFailureIsTheSameOnEveryNode(t *testing.T) {
	v := View{}
	for _, n := range []string{"n3", "n1", "n2"} {
		var f Facts
		f.MarkFailed(Failure{Revision: "r", Reason: "on " + n})
		v[n] = f
		got, ok := v.Failure("r")
		if !ok || got.Node != "n1" && n != "n3" {
			t.Fatalf("after %s: %+v", n, got)
		}
	}
	if got, _ := v.Failure("r"); got.Node != "n1" || got.Reason != "on n1" {
		t.Fatalf("failure %+v, want n1's", got)
	}
}

func TestControlNewest(t *testing.T) {
	v := View{"n1": {Control: Control{Version: 2, Origin: "n1", Suspended: true}}, "n2": {Control: Control{Version: 2, Origin: "n2", Pin: "r1"}}, "n3": {Control: Control{Version: 1, Origin: "n3"}}}
	if c := v.Control(); c.Origin != "n2" || c.Pin != "r1" {
		t.Fatalf("control %+v, want n2's", c)
	}
}

func TestEncodeBounded(t *testing.T) {
	var f Facts
	for i := range 20 {
		rev := strings.Repeat(string(rune('a'+i)), 40)
		f.MarkHealthy(rev)
		f.MarkFailed(Failure{Revision: rev + "x", Reason: strings.Repeat("r", 1000), Object: "Deployment/default/web"})
		f.SetRetry(rev, i)
	}
	if len(f.Healthy) != MaxHealthy || len(f.Failed) != MaxFailed || len(f.Retries) != MaxRetries || len(f.Failed[0].Reason) != MaxReason {
		t.Fatalf("bounds: %d healthy, %d failed, %d retries, reason %d", len(f.Healthy), len(f.Failed), len(f.Retries), len(f.Failed[0].Reason))
	}
	b := f.Encode()
	if len(b) > MaxBytes {
		t.Fatalf("encoded %d bytes, more than %d", len(b), MaxBytes)
	}
	g, ok := Decode(b)
	if !ok || len(g.Healthy) == 0 || len(g.Failed) == 0 || g.Healthy[0] != f.Healthy[0] || g.Failed[0] != f.Failed[0] {
		t.Fatalf("decoded %+v", g)
	}
	if _, ok := Decode(append(b, make([]byte, MaxBytes)...)); ok {
		t.Fatal("an oversized message decoded")
	}
	if _, ok := Decode([]byte("{")); ok {
		t.Fatal("garbage decoded")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Facts{Healthy: []string{"a"}, Failed: []Failure{{Revision: "b", Reason: "c"}}}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		x, ok := Decode(b)
		if ok && (len(x.Healthy) > MaxHealthy || len(x.Failed) > MaxFailed || len(x.Retries) > MaxRetries) {
			t.Fatalf("unbounded: %+v", x)
		}
	})
}
