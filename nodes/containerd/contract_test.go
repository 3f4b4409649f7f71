package containerd

import (
	"testing"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/containerd/contract"
)

// TestContract runs the runtime contract nodes/fake also passes.
func TestContract(t *testing.T) {
	rt := newRuntime(t)
	t.Cleanup(func() { rt.Close() })
	contract.Test(t, rt, contract.Options{Pod: func(name string) *plan.Pod {
		p := testPod(name, container("app", "sleep", "3600"))
		p.Spec.TerminationGracePeriodSeconds = 1
		return p
	}})
}
