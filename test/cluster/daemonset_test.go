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
)

// agentYAML is a DaemonSet of one pod per node that rolls one node at a
// time.
const agentYAML = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  minReadySeconds: 1
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1}
  template:
    metadata:
      labels: {app: agent}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: agent
          image: %s
          env:
            - {name: VERSION, value: a1}
          command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']
          readinessProbe:
            exec: {command: ["true"]}
            periodSeconds: 1
          resources:
            requests: {cpu: 10m, memory: 8Mi}
`

// testDaemonSetTurns: a DaemonSet rolling update with maxUnavailable 1
// goes node by node on feedback: each node replaces its pod once the nodes
// before it (by name) run the new revision available, so the update takes
// a few pod starts, not turns of 15 s, and never more than one node is
// without a ready agent.
func testDaemonSetTurns(t *testing.T) {
	image := webImage(t)
	write := func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "agent.yaml"), fmt.Appendf(nil, agentYAML, image), 0o644)
	}
	head, _ := commit(t, "agent a1", write)
	waitConverged(t, head, 2*time.Minute)
	// Every node has every other's state again (the scenario before cut
	// n2 off): each row of each node's view is alive and converged, so
	// the turns below are taken on what the nodes tell, not by time.
	for _, n := range nodeNames {
		waitGossipWhole(t, n, 30*time.Second)
	}
	t.Cleanup(func() {
		head, _ := commit(t, "no agent", func(dir string) error { return os.Remove(filepath.Join(dir, "agent.yaml")) })
		waitConverged(t, head, time.Minute)
	})

	head, start := commit(t, "agent a2", replaceIn("agent.yaml", "value: a1", "value: a2"))
	maxDown, deadline := 0, time.Now().Add(90*time.Second)
	byTime := map[string]string{} // node -> its message while it waited for its turn by time
	for {
		down, done := 0, 0
		for _, n := range nodeNames {
			s, err := status(context.Background(), n)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range s.Rec.Workloads {
				if w.Kind == "DaemonSet" && w.Name == "agent" && strings.Contains(w.Message, "no word from") {
					byTime[n] = w.Message
				}
			}
			ready := false
			for _, p := range s.Pods {
				if p.Owner.Name == "agent" && p.Ready {
					ready = true
				}
			}
			if !ready {
				down++
			}
			if s.converged(head) {
				done++
			}
		}
		maxDown = max(maxDown, down)
		if done == len(nodeNames) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the DaemonSet update did not finish in 90 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("DaemonSet rolled on %d nodes in %v; at most %d node(s) without a ready agent at once", len(nodeNames), took.Round(100*time.Millisecond), maxDown)
	if maxDown > 1 {
		t.Errorf("%d nodes were without a ready agent at once; maxUnavailable is 1", maxDown)
	}
	// By time alone the third node would wait two turns of 16 s; on
	// feedback no node ever waits for a time (which a loaded machine
	// would blur).
	for n, msg := range byTime {
		t.Errorf("%s took its turn by time, not on the others' progress: %q", n, msg)
	}
}

// waitGossipWhole waits until `berth status --cluster` on node shows
// every node of the inventory alive and converged.
func waitGossipWhole(t *testing.T, node string, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		out := berthOn(t, node, "status", "--cluster")
		whole := 0
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) >= 6 && slices.Contains(nodeNames, f[0]) && f[1] == "alive" && f[len(f)-1] == "yes" {
				whole++
			}
		}
		if whole == len(nodeNames) {
			t.Logf("%s sees every node alive and converged after %v", node, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(start) > timeout {
			t.Fatalf("berth status --cluster on %s, %v on: not every node alive and converged:\n%s", node, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
