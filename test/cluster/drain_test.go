package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/nodes"
)

// guardYAML is a Deployment of two pods, slow to become ready, under a
// PodDisruptionBudget that wants both ready at all times.
const guardYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: guard
spec:
  replicas: 2
  selector:
    matchLabels: {app: guard}
  template:
    metadata:
      labels: {app: guard}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: guard
          image: %s
          command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']
          readinessProbe:
            exec: {command: ["true"]}
            initialDelaySeconds: %d
            periodSeconds: 1
          resources:
            requests: {cpu: 10m, memory: 8Mi}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: guard
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: guard}
`

// guardPods are the ready guard pods of every node, by node.
func guardPods(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, n := range nodeNames {
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Pods {
			if p.Owner.Name == "guard" && p.Phase == nodes.PhaseRunning && p.Ready {
				out[n] = append(out[n], p.Name)
			}
		}
	}
	return out
}

func total(m map[string][]string) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// testDrainBudget: berth node drain on a node that runs one of two guard
// pods under minAvailable 2. Every node plans the node unschedulable, the
// pod's replacement starts on another node, and the drained node keeps
// its pod until the replacement is ready: never fewer than two ready
// guard pods, and three for a while. berth node uncordon brings the
// node back into the schedule, again without going under the budget.
func testDrainBudget(t *testing.T) {
	image := webImage(t)
	head, _ := commit(t, "guard", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "guard.yaml"), fmt.Appendf(nil, guardYAML, image, 3), 0o644)
	})
	waitConverged(t, head, 2*time.Minute)
	for _, n := range nodeNames {
		waitGossipWhole(t, n, 30*time.Second)
	}
	var drained string
	t.Cleanup(func() {
		if drained != "" {
			berthOn(t, "n1", "node", "uncordon", drained)
		}
		head, _ := commit(t, "no guard", func(dir string) error { return os.Remove(filepath.Join(dir, "guard.yaml")) })
		waitConverged(t, head, time.Minute)
	})
	before := guardPods(t)
	if total(before) != 2 {
		t.Fatalf("guard pods before the drain: %v, want 2", before)
	}
	for _, n := range nodeNames {
		if len(before[n]) == 1 {
			drained = n
			break
		}
	}
	if drained == "" {
		t.Fatalf("no node runs exactly one guard pod: %v", before)
	}

	// The drain is taken by another node's daemon and spreads by gossip.
	other := nodeNames[0]
	if other == drained {
		other = nodeNames[1]
	}
	t.Logf("draining %s through %s: %s", drained, other, strings.TrimSpace(berthOn(t, other, "node", "drain", drained)))
	start := time.Now()
	watch := func(what string, done func(map[string][]string) bool) (minReady, maxReady int, sawHold bool) {
		minReady, maxReady = 99, 0
		deadline := time.Now().Add(90 * time.Second)
		last := -1
		for {
			now := guardPods(t)
			if total(now) != last {
				t.Logf("%s +%v: %v", what, time.Since(start).Round(10*time.Millisecond), now)
				last = total(now)
			}
			minReady, maxReady = min(minReady, total(now)), max(maxReady, total(now))
			if s, err := status(context.Background(), drained); err == nil && len(s.Held) > 0 {
				sawHold = true
			}
			if done(now) {
				t.Logf("%s after %v: ready guard pods between %d and %d; pods %v", what, time.Since(start).Round(100*time.Millisecond), minReady, maxReady, now)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not done in 90 s: guard pods %v", what, now)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	minReady, maxReady, sawHold := watch("drain", func(now map[string][]string) bool {
		if len(now[drained]) != 0 || total(now) != 2 {
			return false
		}
		for _, n := range nodeNames {
			s, err := status(context.Background(), n)
			if err != nil || !slices.Equal(s.GitOps.Drained, []string{drained}) {
				return false
			}
		}
		return true
	})
	if minReady < 2 {
		t.Errorf("drain: %d ready guard pods at one point; the budget wants 2", minReady)
	}
	if maxReady < 3 || !sawHold {
		t.Errorf("drain: at most %d ready guard pods, hold seen %v: the drained node did not keep its pod until the replacement was ready", maxReady, sawHold)
	}
	out := berthOn(t, drained, "status")
	if !strings.Contains(out, "drained:   "+drained) {
		t.Errorf("berth status on %s does not say it is drained:\n%s", drained, out)
	}

	// Uncordon: the schedule is the commit's again.
	t.Logf("uncordon: %s", strings.TrimSpace(berthOn(t, drained, "node", "uncordon", drained)))
	start = time.Now()
	minReady, _, _ = watch("uncordon", func(now map[string][]string) bool {
		if !slices.Equal(now[drained], before[drained]) || total(now) != 2 {
			return false
		}
		for _, n := range nodeNames {
			s, err := status(context.Background(), n)
			if err != nil || len(s.GitOps.Drained) != 0 || !s.converged(head) {
				return false
			}
		}
		return true
	})
	drained = ""
	if minReady < 2 {
		t.Errorf("uncordon: %d ready guard pods at one point; the budget wants 2", minReady)
	}
}

// testLeaveBudget: a commit removes from the inventory a node that runs
// one of the two guard pods, whose readiness takes longer than the
// leaving node's drain delay (10 s). After the delay the node keeps its
// pod until the replacement is ready on another node: never fewer than
// two ready. The node comes back with the next commit.
func testLeaveBudget(t *testing.T) {
	image := webImage(t)
	head, _ := commit(t, "slow guard", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "guard.yaml"), fmt.Appendf(nil, guardYAML, image, 14), 0o644)
	})
	waitConverged(t, head, 2*time.Minute)
	for _, n := range nodeNames {
		waitGossipWhole(t, n, 30*time.Second)
	}
	t.Cleanup(func() {
		head, _ := commit(t, "no guard", func(dir string) error { return os.Remove(filepath.Join(dir, "guard.yaml")) })
		waitConverged(t, head, time.Minute)
	})
	before := guardPods(t)
	leaving := ""
	for _, n := range nodeNames {
		if len(before[n]) == 1 {
			leaving = n
			break
		}
	}
	if total(before) != 2 || leaving == "" {
		t.Fatalf("guard pods before: %v", before)
	}
	nodesFile := filepath.Join(base, "work", "nodes.yaml")
	orig, err := os.ReadFile(nodesFile)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, doc := range strings.Split(string(orig), "\n---\n") {
		if !strings.Contains(doc, "name: "+leaving+"\n") {
			kept = append(kept, doc)
		}
	}
	if len(kept) != 2 {
		t.Fatalf("cannot remove %s from the inventory:\n%s", leaving, orig)
	}
	_, start := commit(t, leaving+" leaves", func(string) error {
		return os.WriteFile(nodesFile, []byte(strings.Join(kept, "\n---\n")+"\n"), 0o644)
	})
	t.Cleanup(func() {
		head, start := commit(t, leaving+" returns", func(string) error { return os.WriteFile(nodesFile, orig, 0o644) })
		waitConverged(t, head, 2*time.Minute)
		t.Logf("%s returned, all converged after %v", leaving, time.Since(start).Round(100*time.Millisecond))
	})
	minReady, maxReady, sawHold, last := 99, 0, false, -1
	deadline := time.Now().Add(90 * time.Second)
	for {
		now := guardPods(t)
		if total(now) != last {
			t.Logf("+%v: %v", time.Since(start).Round(10*time.Millisecond), now)
			last = total(now)
		}
		minReady, maxReady = min(minReady, total(now)), max(maxReady, total(now))
		if s, err := status(context.Background(), leaving); err == nil && len(s.Held) > 0 {
			sawHold = true
		}
		if len(now[leaving]) == 0 && total(now) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still runs its guard pod 90 s after leaving: %v", leaving, now)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s left: its guard pod went after %v; ready guard pods between %d and %d", leaving, time.Since(start).Round(100*time.Millisecond), minReady, maxReady)
	if minReady < 2 {
		t.Errorf("%d ready guard pods at one point; the budget wants 2", minReady)
	}
	if maxReady < 3 || !sawHold {
		t.Errorf("at most %d ready guard pods, hold seen %v: the leaving node did not keep its pod past its drain delay until the replacement was ready", maxReady, sawHold)
	}
}
