package containerd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// volPath is the node path of the pod's volume, once it is prepared.
func volPath(t *testing.T, rt *Runtime, key, name string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if pd := rt.lookup(key); pd != nil {
			pd.mu.Lock()
			p := pd.volPaths[name]
			pd.mu.Unlock()
			if p != "" {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s: volume %s never prepared", key, name)
	return ""
}

// readLines is the lines of a file, none when it is missing.
func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(string(b))
}

func shared(c plan.Container) plan.Container {
	c.VolumeMounts = append(c.VolumeMounts, plan.VolumeMount{Name: "shared", MountPath: "/shared"})
	return c
}

// logLoop is a shell loop that appends name-term to /shared/log on
// SIGTERM and exits.
func logLoop(name, before string) string {
	return `trap 'echo ` + name + `-term >> /shared/log; exit 0' TERM; ` + before + ` while :; do sleep 0.1; done`
}

func exitStep(c nodes.ContainerStatus) bool { return c.State == nodes.StateRunning }

// TestSidecarLifecycle: a sidecar (restartPolicy Always) starts in
// order, and the init container after it waits until its startup probe
// passed; the containers start after every init container; the sidecar
// keeps running beside them, is restarted when it exits (the app is
// not), and its readiness counts in the pod's; on stop, the containers
// are stopped first, then the sidecars, last started first.
func TestSidecarLifecycle(t *testing.T) {
	rt := newRuntime(t)
	first := shared(container("first", "sh", "-c", logLoop("first", `echo first-start >> /shared/log;`)))
	first.RestartPolicy = "Always"
	side := shared(container("side", "sh", "-c", logLoop("side", `echo side-start >> /shared/log; sleep 1; echo side-started >> /shared/log; touch /shared/started;
while [ ! -e /shared/side-exit ]; do sleep 0.1; done; rm /shared/side-exit; exit 3;`)))
	side.RestartPolicy = "Always"
	side.StartupProbe = &plan.Probe{Exec: &plan.ExecAction{Command: []string{"test", "-e", "/shared/started"}}, PeriodSeconds: 1}
	side.ReadinessProbe = &plan.Probe{Exec: &plan.ExecAction{Command: []string{"test", "-e", "/shared/side-ready"}}, PeriodSeconds: 1}
	check := shared(container("check", "sh", "-c", `test -e /shared/started && echo check >> /shared/log`))
	app := shared(container("app", "sh", "-c", logLoop("app", `echo app-start >> /shared/log;`)))
	p := testPod("sidecars", app)
	p.Spec.InitContainers = []plan.Container{first, side, check}
	p.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}
	p.Spec.TerminationGracePeriodSeconds = 10
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	dir := volPath(t, rt, p.Key(), "shared")
	log := filepath.Join(dir, "log")

	st := waitPod(t, rt, p.Key(), 60*time.Second, "app and sidecars running", func(p *nodes.PodStatus) bool {
		return running(p) && exitStep(p.InitContainers[0]) && exitStep(p.InitContainers[1])
	})
	if got, want := strings.Join(readLines(log), " "), "first-start side-start side-started check app-start"; got != want {
		t.Errorf("start order %q, want %q (check must run after the sidecar's startup probe passed)", got, want)
	}
	if st.InitContainers[2].State != nodes.StateTerminated || st.InitContainers[2].ExitCode != 0 {
		t.Errorf("regular init container: %+v", st.InitContainers[2])
	}
	if st.Ready {
		t.Errorf("pod ready while its sidecar's readiness probe fails: %+v", st)
	}
	if err := os.WriteFile(filepath.Join(dir, "side-ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 20*time.Second, "ready once the sidecar is ready", func(p *nodes.PodStatus) bool { return p.Ready })

	// The sidecar exits: it is restarted, the app is not.
	if err := os.WriteFile(filepath.Join(dir, "side-exit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st = waitPod(t, rt, p.Key(), 30*time.Second, "sidecar restarted", func(p *nodes.PodStatus) bool {
		return p.InitContainers[1].RestartCount >= 1 && p.InitContainers[1].State == nodes.StateRunning
	})
	if st.Containers[0].RestartCount != 0 || st.Containers[0].State != nodes.StateRunning {
		t.Errorf("app touched by the sidecar's restart: %+v", st.Containers[0])
	}

	if err := rt.StopPod(context.Background(), p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(log)
	var terms []string
	for _, l := range lines {
		if strings.HasSuffix(l, "-term") {
			terms = append(terms, l)
		}
	}
	if got, want := strings.Join(terms, " "), "app-term side-term first-term"; got != want {
		t.Errorf("stop order %q, want %q (log %q)", got, want, lines)
	}
}

// TestSidecarDoesNotHoldJob: a Job's pod (restartPolicy Never) succeeds
// when its container ends; its sidecar is then stopped and not
// restarted.
func TestSidecarDoesNotHoldJob(t *testing.T) {
	rt := newRuntime(t)
	side := shared(container("side", "sh", "-c", logLoop("side", "")))
	side.RestartPolicy = "Always"
	work := shared(container("work", "sh", "-c", "echo work-done >> /shared/log"))
	p := testPod("sidecar-job", work)
	p.Owner = plan.Owner{Kind: "Job", Name: "sidecar-job"}
	p.Spec.RestartPolicy = "Never"
	p.Spec.InitContainers = []plan.Container{side}
	p.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	dir := volPath(t, rt, p.Key(), "shared")
	st := waitPod(t, rt, p.Key(), 60*time.Second, "job pod finished and its sidecar stopped", func(p *nodes.PodStatus) bool {
		return p.Phase == nodes.PhaseSucceeded && p.InitContainers[0].State == nodes.StateTerminated
	})
	if got := strings.Join(readLines(filepath.Join(dir, "log")), " "); got != "work-done side-term" {
		t.Errorf("log %q, want the work, then the sidecar stopped", got)
	}
	time.Sleep(time.Second) // a restart would come after the 200 ms back-off
	st = waitPod(t, rt, p.Key(), time.Second, "still done", func(p *nodes.PodStatus) bool { return true })
	if c := st.InitContainers[0]; c.State != nodes.StateTerminated || c.RestartCount != 0 {
		t.Errorf("sidecar of a finished job: %+v, want terminated and never restarted", c)
	}
	if st.Phase != nodes.PhaseSucceeded {
		t.Errorf("phase %s, want Succeeded", st.Phase)
	}
}

// TestSidecarReadopted: after a daemon restart the running sidecar is
// adopted as it runs (not restarted) and supervised again (restarted
// when it exits); a finished Job's stopped sidecar is not started
// again.
func TestSidecarReadopted(t *testing.T) {
	rt := newRuntime(t)
	side := shared(container("side", "sh", "-c", `while [ ! -e /shared/side-exit ]; do sleep 0.1; done; rm /shared/side-exit; exit 3`))
	side.RestartPolicy = "Always"
	p := testPod("sidecar-adopt", container("app", "sleep", "3600"))
	p.Spec.InitContainers = []plan.Container{side}
	p.Spec.Volumes = []plan.Volume{{Name: "shared", Kind: "emptyDir"}}
	jobSide := container("side", "sleep", "3600")
	jobSide.RestartPolicy = "Always"
	job := testPod("sidecar-adopt-job", container("work", "true"))
	job.Spec.RestartPolicy = "Never"
	job.Spec.InitContainers = []plan.Container{jobSide}
	for _, x := range []*plan.Pod{p, job} {
		if err := rt.CreatePod(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	dir := volPath(t, rt, p.Key(), "shared")
	before := waitPod(t, rt, p.Key(), 60*time.Second, "running", func(p *nodes.PodStatus) bool { return running(p) && exitStep(p.InitContainers[0]) })
	waitPod(t, rt, job.Key(), 60*time.Second, "job done", func(p *nodes.PodStatus) bool {
		return p.Phase == nodes.PhaseSucceeded && p.InitContainers[0].State == nodes.StateTerminated
	})
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	rt2 := newRuntime(t)
	cleanup(t, rt2, p.Key(), job.Key())
	after := waitPod(t, rt2, p.Key(), 10*time.Second, "running", func(p *nodes.PodStatus) bool { return running(p) && exitStep(p.InitContainers[0]) })
	if s := after.InitContainers[0]; s.RestartCount != 0 || !s.StartedAt.Equal(before.InitContainers[0].StartedAt) {
		t.Errorf("sidecar restarted by the re-adoption: before %+v, after %+v", before.InitContainers[0], s)
	}
	if err := os.WriteFile(filepath.Join(dir, "side-exit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt2, p.Key(), 30*time.Second, "sidecar restarted after re-adoption", func(p *nodes.PodStatus) bool {
		return p.InitContainers[0].RestartCount >= 1 && p.InitContainers[0].State == nodes.StateRunning
	})
	time.Sleep(time.Second) // a restart would come after the 200 ms back-off
	st := waitPod(t, rt2, job.Key(), time.Second, "job still done", func(p *nodes.PodStatus) bool { return true })
	if c := st.InitContainers[0]; st.Phase != nodes.PhaseSucceeded || c.State != nodes.StateTerminated || c.RestartCount != 0 {
		t.Errorf("re-adopted finished job: phase %s, sidecar %+v; want Succeeded and its sidecar never restarted", st.Phase, c)
	}
}
