package contract_test

import (
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/containerd/contract"
	"berth.dev/berth/nodes/fake"
)

// TestFake holds the reconciler's fake runtime to the contract the real
// driver passes (nodes/containerd's TestContract).
func TestFake(t *testing.T) {
	rt := fake.New(fake.NewClock(time.Unix(1700000000, 0)))
	contract.Test(t, rt, contract.Options{Pod: func(name string) *plan.Pod {
		return &plan.Pod{
			Namespace: "default", Name: name, Hash: "h-" + name,
			Spec: plan.PodSpec{Containers: []plan.Container{{Name: "app", Image: "example/app:1"}}, RestartPolicy: "Always"},
		}
	}})
}
