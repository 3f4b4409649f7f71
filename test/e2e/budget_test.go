package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rangeBomb is 150 bytes of CUE that evaluate for minutes (issue 19).
const rangeBomb = `package bomb
import "list"
objects: [for i in list.Range(0, 200000, 1) {apiVersion: "v1", kind: "ConfigMap", metadata: name: "c\(i)", data: x: "\([for j in list.Range(0, i, 1) {j}])"}]
`

// TestBudgetRefusedWhileDriftRepaired: a commit whose CUE evaluation runs
// until its time budget leaves the node serving the previous revision.
// While it compiles, the resync's reconcile passes go on, the app serves,
// and a container deleted behind berth's back runs again; then the
// commit is refused, and status says why in one line.
func TestBudgetRefusedWhileDriftRepaired(t *testing.T) {
	t.Parallel()
	n := newNode(t, 7)
	r := newRepo(t, n.dir)
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 1}
	url := deploy(t, n, r, a, "--repo", r.bare, "--resync", "2s", "--max-eval-time", "45s")
	good := r.git("rev-parse", "HEAD")
	n.waitRolled("hello", a.Image, 1, 60*time.Second)

	if err := os.MkdirAll(filepath.Join(r.work, "bomb"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.write("bomb/x.cue", rangeBomb)
	bad := r.commit("a CUE bomb")
	r.push()
	n.waitFor(30*time.Second, "the bomb compiling", func() (bool, string) {
		st, err := n.apiStatus()
		if err != nil {
			return false, err.Error()
		}
		return st.GitOps.Compiling == bad, st.GitOps.Compiling
	})

	// Resync goes on: reconcile passes (each one repairs what drifted)
	// keep running while the bomb compiles, and the app keeps serving.
	passes := func() int {
		b, err := n.apiGet("/metrics")
		if err != nil {
			return -1
		}
		m := regexp.MustCompile(`(?m)^berth_reconcile_duration_seconds_count\{result="success"\} (\d+)$`).FindSubmatch(b)
		if m == nil {
			return -1
		}
		v, _ := strconv.Atoi(string(m[1]))
		return v
	}
	before := passes()
	n.waitFor(40*time.Second, "three reconcile passes while the bomb compiles", func() (bool, string) {
		st, err := n.apiStatus()
		if err != nil {
			return false, err.Error()
		}
		if st.GitOps.Compiling != bad {
			t.Fatalf("the bomb stopped compiling (%+v) before three passes", st.GitOps)
		}
		if ok, body := serves(url, "v1"); !ok {
			return false, body
		}
		return passes() >= before+3, strconv.Itoa(passes()-before) + " passes"
	})

	// Drift repair goes on too: a container deleted behind berth's back
	// (ctr task kill, task rm, c rm) runs again while the bomb is the
	// current commit.
	id := n.containerOf("default_hello-", "_hello")
	n.deleteContainer(id)
	n.waitFor(60*time.Second, "the deleted container running again", func() (bool, string) {
		if !n.hasContainer(id) {
			return false, "container " + id + " absent"
		}
		st, err := n.apiStatus()
		if err != nil {
			return false, err.Error()
		}
		pods := st.podsWith("hello-")
		if len(pods) != 1 || !pods[0].Ready || pods[0].Containers[0].RestartCount < 1 {
			return false, fmt.Sprintf("%+v", pods)
		}
		if ok, body := serves(url, "v1"); !ok {
			return false, body
		}
		return true, ""
	})
	if st := n.mustStatus(); st.GitOps.Applied != good || (st.GitOps.Compiling != bad && (st.GitOps.Rejected == nil || st.GitOps.Rejected.Revision != bad)) {
		t.Errorf("the container came back, but not while the bomb was current: %+v", st.GitOps)
	}

	n.waitFor(90*time.Second, "the bomb refused", func() (bool, string) {
		st, err := n.apiStatus()
		if err != nil {
			return false, err.Error()
		}
		return st.GitOps.Rejected != nil && st.GitOps.Rejected.Revision == bad, st.GitOps.Compiling
	})
	st := n.mustStatus()
	if st.GitOps.Applied != good {
		t.Errorf("applied %s after the refused bomb, want %s", st.GitOps.Applied, good)
	}
	if want := "budget exceeded (evaluation time, bomb/x.cue)"; st.GitOps.Rejected.Reason != want {
		t.Errorf("reason %q, want %q", st.GitOps.Rejected.Reason, want)
	}
	text, err := n.berth("status")
	if err != nil || !strings.Contains(text, "revision "+bad+" refused: budget exceeded (evaluation time, bomb/x.cue)") {
		t.Errorf("berth status: %v\n%s", err, text)
	}
	if ok, body := serves(url, "v1"); !ok {
		t.Errorf("after the refusal: %s", body)
	}
}

// ctr runs containerd's client on the node's namespace.
func (n *node) ctr(args ...string) (string, error) {
	out, err := exec.Command("ctr", append([]string{"-a", containerd, "-n", n.namespace()}, args...)...).CombinedOutput()
	return string(out), err
}

// containerOf is the id of the one container whose id has prefix and
// suffix.
func (n *node) containerOf(prefix, suffix string) string {
	n.t.Helper()
	out, err := n.ctr("containers", "ls", "-q")
	if err != nil {
		n.t.Fatalf("ctr containers ls: %v\n%s", err, out)
	}
	var ids []string
	for _, id := range strings.Fields(out) {
		if strings.HasPrefix(id, prefix) && strings.HasSuffix(id, suffix) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		n.t.Fatalf("containers %s*%s: %v", prefix, suffix, ids)
	}
	return ids[0]
}

func (n *node) hasContainer(id string) bool {
	_, err := n.ctr("containers", "info", id)
	return err == nil
}

// deleteContainer kills and deletes a container's task, then the
// container, as an operator would with ctr, retrying while berth's
// supervisor races it.
func (n *node) deleteContainer(id string) {
	n.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n.hasContainer(id) {
		n.ctr("tasks", "kill", "-s", "SIGKILL", id)
		n.ctr("tasks", "rm", "-f", id)
		out, err := n.ctr("containers", "rm", id)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("ctr containers rm %s: %v\n%s", id, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
