package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/reconciler/nodeapi"
)

// revertDeadline is the progressDeadlineSeconds of the scenarios.
const revertDeadline = 10

// opsOf is the operating part of a node's status (health, revert).
type opsOf struct {
	Applied string `json:"applied"`
	Head    string `json:"head"`
	Why     string `json:"why"`
	Health  *struct {
		Revision, State, Reason, Object string
	} `json:"health"`
	Failure *struct {
		Node, Reason, Object, Revision string
	} `json:"failure"`
	Suspended bool   `json:"suspended"`
	Pinned    string `json:"pinned"`
}

func operating(node string) (opsOf, error) {
	c := nodeapi.NewClient(filepath.Join(runDir, node, "berth.sock"), "")
	_, raw, err := c.Status(context.Background())
	if err != nil {
		return opsOf{}, err
	}
	var doc struct {
		GitOps opsOf `json:"gitops"`
	}
	return doc.GitOps, json.Unmarshal(raw, &doc)
}

// waitHealthyEverywhere waits until every node runs rev, healthy.
func waitHealthyEverywhere(t *testing.T, rev string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var late []string
		for _, n := range nodeNames {
			s, err := operating(n)
			if err != nil || s.Applied != rev || s.Health == nil || s.Health.Revision != rev || s.Health.State != "healthy" {
				late = append(late, fmt.Sprintf("%s: %+v %+v (%v)", n, s, s.Health, err))
			}
		}
		if len(late) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%.8s not healthy everywhere after %v: %s", rev, timeout, strings.Join(late, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// revertTimes polls every node until all of them run back, converged,
// and returns when the first node saw the failure and when the last one
// ran back.
func revertTimes(t *testing.T, bad, back string, timeout time.Duration) (detected, done time.Time, failure string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ready := 0
		var last []string
		for _, n := range nodeNames {
			s, err := operating(n)
			if err == nil && detected.IsZero() && s.Failure != nil && s.Failure.Revision == bad && s.Head == bad {
				detected, failure = time.Now(), fmt.Sprintf("%s: %s: %s", s.Failure.Node, s.Failure.Object, s.Failure.Reason)
			}
			if st, err2 := status(context.Background(), n); err == nil && err2 == nil && s.Head == bad && s.Why == "reverted" && st.converged(back) {
				ready++
			}
			last = append(last, fmt.Sprintf("%s %+v", n, s))
		}
		if ready == len(nodeNames) {
			return detected, time.Now(), failure
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes did not go back to %.8s within %v: %s", back, timeout, strings.Join(last, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// badYAML is a Deployment that runs on n2 only (zone b), whose image does
// not exist.
const badYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: 1
  progressDeadlineSeconds: %d
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      nodeSelector: {zone: b}
      containers:
        - {name: bad, image: %s, resources: {requests: {cpu: 10m, memory: 8Mi}}}
`

// testAutoRevert: a commit whose web image does not exist fails on every
// node at its progress deadline, and every node goes back to the last
// revision healthy everywhere, serving throughout; a commit that fails on
// n2 alone sends n1 and n3 back too (they learn of it through the peer
// exchange); the failed commit is not tried again; a later good commit
// rolls forward. The revert latency is logged: from the first node's
// detection to the last node serving the previous revision.
func testAutoRevert(t *testing.T) {
	webFile := filepath.Join(base, "work", "web.yaml")
	orig, err := os.ReadFile(webFile)
	if err != nil {
		t.Fatal(err)
	}
	image := regexp.MustCompile(`image: (\S+)`).FindSubmatch(orig)
	if image == nil {
		t.Fatal("no image in web.yaml")
	}
	missing := string(image[1][:strings.LastIndex(string(image[1]), "/")]) + "/nothing-here:v9"
	t.Cleanup(func() {
		head, _ := commit(t, "web as it was", func(dir string) error {
			_ = os.Remove(filepath.Join(dir, "bad.yaml"))
			return os.WriteFile(webFile, orig, 0o644)
		})
		waitConverged(t, head, 2*time.Minute)
	})
	good, _ := commit(t, "web: a 10 s progress deadline", replaceIn("web.yaml", "  replicas: 6\n", fmt.Sprintf("  replicas: 6\n  progressDeadlineSeconds: %d\n", revertDeadline)))
	waitHealthyEverywhere(t, good, 2*time.Minute)
	// n1 learns the others' health by gossip: wait for it, within a
	// bound a loaded machine meets.
	waitClusterStatus(t, "n1", "health: n1 healthy, n2 healthy, n3 healthy", 10*time.Second)

	// 1. An image that does not exist, on every node.
	p := probe(t, nodeNames...)
	bad, pushed := commit(t, "web from an image that does not exist", replaceIn("web.yaml", string(image[0]), "image: "+missing))
	detected, done, failure := revertTimes(t, bad, good, time.Duration(revertDeadline+60)*time.Second)
	p.done(t)
	t.Logf("missing image: failure detected %.1fs after the push (deadline %ds): %s", detected.Sub(pushed).Seconds(), revertDeadline, failure)
	t.Logf("revert latency, missing image on every node: %d ms from the first detection to the last node serving the previous revision, converged",
		done.Sub(detected).Milliseconds())
	if lat := done.Sub(detected); lat > 5*time.Second {
		t.Errorf("revert took %v after the detection, want under 5s", lat)
	}
	for _, n := range nodeNames {
		s, _ := operating(n)
		if s.Failure == nil || !strings.Contains(s.Failure.Reason, "progress deadline exceeded") || s.Failure.Object != "Deployment/default/web" {
			t.Errorf("%s reports the failure as %+v", n, s.Failure)
		}
	}
	hist := mustOut(t, os.Getenv("BERTH_BIN"), "history", "--api", filepath.Join(runDir, "n3", "berth.sock"))
	if !regexp.MustCompile(`(?m)^` + bad[:12] + `.*failed.*Deployment/default/web: progress deadline exceeded.*\(reverted to ` + good[:12] + `\)$`).MatchString(hist) {
		t.Errorf("berth history on n3:\n%s", hist)
	}
	// Not tried again.
	time.Sleep(3 * time.Second)
	for _, n := range nodeNames {
		if s, _ := operating(n); s.Applied != good {
			t.Fatalf("%s tried the failed revision again: %+v", n, s)
		}
	}

	// 2. A Deployment that fails on n2 alone: n1 and n3, healthy on it,
	// go back too.
	p = probe(t, nodeNames...)
	bad2, _ := commit(t, "web from its image again, and a bad Deployment on n2", func(dir string) error {
		if err := replaceIn("web.yaml", "image: "+missing, string(image[0]))(dir); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "bad.yaml"), fmt.Appendf(nil, badYAML, revertDeadline, missing), 0o644)
	})
	detected, done, failure = revertTimes(t, bad2, good, time.Duration(revertDeadline+60)*time.Second)
	p.done(t)
	t.Logf("failure on n2 alone: %s", failure)
	t.Logf("revert latency, failure on n2 alone: %d ms from n2's detection to the last node serving the previous revision, converged",
		done.Sub(detected).Milliseconds())
	if lat := done.Sub(detected); lat > 5*time.Second {
		t.Errorf("revert took %v after the detection, want under 5s", lat)
	}
	for _, n := range []string{"n1", "n3"} {
		s, _ := operating(n)
		if s.Failure == nil || s.Failure.Node != "n2" || s.Failure.Object != "Deployment/default/bad" {
			t.Errorf("%s: failure %+v, want n2's", n, s.Failure)
		}
	}

	// 3. A later good commit rolls forward normally.
	fixed, _ := commit(t, "drop the bad Deployment", func(dir string) error { return os.Remove(filepath.Join(dir, "bad.yaml")) })
	waitHealthyEverywhere(t, fixed, 2*time.Minute)
}

// waitClusterStatus waits until `berth status --cluster` on node says
// want (the other nodes' part comes by gossip, within seconds).
func waitClusterStatus(t *testing.T, node, want string, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		out := berthOn(t, node, "status", "--cluster")
		if strings.Contains(out, want) {
			t.Logf("berth status --cluster on %s says %q after %v", node, want, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(start) > timeout {
			t.Errorf("berth status --cluster on %s, %v on: no %q:\n%s", node, timeout, want, out)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// berthOn runs a berth client command against node's API.
func berthOn(t *testing.T, node string, args ...string) string {
	t.Helper()
	return mustOut(t, os.Getenv("BERTH_BIN"), append(args, "--api", filepath.Join(runDir, node, "berth.sock"))...)
}

// waitAll waits until cond holds for every node's operating status.
func waitAll(t *testing.T, what string, timeout time.Duration, cond func(opsOf) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var off []string
		for _, n := range nodeNames {
			if s, err := operating(n); err != nil || !cond(s) {
				off = append(off, fmt.Sprintf("%s %+v %v", n, s, err))
			}
		}
		if len(off) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %s", what, timeout, strings.Join(off, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testAllNodes: suspend, resume, pin and unpin given to one node with
// --all-nodes reach every node through the peer exchange.
func testAllNodes(t *testing.T) {
	prev := strings.TrimSpace(mustOut(t, "git", "-C", filepath.Join(base, "repo.git"), "rev-parse", "main"))
	waitHealthyEverywhere(t, prev, 2*time.Minute)
	out := berthOn(t, "n1", "suspend", "--all-nodes")
	t.Logf("berth suspend --all-nodes on n1: %s", out)
	waitAll(t, "suspended everywhere", 10*time.Second, func(s opsOf) bool { return s.Suspended })
	next, _ := commit(t, "web v7", replaceIn("web.yaml", "value: v1", "value: v7"))
	t.Cleanup(func() {
		head, _ := commit(t, "web v1", replaceIn("web.yaml", "value: v7", "value: v1"))
		waitConverged(t, head, 2*time.Minute)
	})
	waitAll(t, "the new head fetched, not applied", 20*time.Second, func(s opsOf) bool { return s.Head == next && s.Applied == prev && s.Why == "suspended" })
	time.Sleep(2 * time.Second)
	waitAll(t, "still not applied", time.Second, func(s opsOf) bool { return s.Applied == prev })
	waitClusterStatus(t, "n2", "operating: n2 suspended, n1 suspended, n3 suspended", 10*time.Second)
	berthOn(t, "n3", "resume", "--all-nodes")
	waitConverged(t, next, 2*time.Minute)

	berthOn(t, "n2", "pin", "--all-nodes", prev[:10])
	waitAll(t, "pinned everywhere", 10*time.Second, func(s opsOf) bool { return s.Pinned == prev })
	waitConverged(t, prev, 2*time.Minute)
	berthOn(t, "n1", "unpin", "--all-nodes")
	waitAll(t, "unpinned everywhere", 10*time.Second, func(s opsOf) bool { return s.Pinned == "" })
	waitConverged(t, next, 2*time.Minute)
}
