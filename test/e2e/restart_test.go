package e2e_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDaemonKilledMidRollout: the daemon is SIGKILLed in the middle of a
// rolling update, while an old pod is stopping, and restarted on the same
// state directory. The rollout finishes; the pods already on the new
// revision are kept (same names, same start times, no restart); the pod
// that was stopping never serves again and is gone by the end of the
// grace period its stop began with (the stop is issued again with what is
// left of it); requests succeed throughout, since the containers and
// service rules outlive the daemon.
func TestDaemonKilledMidRollout(t *testing.T) {
	t.Parallel()
	n := newNode(t, 9)
	r := newRepo(t, n.dir)
	// A readiness delay makes every step of the rollout last seconds; a
	// preStop hook makes every stop last longer than a pass waits for it
	// (2 s), so the daemon can be killed while one goes on.
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 4, MaxSurge: 1, MaxUnavailable: 0, InitialDelay: 3,
		Grace: 12, PreStop: 10}
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

	// Wait for the middle of the rollout: a new pod ready, old ones left,
	// one of them stopping.
	var newPods []pod
	var stopping string
	n.waitFor(90*time.Second, "the rollout half way, an old pod stopping", func() (bool, string) {
		st, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		newPods, stopping = newPods[:0], ""
		old := 0
		for _, p := range st.podsWith("hello-") {
			switch {
			case p.image() == a.Image && p.Ready:
				newPods = append(newPods, p)
			case p.image() == helloImage["v1"]:
				old++
				if p.Reason == "Terminating" {
					stopping = p.Name
				}
			}
		}
		return len(newPods) >= 1 && old >= 2 && stopping != "", fmt.Sprintf("%d new ready, %d old, stopping %q", len(newPods), old, stopping)
	})
	n.stop(syscall.SIGKILL)
	killed := time.Now()
	t.Logf("killed the daemon %.1fs after the push, with %d pods on v2 and %s stopping", killed.Sub(pushed).Seconds(), len(newPods), stopping)

	// The node serves while the daemon is down.
	time.Sleep(3 * time.Second)
	if downFailures := l.failuresBefore(time.Now()); downFailures > 0 {
		t.Errorf("%d requests failed while the daemon was down", downFailures)
	}

	restarted := time.Now()
	n.start("--repo", r.bare)
	// The stopping pod is terminating from the first status on, never
	// ready again, and gone when the grace period its stop began with is
	// over (it began before the kill), not a new one later.
	n.waitFor(time.Duration(a.Grace)*time.Second+20*time.Second, stopping+" gone", func() (bool, string) {
		st, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		pods := st.podsWith("hello-")
		for _, p := range pods {
			if p.Name != stopping {
				continue
			}
			if p.Ready {
				t.Errorf("%s, stopping when the daemon was killed, is ready again after the restart", stopping)
			}
			return false, fmt.Sprintf("%s %s %s", p.Name, p.Phase, p.Reason)
		}
		return len(pods) > 0, "no pods observed yet"
	})
	if gone := time.Since(killed); gone > time.Duration(a.Grace)*time.Second+8*time.Second {
		t.Errorf("%s gone %.1fs after the kill; its stop began before the kill with a %ds grace period", stopping, gone.Seconds(), a.Grace)
	}
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
