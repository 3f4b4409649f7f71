package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/nodes"
)

// orderYAML is an OrderedReady StatefulSet of three ordinals, one per
// node (required anti-affinity on the host name), whose pods turn ready
// about four seconds after they start.
const orderYAML = `apiVersion: v1
kind: Service
metadata: {name: ord}
spec:
  clusterIP: None
  selector: {app: ord}
  ports: [{name: tcp, port: 7000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ord}
spec:
  serviceName: ord
  replicas: %[2]d
  selector: {matchLabels: {app: ord}}
  template:
    metadata: {labels: {app: ord}}
    spec:
      terminationGracePeriodSeconds: 1
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: ord}}
              topologyKey: kubernetes.io/hostname
      containers:
        - name: c
          image: %[1]s
          env: [{name: VERSION, value: "%[3]s"}]
          command: [sh, -c, 'trap "exit 0" TERM; sleep 4; touch /tmp/ready; while true; do sleep 0.2; done']
          readinessProbe:
            exec: {command: [test, -f, /tmp/ready]}
            periodSeconds: 1
          resources:
            requests: {cpu: 10m, memory: 8Mi}
`

// ordPod is one ordinal as its node shows it.
type ordPod struct {
	node string
	pod  nodes.PodStatus
}

// ordPods are the ordinals of ord that run, by name, from every node.
func ordPods(t *testing.T) map[string]ordPod {
	out := map[string]ordPod{}
	for _, n := range nodeNames {
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Pods {
			if p.Owner.Name == "ord" && p.Owner.Kind == "StatefulSet" {
				out[p.Name] = ordPod{node: n, pod: p}
			}
		}
	}
	return out
}

// testStatefulOrder: a StatefulSet whose ordinals run on three nodes
// keeps OrderedReady across them: each node starts its ordinal only
// once the lower ordinals on the other nodes are ready (they tell it by
// gossip), a rolling update goes from the highest ordinal down, each
// once the one above is ready at the new revision, and a scale down
// removes the highest ordinal first and waits for it to be gone before
// the next.
func testStatefulOrder(t *testing.T) {
	image := webImage(t)
	for _, n := range nodeNames {
		waitGossipWhole(t, n, 30*time.Second)
	}
	write := func(replicas int, version string) func(dir string) error {
		return func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "ord.yaml"), fmt.Appendf(nil, orderYAML, image, replicas, version), 0o644)
		}
	}
	head, start := commit(t, "ord of three", write(3, "v1"))
	t.Cleanup(func() {
		head, _ := commit(t, "no ord", func(dir string) error { return os.Remove(filepath.Join(dir, "ord.yaml")) })
		waitConverged(t, head, time.Minute)
	})
	byTime := map[string]string{}
	var pods map[string]ordPod
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		pods = ordPods(t)
		done := 0
		for _, n := range nodeNames {
			s, err := status(context.Background(), n)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range s.Rec.Workloads {
				if w.Kind == "StatefulSet" && w.Name == "ord" && strings.Contains(w.Message, "no word from") {
					byTime[n] = w.Message
				}
			}
			if s.converged(head) {
				done++
			}
		}
		if done == len(nodeNames) && len(pods) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ord did not run 3 ready ordinals in 2 minutes: %v", pods)
		}
	}
	t.Logf("ord of three ready on every node after %v", time.Since(start).Round(100*time.Millisecond))
	for i := 1; i < 3; i++ {
		lo, hi := pods[fmt.Sprintf("ord-%d", i-1)], pods[fmt.Sprintf("ord-%d", i)]
		if lo.node == hi.node {
			t.Fatalf("ord-%d and ord-%d both on %s, want one per node", i-1, i, lo.node)
		}
		t.Logf("ord-%d on %s ready at %s; ord-%d on %s started at %s", i-1, lo.node, lo.pod.ReadySince.Format("15:04:05.000"),
			i, hi.node, hi.pod.StartedAt.Format("15:04:05.000"))
		if lo.pod.ReadySince.IsZero() || hi.pod.StartedAt.Before(lo.pod.ReadySince) {
			t.Errorf("ord-%d on %s started at %v, before ord-%d on %s was ready (%v)", i, hi.node, hi.pod.StartedAt, i-1, lo.node, lo.pod.ReadySince)
		}
	}
	// A node may see the commit before the others have told anything
	// of the new set: it then starts a turn by time, which their word
	// (within a second) replaces.
	for n, msg := range byTime {
		t.Logf("%s waited by time for a moment: %q", n, msg)
	}

	// A rolling update replaces ord-2, then ord-1 once ord-2 is ready at
	// the new revision, then ord-0, each on its own node.
	old := pods["ord-0"].pod.Revision
	head, start = commit(t, "ord v2", write(3, "v2"))
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		pods = ordPods(t)
		for i := 0; i < 2; i++ {
			lo, hi := pods[fmt.Sprintf("ord-%d", i)], pods[fmt.Sprintf("ord-%d", i+1)]
			if lo.pod.Revision != "" && lo.pod.Revision != old && (hi.pod.Revision == old || hi.pod.Revision == "") {
				t.Fatalf("ord-%d on %s runs the new revision while ord-%d on %s does not", i, lo.node, i+1, hi.node)
			}
		}
		done := 0
		for _, n := range nodeNames {
			if s, err := status(context.Background(), n); err == nil && s.converged(head) {
				done++
			}
		}
		if done == len(nodeNames) && len(pods) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ord did not roll to v2 in 2 minutes: %v", pods)
		}
	}
	t.Logf("ord rolled to v2 on every node after %v", time.Since(start).Round(100*time.Millisecond))
	for i := 0; i < 2; i++ {
		lo, hi := pods[fmt.Sprintf("ord-%d", i)], pods[fmt.Sprintf("ord-%d", i+1)]
		t.Logf("new ord-%d on %s ready at %s; new ord-%d on %s started at %s", i+1, hi.node, hi.pod.ReadySince.Format("15:04:05.000"),
			i, lo.node, lo.pod.StartedAt.Format("15:04:05.000"))
		if lo.pod.Revision == old || hi.pod.ReadySince.IsZero() || lo.pod.StartedAt.Before(hi.pod.ReadySince) {
			t.Errorf("new ord-%d on %s started at %v, before the new ord-%d on %s was ready (%v)", i, lo.node, lo.pod.StartedAt, i+1, hi.node, hi.pod.ReadySince)
		}
	}

	// Scale down to one: ord-2 goes, then ord-1; ord-1 stays ready while
	// ord-2 is still there.
	head, _ = commit(t, "ord of one", write(1, "v2"))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		pods = ordPods(t)
		if _, two := pods["ord-2"]; two {
			if p, one := pods["ord-1"]; !one || !p.pod.Ready {
				t.Fatalf("ord-1 on %s stops while ord-2 on %s is still there", p.node, pods["ord-2"].node)
			}
		}
		if len(pods) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ord did not scale down to one in a minute: %v", pods)
		}
	}
	waitConverged(t, head, time.Minute)
}
