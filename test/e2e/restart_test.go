package e2e_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDaemonKilledMidRollout: the daemon is SIGKILLed in the middle of a
// rolling update and restarted on the same state directory. The rollout
// finishes; the pods already on the new revision are kept (same names,
// same start times, no restart); requests succeed throughout, since the
// containers and service rules outlive the daemon.
func TestDaemonKilledMidRollout(t *testing.T) {
	t.Parallel()
	n := newNode(t, 9)
	r := newRepo(t, n.dir)
	// A readiness delay makes every step of the rollout last seconds.
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 4, MaxSurge: 1, MaxUnavailable: 0, InitialDelay: 3}
	url := deploy(t, n, r, a)
	n.waitRolled("hello", a.Image, 4, 90*time.Second)

	l := startLoad(url)
	defer func() {
		if l != nil {
			l.stop()
		}
	}()
	a.Image = helloImage["v2"]
	r.write("app.yaml", a.yaml())
	rev := r.commit("hello v2")
	r.push()
	pushed := time.Now()

	// Wait for the middle of the rollout: a new pod ready, old ones left.
	var newPods []pod
	n.waitFor(90*time.Second, "the rollout half way", func() (bool, string) {
		st, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		newPods = newPods[:0]
		old := 0
		for _, p := range st.podsWith("hello-") {
			switch {
			case p.image() == a.Image && p.Ready:
				newPods = append(newPods, p)
			case p.image() == helloImage["v1"]:
				old++
			}
		}
		return len(newPods) >= 1 && old >= 2, fmt.Sprintf("%d new ready, %d old", len(newPods), old)
	})
	n.stop(syscall.SIGKILL)
	killed := time.Now()
	t.Logf("killed the daemon %.1fs after the push, with %d pods on v2", killed.Sub(pushed).Seconds(), len(newPods))

	// The node serves while the daemon is down.
	time.Sleep(3 * time.Second)
	if downFailures := l.failuresBefore(time.Now()); downFailures > 0 {
		t.Errorf("%d requests failed while the daemon was down", downFailures)
	}

	restarted := time.Now()
	n.start("--repo", r.bare)
	n.waitApplied(rev, 30*time.Second)
	final := n.waitRolled("hello", a.Image, 4, 120*time.Second)
	t.Logf("rollout finished %.1fs after the restart", time.Since(killed).Seconds())
	byName := map[string]pod{}
	for _, p := range final {
		byName[p.Name] = p
	}
	for _, p := range newPods {
		q, ok := byName[p.Name]
		switch {
		case !ok:
			t.Errorf("pod %s, already on the new revision before the kill, was replaced", p.Name)
		case !q.StartedAt.Equal(p.StartedAt) || !q.Containers[0].StartedAt.Equal(p.Containers[0].StartedAt):
			t.Errorf("pod %s was restarted: started %v/%v, now %v/%v", p.Name, p.StartedAt, p.Containers[0].StartedAt, q.StartedAt, q.Containers[0].StartedAt)
		case q.Containers[0].RestartCount != 0:
			t.Errorf("pod %s: container restarted %d times", p.Name, q.Containers[0].RestartCount)
		}
	}
	n.waitFor(10*time.Second, "only v2 answering", func() (bool, string) { return serves(url, "v2") })
	before := l.failuresBefore(restarted)
	ok, failures, versions := l.stop()
	l = nil
	t.Logf("%d requests answered %v, %d failed", ok, versions, len(failures))
	if len(failures) == 0 {
		return
	}
	if before > 0 || !strings.Contains(n.logTail(1000), "old pod not ready") {
		t.Fatalf("%d requests failed across the kill and restart (%d before the restart):\n%s", len(failures), before, summary(failures))
	}
	t.Fatalf("%d requests failed right after the daemon restarted (re-adopted pods must keep their readiness):\n%s",
		len(failures), summary(failures))
}
