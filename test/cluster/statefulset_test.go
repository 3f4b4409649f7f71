package cluster_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// statefulYAML is a StatefulSet of three ordinals, one per node (required
// anti-affinity on the host name), under the headless Service db, and a
// Deployment of two pods that share the hostname leader with the
// headless Service grp as subdomain.
const statefulYAML = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp, port: 7000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: db}}
              topologyKey: kubernetes.io/hostname
      containers:
        - name: c
          image: %[1]s
          command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']
          resources:
            requests: {cpu: 10m, memory: 8Mi}
---
apiVersion: v1
kind: Service
metadata: {name: grp}
spec:
  clusterIP: None
  selector: {app: grp}
  ports: [{name: tcp, port: 7000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grp}
spec:
  replicas: 2
  selector: {matchLabels: {app: grp}}
  template:
    metadata: {labels: {app: grp}}
    spec:
      terminationGracePeriodSeconds: 1
      hostname: leader
      subdomain: grp
      containers:
        - name: c
          image: %[1]s
          command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']
          resources:
            requests: {cpu: 10m, memory: 8Mi}
`

// testStatefulDNS: every node's cluster DNS answers each ordinal's name
// <pod>.db.default.svc.cluster.local with its address, wherever it runs
// (the other nodes tell their ready pods by gossip, and the plan gives
// their host names), and leader.grp with the addresses of both pods of a
// Deployment that set hostname and subdomain, as in Kubernetes.
func testStatefulDNS(t *testing.T) {
	web, err := os.ReadFile(filepath.Join(base, "work", "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`image: (\S+)`).FindSubmatch(web)
	if m == nil {
		t.Fatal("no image in web.yaml")
	}
	head, _ := commit(t, "a StatefulSet over three nodes", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "stateful.yaml"), fmt.Appendf(nil, statefulYAML, m[1]), 0o644)
	})
	t.Cleanup(func() {
		head, _ := commit(t, "no StatefulSet", func(dir string) error { return os.Remove(filepath.Join(dir, "stateful.yaml")) })
		waitConverged(t, head, time.Minute)
	})
	sts := waitConverged(t, head, 2*time.Minute)
	ordinals := map[string]string{} // pod -> address
	hosts := map[string]string{}    // pod -> node
	var leaders []string
	for _, n := range nodeNames {
		for _, p := range sts[n].Pods {
			switch p.Owner.Name {
			case "db":
				ordinals[p.Name], hosts[p.Name] = p.IP, n
			case "grp":
				leaders = append(leaders, p.IP)
			}
		}
	}
	slices.Sort(leaders)
	if len(ordinals) != 3 || len(leaders) != 2 {
		t.Fatalf("ordinals %v and grp pods %v, want 3 and 2", ordinals, leaders)
	}
	if hosts["db-0"] == hosts["db-1"] || hosts["db-1"] == hosts["db-2"] || hosts["db-0"] == hosts["db-2"] {
		t.Fatalf("ordinals on %v, want one per node (anti-affinity)", hosts)
	}
	for i, n := range nodeNames {
		ns := podNetns(t, n)
		server := fmt.Sprintf("10.77.%d.1:53", i+1) // the node's pod bridge
		for pod, ip := range ordinals {
			name := pod + ".db.default.svc.cluster.local."
			var got []string
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				got, err = lookup(ns, server, name, dns.TypeA)
				if err == nil && slices.Equal(got, []string{ip}) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("from a pod on %s: %s (on %s) is %v (%v), want %s", n, name, hosts[pod], got, err, ip)
				}
			}
		}
		var got []string
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			got, err = lookup(ns, server, "leader.grp.default.svc.cluster.local.", dns.TypeA)
			if err == nil && slices.Equal(got, leaders) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("from a pod on %s: leader.grp is %v (%v), want %v", n, got, err, leaders)
			}
		}
	}
}
