package schedule

import (
	"math"
	"testing"

	"berth.dev/berth/compiler/expand"
	"berth.dev/berth/compiler/plan"
)

// TestFitsHugeRequest: "1e31" cpu or memory is the largest int64 once
// parsed; on a node that already holds a pod it must not wrap around and
// fit.
func TestFitsHugeRequest(t *testing.T) {
	n := &node{Node: plan.Node{Name: "a", Capacity: plan.Resources{MilliCPU: 2000, Memory: 4 << 30, Pods: 20}}}
	n.take(&expand.Pod{Requests: plan.Resources{MilliCPU: 100, Memory: 64 << 20, Pods: 1}})
	for _, r := range []plan.Resources{
		{MilliCPU: math.MaxInt64, Pods: 1},
		{Memory: math.MaxInt64, Pods: 1},
		{Pods: math.MaxInt64},
	} {
		if n.fits(&expand.Pod{Requests: r}) == "" {
			t.Errorf("%+v fits a node of %+v holding %+v", r, n.Capacity, n.used)
		}
	}
	if why := n.fits(&expand.Pod{Requests: plan.Resources{MilliCPU: 1900, Memory: 4<<30 - 64<<20, Pods: 19}}); why != "" {
		t.Errorf("what is exactly free does not fit: %s", why)
	}
}
