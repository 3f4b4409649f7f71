package e2e_test

import (
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRollingUpdateNoFailedRequests: pushing v2 rolls the Deployment with
// no failed request under a continuous request loop.
func TestRollingUpdateNoFailedRequests(t *testing.T) {
	t.Parallel()
	n := newNode(t, 2)
	r := newRepo(t, n.dir)
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 3, MaxSurge: 1}
	url := deploy(t, n, r, a)
	n.waitRolled("hello", a.Image, 3, 60*time.Second)

	l := startLoad(url)
	a.Image = helloImage["v2"]
	r.write("app.yaml", a.yaml())
	rev := r.commit("hello v2")
	pushed := time.Now()
	r.push()
	n.waitApplied(rev, 30*time.Second)
	n.waitRolled("hello", a.Image, 3, 120*time.Second)
	rolled := time.Since(pushed)
	// Once rolled, every answer is v2.
	n.waitFor(10*time.Second, "only v2 answering", func() (bool, string) {
		for range 10 {
			if ok, body := serves(url, "v2"); !ok {
				return false, body
			}
		}
		return true, ""
	})
	ok, failures, versions := l.stop()
	t.Logf("rolled to v2 in %.1fs; %d requests answered %v, %d failed", rolled.Seconds(), ok, versions, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d requests failed during the rolling update:\n%s", len(failures), summary(failures))
	}
	if versions["(v1)"] == 0 || versions["(v2)"] == 0 {
		t.Errorf("the request loop saw %v, want both versions", versions)
	}
}

// TestBrokenCommitRejected: a commit with a misspelled field changes
// nothing; status shows the rejected revision with file:line:col, the
// metrics count it; the next good commit applies.
func TestBrokenCommitRejected(t *testing.T) {
	t.Parallel()
	n := newNode(t, 3)
	r := newRepo(t, n.dir)
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 1}
	url := deploy(t, n, r, a)
	good := n.waitApplied(r.git("rev-parse", "HEAD"), time.Second)
	before := n.waitRolled("hello", a.Image, 1, 60*time.Second)

	broken := a
	broken.Typo, broken.Replicas, broken.Image = true, 2, helloImage["v2"]
	r.write("app.yaml", broken.yaml())
	bad := r.commit("typo")
	r.push()
	// While a revision is rejected `berth status` cannot decode the
	// daemon's answer (see the end of the test), so read the API directly.
	var st status
	n.waitFor(30*time.Second, "the broken revision rejected", func() (bool, string) {
		var err error
		if st, err = n.apiStatus(); err != nil {
			return false, err.Error()
		}
		return st.GitOps.Rejected != nil && st.GitOps.Rejected.Revision == bad, st.GitOps.LastError
	})
	if st.GitOps.Applied != good.GitOps.Applied {
		t.Errorf("applied %s after a rejected commit, want the last good %s", st.GitOps.Applied, good.GitOps.Applied)
	}
	found := false
	for _, d := range st.GitOps.Rejected.Diagnostics {
		t.Logf("diagnostic: %s:%d:%d %s %s: %s", d.File, d.Line, d.Col, d.Severity, d.Rule, d.Message)
		// "replicaz" is on line 6, column 3 of app.yaml.
		if d.File == "app.yaml" && d.Line == 6 && d.Col == 3 && strings.Contains(d.Message, "replicaz") {
			found = true
		}
	}
	if !found {
		t.Errorf("no diagnostic at app.yaml:6:3 naming replicaz in %+v", st.GitOps.Rejected.Diagnostics)
	}
	metrics, err := exec.Command("curl", "-sS", "--unix-socket", n.api, "http://x/metrics").Output()
	if err != nil {
		t.Fatalf("curl /metrics: %v", err)
	}
	if m := regexp.MustCompile(`(?m)^berth_revisions_rejected_total (\S+)$`).FindSubmatch(metrics); m == nil || string(m[1]) != "1" {
		t.Errorf("berth_revisions_rejected_total: got %q, want 1", m)
	}
	// Nothing changed: the same pod, still v1.
	time.Sleep(2 * time.Second)
	if st, err = n.apiStatus(); err != nil {
		t.Fatal(err)
	}
	if after := st.podsWith("hello-"); len(after) != 1 || after[0].Name != before[0].Name || after[0].image() != a.Image {
		t.Errorf("pods after a rejected commit: %+v, want only %s on %s", after, before[0].Name, a.Image)
	}
	if ok, body := serves(url, "v1"); !ok {
		t.Errorf("service after a rejected commit: %s", body)
	}
	// What the user sees: `berth status` names the rejected revision and
	// the position of the error.
	jsonOut, jsonErr := n.berth("status", "-o", "json")
	textOut, textErr := n.berth("status")

	fixed := broken
	fixed.Typo = false
	r.write("app.yaml", fixed.yaml())
	fix := r.commit("fix the typo")
	r.push()
	st = n.waitApplied(fix, 30*time.Second)
	if st.GitOps.Rejected != nil {
		t.Errorf("rejection still shown after a good commit: %+v", st.GitOps.Rejected)
	}
	n.waitRolled("hello", fixed.Image, 2, 90*time.Second)

	if jsonErr != nil || textErr != nil {
		t.Fatalf("with a rejected revision `berth status` fails:\n%v\n%v", jsonErr, textErr)
	}
	if !strings.Contains(jsonOut, bad) || !strings.Contains(jsonOut, `"line": 6`) {
		t.Errorf("berth status -o json does not show the rejected revision %s at line 6:\n%s", bad, jsonOut)
	}
	if !strings.Contains(textOut, "REJECTED") || !strings.Contains(textOut, "app.yaml:6:3") {
		t.Errorf("berth status does not show the rejection at app.yaml:6:3:\n%s", textOut)
	}
}

// TestDeletedManifestPruned: removing a manifest from the repository
// removes its pods and service; the rest keeps running.
func TestDeletedManifestPruned(t *testing.T) {
	t.Parallel()
	n := newNode(t, 4)
	r := newRepo(t, n.dir)
	extra := app{Name: "extra", Image: helloImage["v2"], Replicas: 2}
	r.write("extra.yaml", extra.yaml())
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 1}
	url := deploy(t, n, r, a)
	n.waitRolled("extra", extra.Image, 2, 60*time.Second)
	keep := n.waitRolled("hello", a.Image, 1, 30*time.Second)

	r.remove("extra.yaml")
	rev := r.commit("remove extra")
	r.push()
	n.waitApplied(rev, 30*time.Second)
	n.waitFor(60*time.Second, "extra's pods pruned", func() (bool, string) {
		st, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		left := st.podsWith("extra-")
		return len(left) == 0 && st.clusterIP("extra") == "", strconv.Itoa(len(left)) + " extra pods left"
	})
	if after := n.waitRolled("hello", a.Image, 1, 5*time.Second); after[0].Name != keep[0].Name {
		t.Errorf("hello's pod %s replaced by %s when another manifest was removed", keep[0].Name, after[0].Name)
	}
	if ok, body := serves(url, "v1"); !ok {
		t.Errorf("hello after the prune: %s", body)
	}
}

// TestForcePushFollowed: a rewritten history (force-push) is followed to
// its new head.
func TestForcePushFollowed(t *testing.T) {
	t.Parallel()
	n := newNode(t, 5)
	r := newRepo(t, n.dir)
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 1}
	url := deploy(t, n, r, a)
	base := r.git("rev-parse", "HEAD")

	a.Replicas = 2
	r.write("app.yaml", a.yaml())
	second := r.commit("two replicas")
	r.push()
	n.waitApplied(second, 30*time.Second)
	n.waitRolled("hello", a.Image, 2, 60*time.Second)

	// Rewrite: drop the second commit and commit v2 on the first instead.
	r.git("reset", "-q", "--hard", base)
	a.Replicas, a.Image = 1, helloImage["v2"]
	r.write("app.yaml", a.yaml())
	rewritten := r.commit("v2, rewritten history")
	r.forcePush()
	n.waitApplied(rewritten, 30*time.Second)
	n.waitRolled("hello", a.Image, 1, 60*time.Second)
	n.waitFor(20*time.Second, "v2 answering", func() (bool, string) { return serves(url, "v2") })
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
