package cluster_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"berth.dev/berth/nodes"
)

// policyYAML: client pods (one per node) that may call the web pods on
// their http port and nothing else; the web pods take only the clients.
const policyYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: client
spec:
  replicas: 3
  selector:
    matchLabels: {app: client}
  template:
    metadata:
      labels: {app: client}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: client
          image: %s
          command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']
          resources:
            requests: {cpu: 10m, memory: 8Mi}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-from-clients
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
      ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: clients-to-web
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 8080}]
`

// testNetworkPolicy: NetworkPolicies across the three nodes. A client
// pod reaches web pods on every node, by pod IP and through the Service
// (whose other nodes' share goes through their transit ports), since the
// node of each web pod learned the client's address from its node and
// checks both the web pod's ingress and the client's egress; a web pod
// (not a client) is refused everywhere, and so is the client anywhere
// else. Removing the policies opens everything again.
func testNetworkPolicy(t *testing.T) {
	image := webImage(t)
	head, _ := commit(t, "client and policies", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "policy.yaml"), fmt.Appendf(nil, policyYAML, image), 0o644)
	})
	waitConverged(t, head, 2*time.Minute)
	t.Cleanup(func() {
		head, _ := commit(t, "no client, no policies", func(dir string) error { return os.Remove(filepath.Join(dir, "policy.yaml")) })
		waitConverged(t, head, time.Minute)
	})

	webs := map[string][]nodes.PodStatus{} // by node
	clients := map[string]*http.Client{}
	for _, n := range nodeNames {
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		webs[n] = s.webPods()
		for _, p := range s.Pods {
			if p.Owner.Name == "client" && p.Phase == nodes.PhaseRunning && clients[n] == nil {
				sum := sha256.Sum256([]byte("berth-" + n + "\x00" + p.Key()))
				clients[n] = inNetns(filepath.Join(runDir, n, "netns", "berth-"+hex.EncodeToString(sum[:6])))
			}
		}
	}
	from := "n1"
	if clients[from] == nil {
		for n, c := range clients {
			if c != nil {
				from = n
				break
			}
		}
	}
	client := clients[from]
	if client == nil {
		t.Fatal("no client pod running")
	}
	// The nodes learn the client pods' addresses through their exchange;
	// give it a few intervals, then every web pod must answer the client.
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range nodeNames {
		for _, w := range webs[n] {
			u := "http://" + w.IP + ":8080/"
			for {
				_, err := get(client, u)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("client on %s to web pod %s on %s (%s): %v", from, w.Name, n, u, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	t.Logf("the client on %s reaches every web pod by its address", from)
	got, errs := sample(client, url, 60)
	if len(errs) > 0 {
		t.Errorf("client on %s through the Service: %d of 60 failed: %v", from, len(errs), errs[0])
	}
	wantAllPods(t, "the client through the Service", got)

	// A web pod is no client: refused by the other web pods, wherever
	// they run (its own address it always reaches: that traffic never
	// leaves the pod, as in Kubernetes).
	if len(webs[from]) == 0 {
		t.Fatalf("no web pod on %s", from)
	}
	self := webs[from][0]
	sum := sha256.Sum256([]byte("berth-" + from + "\x00" + self.Key()))
	webClient := inNetns(filepath.Join(runDir, from, "netns", "berth-"+hex.EncodeToString(sum[:6])))
	for _, n := range nodeNames {
		for _, w := range webs[n] {
			if w.Key() == self.Key() {
				continue
			}
			if body, err := get(webClient, "http://"+w.IP+":8080/"); err == nil {
				t.Errorf("a web pod on %s reached web pod %s on %s: %q", from, w.Name, n, body)
			}
		}
	}
	// The client may send to web pods on 8080 only: not to another
	// node's address (its own node's node port is DNATed to a web pod
	// here first, which the policy allows, as with kube-proxy).
	for i, n := range nodeNames {
		if n == from {
			continue
		}
		u := fmt.Sprintf("http://192.168.77.1%d:30777/", i+1)
		if body, err := get(client, u); err == nil {
			t.Errorf("the client on %s reached the node port of %s: %q", from, n, body)
		}
	}
}
