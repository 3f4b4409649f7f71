package cluster_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// testNodeCutOff: a node the others cannot reach (its link down) gets no
// traffic from them within seconds: gossip (--peer-port) declares it
// failed and its host does not answer either; once its link is back, it
// is alive again and gets its share back.
func testNodeCutOff(t *testing.T) {
	s, err := status(context.Background(), "n2")
	if err != nil {
		t.Fatal(err)
	}
	onN2 := map[string]bool{}
	for _, p := range s.webPods() {
		onN2[p.Name] = true
	}
	mustOut(t, "ip", "link", "set", "vbc-n2", "down")
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = exec.Command("ip", "link", "set", "vbc-n2", "up").Run()
		}
	})
	start := time.Now()
	// Converged: a whole sample without an error or an answer from n2.
	settled := func(node string, want func(map[string]int, []error) bool) time.Duration {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, errs := sample(nodeClient(node), url, 30)
			if want(got, errs) {
				return time.Since(start)
			}
			if time.Now().After(deadline) {
				t.Fatalf("from %s: still %v with %d errors (%v)", node, got, len(errs), errs)
			}
		}
	}
	withoutN2 := func(got map[string]int, errs []error) bool {
		for pod := range got {
			if onN2[pod] {
				return false
			}
		}
		return len(errs) == 0 && len(got) == 4
	}
	for _, n := range []string{"n1", "n3"} {
		took := settled(n, withoutN2)
		t.Logf("from %s: n2's share gone after %v", n, took.Round(100*time.Millisecond))
		got, errs := sample(nodeClient(n), url, 60)
		if len(errs) > 0 || !withoutN2(got, errs) {
			t.Errorf("from %s with n2 cut off: %v, %d failed (%v)", n, got, len(errs), errs)
		}
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := s.Rec.Peers["n2"]; !ok || p.Reachable {
			t.Errorf("%s's status says of n2: %+v (known %v), want unreachable", n, p, ok)
		}
	}
	out := mustOut(t, os.Getenv("BERTH_BIN"), "status", "--cluster", "--api", filepath.Join(runDir, "n1", "berth.sock"))
	if !regexp.MustCompile(`(?m)^n2 +failed `).MatchString(out) {
		t.Errorf("berth status --cluster on n1 with n2 cut off:\n%s\nwant n2 failed", out)
	}

	mustOut(t, "ip", "link", "set", "vbc-n2", "up")
	restored = true
	start = time.Now()
	for _, n := range []string{"n1", "n3"} {
		took := settled(n, func(got map[string]int, errs []error) bool { return len(errs) == 0 && len(got) == 6 })
		t.Logf("from %s: all six pods again after %v", n, took.Round(100*time.Millisecond))
	}
}
