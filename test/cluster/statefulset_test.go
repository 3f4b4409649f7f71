package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"berth.dev/berth/nodes"
)

// statefulYAML is a StatefulSet of three ordinals, one per node (required
// anti-affinity on the host name), under the headless Service db, and a
// Deployment of two pods that share the hostname leader with the
// headless Service grp as subdomain, and an Indexed Job of two pods with
// the headless Service workers as subdomain.
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
---
apiVersion: v1
kind: Service
metadata: {name: workers}
spec:
  clusterIP: None
  selector: {app: train}
  ports: [{name: tcp, port: 7000}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: train}
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  template:
    metadata: {labels: {app: train}}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      subdomain: workers
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
// Deployment that set hostname and subdomain, and train-0.workers and
// train-1.workers each Job pod's address (the Job runs on one node; the
// others learn its pods by gossip), as in Kubernetes.
func testStatefulDNS(t *testing.T) {
	image := webImage(t)
	var err error // the lookups below
	head, _ := commit(t, "a StatefulSet over three nodes", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "stateful.yaml"), fmt.Appendf(nil, statefulYAML, image), 0o644)
	})
	t.Cleanup(func() {
		head, _ := commit(t, "no StatefulSet", func(dir string) error { return os.Remove(filepath.Join(dir, "stateful.yaml")) })
		waitConverged(t, head, time.Minute)
	})
	// A running Job keeps its node from converging: wait for the pods.
	var ordinals, hosts, workers map[string]string // pod -> address, pod -> node, train-<index> -> address
	var leaders []string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		ordinals, hosts, workers, leaders = map[string]string{}, map[string]string{}, map[string]string{}, nil
		applied := 0
		for _, n := range nodeNames {
			st, err := status(context.Background(), n)
			if err != nil {
				continue
			}
			if st.GitOps.Applied == head {
				applied++
			}
			for _, p := range st.Pods {
				if p.Phase != nodes.PhaseRunning || !p.Ready || p.IP == "" {
					continue
				}
				switch p.Owner.Name {
				case "db":
					ordinals[p.Name], hosts[p.Name] = p.IP, n
				case "grp":
					leaders = append(leaders, p.IP)
				case "train":
					workers["train-"+p.Labels["batch.kubernetes.io/job-completion-index"]] = p.IP
				}
			}
		}
		if applied == len(nodeNames) && len(ordinals) == 3 && len(leaders) == 2 && workers["train-0"] != "" && workers["train-1"] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ordinals %v, grp pods %v and Job pods %v, want 3, 2 and 2 running and ready", ordinals, leaders, workers)
		}
	}
	readyAt := time.Now()
	slices.Sort(leaders)
	if hosts["db-0"] == hosts["db-1"] || hosts["db-1"] == hosts["db-2"] || hosts["db-0"] == hosts["db-2"] {
		t.Fatalf("ordinals on %v, want one per node (anti-affinity)", hosts)
	}
	for i, n := range nodeNames {
		ns := podNetns(t, n)
		server := fmt.Sprintf("10.77.%d.1:53", i+1) // the node's pod bridge
		names := map[string]string{}
		for pod, ip := range ordinals {
			names[pod+".db.default.svc.cluster.local."] = ip
		}
		for host, ip := range workers {
			names[host+".workers.default.svc.cluster.local."] = ip
		}
		for name, ip := range names {
			var got []string
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				got, err = lookup(ns, server, name, dns.TypeA)
				if err == nil && slices.Equal(got, []string{ip}) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("from a pod on %s: %s is %v (%v), want %s (ordinals on %v)", n, name, got, err, ip, hosts)
				}
			}
		}
		t.Logf("from a pod on %s, %v after every pod was ready: the %d pod names resolve", n, time.Since(readyAt).Round(time.Millisecond), len(names))
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
