package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/nodes"
)

const url = "http://" + serviceIP + "/"

// TestCluster runs the scenarios in order on one cluster; each leaves it
// as it found it: six web pods, two per node, all three daemons running.
func TestCluster(t *testing.T) {
	need(t)
	head := strings.TrimSpace(mustOut(t, "git", "-C", filepath.Join(base, "repo.git"), "rev-parse", "main"))
	waitConverged(t, head, 2*time.Minute)

	t.Run("spread", testSpread)
	t.Run("headless dns", testHeadlessDNS)
	t.Run("stateful dns", testStatefulDNS)
	t.Run("statefulset order", testStatefulOrder)
	t.Run("impostor refused", testImpostor)
	t.Run("rolling change", testRollingChange)
	t.Run("node leaves", testNodeLeaves)
	t.Run("daemon stops", testDaemonStops)
	t.Run("node cut off", testNodeCutOff)
	t.Run("daemonset turns", testDaemonSetTurns)
	t.Run("network policy", testNetworkPolicy)
	t.Run("auto revert", testAutoRevert)
	t.Run("all nodes", testAllNodes)
	t.Run("drain held by a budget", testDrainBudget)
	t.Run("leave held by a budget", testLeaveBudget)
}

// testSpread: 6 replicas land 2 per node; every node computed the same
// plan; the ClusterIP answers from every node and from a pod on every
// node, spread over all six pods.
func testSpread(t *testing.T) {
	all := map[string]string{} // pod -> node
	hashes := map[string]bool{}
	for _, n := range nodeNames {
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		hashes[s.GitOps.PlanHash] = true
		pods := s.webPods()
		if len(pods) != 2 {
			t.Errorf("node %s runs %d web pods, want 2: %v", n, len(pods), podNames(pods))
		}
		for _, p := range pods {
			all[p.Name] = n
		}
	}
	if len(hashes) != 1 {
		t.Errorf("nodes disagree on the plan: hashes %v", hashes)
	}
	// berth status --cluster on one node shows all three alive, on one
	// plan, with their pods ready. The others' summaries come by gossip
	// (a pod count within 2 s of a change, convergence at once), so n1's
	// view follows theirs: wait for it, within a bound that a loaded
	// machine meets.
	var out string
	start := time.Now()
	for deadline := start.Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out = mustOut(t, os.Getenv("BERTH_BIN"), "status", "--cluster", "--api", filepath.Join(runDir, "n1", "berth.sock"))
		var bad []string
		rows := 0
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) == 6 && f[0] != "NODE" {
				rows++
				if f[1] != "alive" || f[4] != "2/2" || f[5] != "yes" {
					bad = append(bad, l)
				}
			}
		}
		if rows == 3 && len(bad) == 0 && !strings.Contains(out, "different plans") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("status --cluster, 30 s after convergence: %d rows, want 3 alive with 2/2 pods ready, converged, on one plan:\n%s", rows, out)
			break
		}
	}
	t.Logf("berth status --cluster, as wanted %v after every node converged:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if len(all) != 6 {
		t.Fatalf("%d web pods in the cluster, want 6: %v", len(all), all)
	}
	// NodePort on every node's address, from outside the nodes (the host
	// on the cluster bridge).
	for i, n := range nodeNames {
		u := fmt.Sprintf("http://192.168.77.1%d:30777/", i+1)
		got, errs := sample(&http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}, u, 60)
		t.Logf("node port of %s from the host: %v", n, got)
		if len(got) < 6 && localOnly(t) {
			t.Fatalf("node port of %s answers from %v only: services reach only the node's own pods; "+
				"reconciler.Desired must carry the node inventory", n, got)
		}
		if len(errs) > 0 || len(got) < 5 {
			t.Errorf("node port of %s (%s): %d distinct pods answered %v, %d failed (%v)", n, u, len(got), got, len(errs), errs)
		}
	}
	for _, n := range nodeNames {
		for _, from := range []struct {
			what string
			c    func() (map[string]int, []error)
		}{
			{"node " + n, func() (map[string]int, []error) { return sample(nodeClient(n), url, 90) }},
			{"a pod on " + n, func() (map[string]int, []error) { return sample(podClient(t, n), url, 90) }},
		} {
			got, errs := from.c()
			if len(errs) > 0 {
				t.Errorf("from %s: %d of 90 requests failed: %v", from.what, len(errs), errs[0])
			}
			perNode := map[string]int{}
			for pod, k := range got {
				if all[pod] == "" {
					t.Errorf("from %s: answer from unknown pod %s", from.what, pod)
				}
				perNode[all[pod]] += k
			}
			t.Logf("from %s: %d pods answered %v; per node %v", from.what, len(got), got, perNode)
			wantAllPods(t, from.what, got)
			// 30 expected per node; far off means weights are wrong.
			for node, k := range perNode {
				if k < 12 || k > 50 {
					t.Errorf("from %s: node %s got %d of 90 requests, want about 30", from.what, node, k)
				}
			}
		}
	}
}

// testRollingChange: a commit changing the pod template rolls on every
// node with no failed request; commit-to-serving is measured over three
// pushes (the p50 is logged).
func testRollingChange(t *testing.T) {
	p := probe(t, nodeNames...)
	var first, full []time.Duration
	old := "v1"
	for _, v := range []string{"v2", "v3", "v4"} {
		head, start := commit(t, "web "+v, replaceIn("web.yaml", "value: "+old, "value: "+v))
		old = v
		f, d := waitServing(t, head, v, start)
		first, full = append(first, f), append(full, d)
		t.Logf("%s: every node answers with %s %v after the push; rollout complete on all 3 nodes after %v",
			v, v, f.Round(time.Millisecond), d.Round(time.Millisecond))
	}
	p.done(t)
	t.Logf("commit-to-serving on 3 nodes, p50 of %d pushes: new version answering from every node %v, rollout complete everywhere %v",
		len(full), p50(first).Round(time.Millisecond), p50(full).Round(time.Millisecond))
	// Back to v1 for the next scenarios.
	head, start := commit(t, "web v1", replaceIn("web.yaml", "value: "+old, "value: v1"))
	waitServing(t, head, "v1", start)
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// waitServing waits until every node answers with version v (first)
// and then until every node runs head converged and answers with v only
// (full); both count from start.
func waitServing(t *testing.T, head, v string, start time.Time) (first, full time.Duration) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	clients := map[string]*http.Client{}
	for _, n := range nodeNames {
		clients[n] = nodeClient(n)
	}
	seen := map[string]bool{}
	for len(seen) < len(nodeNames) {
		for _, n := range nodeNames {
			if body, err := get(clients[n], url); !seen[n] && err == nil && strings.HasSuffix(body, " "+v) {
				seen[n] = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: only %v answer with it", v, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
	first = time.Since(start)
	waitConverged(t, head, 2*time.Minute)
	// The old pods leave the routes right after the rollout completes.
	for _, n := range nodeNames {
		for streak := 0; streak < 12; {
			body, err := get(clients[n], url)
			switch {
			case err == nil && strings.HasSuffix(body, " "+v):
				streak++
			case time.Now().After(deadline):
				t.Fatalf("from %s after the rollout: %q %v", n, body, err)
			default:
				streak = 0
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	return first, time.Since(start)
}

// testNodeLeaves: a commit removes n3 from the inventory; its pods move
// to n1 and n2 (3 each) and the Service keeps answering from n1 and n2
// throughout, from pods on n1 and n2 only. Then n3 comes back.
func testNodeLeaves(t *testing.T) {
	p := probe(t, "n1", "n2")
	nodesFile := filepath.Join(base, "work", "nodes.yaml")
	orig, err := os.ReadFile(nodesFile)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(orig), "\n---\n")
	if len(docs) != 3 || !strings.Contains(docs[2], "name: n3") {
		t.Fatalf("unexpected inventory:\n%s", orig)
	}
	head, start := commit(t, "n3 leaves", func(string) error {
		return os.WriteFile(nodesFile, []byte(strings.Join(docs[:2], "\n---\n")+"\n"), 0o644)
	})
	t.Cleanup(func() {
		head, start := commit(t, "n3 returns", func(string) error { return os.WriteFile(nodesFile, orig, 0o644) })
		waitConverged(t, head, 2*time.Minute)
		waitPods(t, 2, nodeNames...)
		t.Logf("n3 returned: 2 pods per node after %v", time.Since(start).Round(time.Millisecond))
	})
	waitConverged(t, head, 2*time.Minute, "n1", "n2")
	t.Logf("n3 left: n1 and n2 converged in %v", time.Since(start).Round(time.Millisecond))
	on := waitPods(t, 3, "n1", "n2")
	t.Logf("n3 left: n1 and n2 run 3 pods each after %v", time.Since(start).Round(time.Millisecond))
	// n3 drains after its drain delay (it keeps serving while the others
	// take over); the prober must see no failure across it.
	drainBy := time.Now().Add(time.Minute)
	for {
		s, err := status(context.Background(), "n3")
		if err == nil && len(s.webPods()) == 0 {
			t.Logf("n3 drained after %v", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Now().After(drainBy) {
			t.Fatalf("n3 still runs its pods a minute after leaving the inventory (status err %v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(time.Second)
	p.done(t)
	for _, n := range []string{"n1", "n2"} {
		got, errs := sample(nodeClient(n), url, 60)
		if len(errs) > 0 {
			t.Errorf("from %s: %d requests failed: %v", n, len(errs), errs[0])
		}
		for pod := range got {
			if on[pod] == "" {
				t.Errorf("from %s: answered by %s, which is not on n1 or n2", n, pod)
			}
		}
		wantAllPods(t, n+" after n3 left", got)
	}
}

// waitPods waits until each node of ns runs exactly k ready web pods (the
// pods that leave a node go after the node converged on the new plan),
// and returns where each pod runs.
func waitPods(t *testing.T, k int, ns ...string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		on := map[string]string{}
		var off []string
		for _, n := range ns {
			s, err := status(context.Background(), n)
			pods := s.webPods()
			ready := 0
			for _, p := range pods {
				on[p.Name] = n
				if p.Ready {
					ready++
				}
			}
			if err != nil || len(pods) != k || ready != k {
				off = append(off, fmt.Sprintf("%s runs %v (%d ready, err %v)", n, podNames(pods), ready, err))
			}
		}
		if len(off) == 0 {
			return on
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d web pods per node: %s", k, strings.Join(off, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testDaemonStops: with n2's daemon stopped, n1 and n3 keep serving all
// six pods (n2's pods and rules stay), and their own pods are not
// disturbed; a commit still rolls on n1 and n3. Then n2 comes back.
func testDaemonStops(t *testing.T) {
	before := map[string]map[string]string{} // node -> pod -> startedAt/restarts
	for _, n := range []string{"n1", "n3"} {
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		before[n] = podIdentity(s.webPods())
	}
	pid := daemonPID(t, "n2")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := script("start", "2"); err != nil {
			t.Fatalf("restart n2: %v\n%s", err, out)
		}
		head := strings.TrimSpace(mustOut(t, "git", "-C", filepath.Join(base, "repo.git"), "rev-parse", "main"))
		waitConverged(t, head, time.Minute)
	})
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i > 100 {
			t.Fatalf("n2's daemon (pid %d) did not stop", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p := probe(t, "n1", "n3")
	time.Sleep(3 * time.Second)
	for _, n := range []string{"n1", "n3"} {
		got, errs := sample(nodeClient(n), url, 60)
		if len(errs) > 0 {
			t.Errorf("with n2's daemon stopped, from %s: %d requests failed: %v", n, len(errs), errs[0])
		}
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if now := podIdentity(s.webPods()); fmt.Sprint(now) != fmt.Sprint(before[n]) {
			t.Errorf("%s's pods were disturbed: before %v, now %v", n, before[n], now)
		}
		wantAllPods(t, n+" with n2's daemon stopped", got)
	}
	p.done(t)
}

func daemonPID(t *testing.T, node string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, node+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// podIdentity is each pod's start time and restart count: equal before
// and after means the pod was not touched.
func podIdentity(pods []nodes.PodStatus) map[string]string {
	out := map[string]string{}
	for _, p := range pods {
		out[p.Name] = fmt.Sprintf("%s/%d", p.StartedAt.Format(time.RFC3339Nano), p.Restarts())
	}
	return out
}

func podNames(pods []nodes.PodStatus) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

func mustOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}
