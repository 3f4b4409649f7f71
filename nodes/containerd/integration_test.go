package containerd

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

var ctx = context.Background()

const httpd = "httpd -f -p 8080 -h /www"

func TestTwoContainersShareLocalhostAndPodIPAnswers(t *testing.T) {
	rt := newRuntime(t)
	p := testPod("two",
		container("web", "sh", "-c", httpd),
		container("client", "sh", "-c", "until wget -qO- http://127.0.0.1:8080/; do sleep 0.2; done; hostname; sleep 3600"),
	)
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := rt.CreatePod(ctx, p); err != nil { // idempotent
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	// The client reached the web container over localhost, then printed
	// its hostname: the pod's name, from the shared UTS namespace.
	waitLog(t, rt, p.Key(), "client", "berth test image\ntwo\n", 20*time.Second)
	if !strings.HasPrefix(st.IP, "10.99.0.") {
		t.Fatalf("pod IP %q not from %s", st.IP, testCIDR)
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + st.IP + ":8080/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(body, "berth test image") {
		t.Fatalf("pod IP %s did not answer from the node: %q", st.IP, body)
	}
	// Removing the pod releases its IP and its network namespace.
	if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	id := podID(testNamespace, p.Key())
	if _, err := os.Stat(filepath.Join(testOptions(nil).RunDir, "netns", id)); !os.IsNotExist(err) {
		t.Errorf("netns %s left behind: %v", id, err)
	}
	if _, err := os.Stat(filepath.Join(testStateDir, "cni", "networks", "berth-"+testBridge, st.IP)); !os.IsNotExist(err) {
		t.Errorf("IP %s not released: %v", st.IP, err)
	}
	if s, _ := rt.Observe(ctx); s.Pod(p.Key()) != nil {
		t.Error("removed pod still observed")
	}
}

func TestEnvFromConfigMapSecretAndPodIP(t *testing.T) {
	rt := newRuntime(t)
	c := container("app", "sh", "-c", `echo "cm=$FROM_CM secret=$FROM_SECRET ip=$POD_IP"; sleep 3600`)
	c.Env = []plan.EnvVar{
		{Name: "FROM_CM", Value: plan.Plain("blue")},
		{Name: "FROM_SECRET", Value: plan.Sensitive("s3cret")},
		{Name: "POD_IP", FieldRef: "status.podIP"},
	}
	p := testPod("env", c)
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	waitLog(t, rt, p.Key(), "app", "cm=blue secret=s3cret ip="+st.IP, 10*time.Second)
	b, err := os.ReadFile(filepath.Join(rt.podDir(p.Key()), "pod.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") {
		t.Error("secret value written to the pod state file")
	}
}

func TestConfigMapVolumeUpdatedInPlace(t *testing.T) {
	rt := newRuntime(t)
	c := container("app", "sh", "-c", "while true; do cat /config/app.conf; echo; sleep 0.2; done")
	c.VolumeMounts = []plan.VolumeMount{{Name: "cfg", MountPath: "/config"}}
	p := testPod("cfg", c)
	p.ConfigHash = "c1"
	p.Spec.Volumes = []plan.Volume{{Name: "cfg", Kind: "configMap", Source: "app", Files: []plan.File{{Path: "app.conf", Mode: 0o644, Data: plan.Plain("version-one")}}}}
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	before := waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	waitLog(t, rt, p.Key(), "app", "version-one", 10*time.Second)

	q := *p
	q.ConfigHash = "c2"
	q.Spec.Volumes = []plan.Volume{{Name: "cfg", Kind: "configMap", Source: "app", Files: []plan.File{{Path: "app.conf", Mode: 0o644, Data: plan.Plain("version-two")}}}}
	if err := rt.UpdatePodConfig(ctx, &q); err != nil {
		t.Fatal(err)
	}
	waitLog(t, rt, p.Key(), "app", "version-two", 10*time.Second)
	after := waitPod(t, rt, p.Key(), time.Second, "config hash c2", func(p *nodes.PodStatus) bool { return p.ConfigHash == "c2" })
	if after.Restarts() != 0 || !after.Containers[0].StartedAt.Equal(before.Containers[0].StartedAt) {
		t.Errorf("container restarted on a config change: before %+v after %+v", before.Containers[0], after.Containers[0])
	}
}

func TestEmptyDirSharedAndDeletedPVKept(t *testing.T) {
	rt := newRuntime(t)
	pv := t.TempDir()
	w := container("writer", "sh", "-c", "echo shared > /scratch/f; echo kept > /data/pv.txt; sleep 3600")
	w.VolumeMounts = []plan.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "data", MountPath: "/data"}}
	rd := container("reader", "sh", "-c", "until cat /scratch/f; do sleep 0.2; done; sleep 3600")
	rd.VolumeMounts = []plan.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	p := testPod("vols", w, rd)
	p.Spec.Volumes = []plan.Volume{
		{Name: "scratch", Kind: "emptyDir"},
		{Name: "data", Kind: "persistentVolumeClaim", Path: pv, Source: "data -> pv-data"},
	}
	cleanup(t, rt)
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	waitLog(t, rt, p.Key(), "reader", "shared", 10*time.Second)
	podVols := filepath.Join(testStateDir, "volumes", "default_vols")
	if _, err := os.Stat(podVols); err != nil {
		t.Fatalf("pod volume dir: %v", err)
	}
	if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(podVols); !os.IsNotExist(err) {
		t.Errorf("emptyDir not deleted with the pod: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(pv, "pv.txt")); err != nil || string(b) != "kept\n" {
		t.Errorf("PV data lost: %q %v", b, err)
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	rt := newRuntime(t)
	p := testPod("crash", container("app", "sh", "-c", "echo run; exit 3"))
	cleanup(t, rt, p.Key())
	start := time.Now()
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "3 restarts", func(p *nodes.PodStatus) bool { return p.Restarts() >= 3 })
	// Back-off 200, 400, 800 ms before restarts 1..3.
	if el := time.Since(start); el < 1300*time.Millisecond {
		t.Errorf("3 restarts after %s: no back-off", el)
	}
	st = waitPod(t, rt, p.Key(), 10*time.Second, "CrashLoopBackOff", func(p *nodes.PodStatus) bool { return p.Reason == "CrashLoopBackOff" })
	if st.Phase != nodes.PhaseRunning {
		t.Errorf("phase %s, want Running while restarting", st.Phase)
	}
	var prev strings.Builder
	if err := rt.Logs(ctx, p.Key(), "app", false, true, &prev); err != nil || !strings.Contains(prev.String(), "run") {
		t.Errorf("previous log %q, %v", prev.String(), err)
	}
}

func TestOOMKilled(t *testing.T) {
	rt := newRuntime(t)
	c := container("hog", "sh", "-c", "dd if=/dev/zero of=/dev/null bs=128M count=4")
	c.Limits.Memory = 32 << 20
	p := testPod("oom", c)
	p.Spec.RestartPolicy = "Never"
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "Failed", func(p *nodes.PodStatus) bool { return p.Phase == nodes.PhaseFailed })
	if st.Reason != "OOMKilled" || st.Containers[0].Reason != "OOMKilled" {
		t.Fatalf("reason %q / %q, want OOMKilled; %+v", st.Reason, st.Containers[0].Reason, st)
	}
}

func TestLivenessRestartsAndReadiness(t *testing.T) {
	rt := newRuntime(t)
	live := container("live", "sh", "-c", "touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 3600")
	live.LivenessProbe = &plan.Probe{Exec: &plan.ExecAction{Command: []string{"cat", "/tmp/ok"}}, PeriodSeconds: 1, FailureThreshold: 1}
	p := testPod("liveness", live)
	p.Spec.TerminationGracePeriodSeconds = 1

	web := container("web", "sh", "-c", "sleep 1; exec "+httpd)
	web.Ports = []plan.ContainerPort{{Name: "http", ContainerPort: 8080}}
	web.ReadinessProbe = &plan.Probe{HTTPGet: &plan.HTTPGetAction{Path: "/", Port: plan.IntOrString{IsString: true, StrVal: "http"}}, PeriodSeconds: 1}
	never := container("never", "sleep", "3600")
	never.ReadinessProbe = &plan.Probe{TCPSocket: &plan.TCPSocketAction{Port: plan.IntOrString{IntVal: 9999}}, PeriodSeconds: 1}
	ready := testPod("ready", web)
	unready := testPod("unready", never)
	cleanup(t, rt, p.Key(), ready.Key(), unready.Key())
	for _, pod := range []*plan.Pod{p, ready, unready} {
		if err := rt.CreatePod(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	st := waitPod(t, rt, ready.Key(), 60*time.Second, "ready", func(p *nodes.PodStatus) bool { return p.Ready })
	if st.ReadySince.IsZero() || !st.Containers[0].Ready {
		t.Errorf("ready pod: %+v", st)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "liveness restart", func(p *nodes.PodStatus) bool { return p.Restarts() >= 1 })
	st = waitPod(t, rt, unready.Key(), 10*time.Second, "running", running)
	time.Sleep(1500 * time.Millisecond)
	st = waitPod(t, rt, unready.Key(), time.Second, "observed", func(*nodes.PodStatus) bool { return true })
	if st.Ready {
		t.Errorf("pod with a failing readiness probe reported ready: %+v", st)
	}
}

func TestReadoptAfterDaemonRestart(t *testing.T) {
	rt := newRuntime(t)
	p := testPod("adopt", container("app", "sleep", "3600"), container("late", "sh", "-c", "sleep 4; exit 1"))
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	before := waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	pid := taskPID(t, rt, containerID("default", "adopt", "", "app"))
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	rt2 := newRuntime(t)
	cleanup(t, rt2, p.Key())
	after := waitPod(t, rt2, p.Key(), 10*time.Second, "running", running)
	if after.Hash != p.Hash || after.IP != before.IP || after.Restarts() != 0 ||
		!after.Containers[0].StartedAt.Equal(before.Containers[0].StartedAt) {
		t.Errorf("re-adopted pod differs:\nbefore %+v\nafter  %+v", before, after)
	}
	// Supervision resumed: the new Runtime restarts the container that
	// exits after the re-adoption.
	waitPod(t, rt2, p.Key(), 20*time.Second, "late restarted", func(p *nodes.PodStatus) bool { return p.Containers[1].RestartCount >= 1 })
	if got := taskPID(t, rt2, containerID("default", "adopt", "", "app")); got != pid {
		t.Errorf("container restarted: pid %d -> %d", pid, got)
	}
	if err := rt2.CreatePod(ctx, p); err != nil { // same hash: left alone
		t.Fatal(err)
	}
	if got := taskPID(t, rt2, containerID("default", "adopt", "", "app")); got != pid {
		t.Errorf("CreatePod of the adopted pod restarted it")
	}
}

func taskPID(t *testing.T, rt *Runtime, id string) uint32 {
	t.Helper()
	c, err := rt.client.LoadContainer(rt.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.Task(rt.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return task.Pid()
}

func TestMissingImageDoesNotBlockOthers(t *testing.T) {
	rt := newRuntime(t)
	bad := testPod("badimage", plan.Container{Name: "app", Image: os.Getenv("BERTH_TEST_REGISTRY") + "/berth/missing:nope", ImagePullPolicy: "IfNotPresent"})
	good := testPod("goodimage", container("app", "sleep", "3600"))
	cleanup(t, rt, bad.Key(), good.Key())
	for _, p := range []*plan.Pod{bad, good} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// The first failure is ErrImagePull, then the pod waits out a back-off
	// between pulls (200 ms here) as ImagePullBackOff.
	st := waitPod(t, rt, bad.Key(), 30*time.Second, "ImagePullBackOff", func(p *nodes.PodStatus) bool { return p.Reason == "ImagePullBackOff" })
	if st.Phase != nodes.PhasePending || !strings.Contains(st.Message, "not found") || !strings.HasPrefix(st.Message, "Back-off pulling image") {
		t.Errorf("bad image pod: phase %s message %q", st.Phase, st.Message)
	}
	waitPod(t, rt, good.Key(), 60*time.Second, "running", running)
}

func TestStopPodKeepsStatusAndLogs(t *testing.T) {
	rt := newRuntime(t)
	c := container("app", "sh", "-c", "trap 'echo got-term; exit 0' TERM; echo started; while true; do sleep 0.1; done")
	c.PreStop = []string{"sh", "-c", "echo prestop > /proc/1/fd/1"}
	p := testPod("stop", c)
	p.Spec.TerminationGracePeriodSeconds = 15 // generous: a loaded CI host is slow to exec
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	waitLog(t, rt, p.Key(), "app", "started", 10*time.Second)
	if err := rt.StopPod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 5*time.Second, "terminated", func(p *nodes.PodStatus) bool {
		return p.Containers[0].State == nodes.StateTerminated
	})
	if st.Containers[0].ExitCode != 0 || st.Phase != nodes.PhaseFailed || st.Reason != "Stopped" || st.IP != "" {
		t.Errorf("stopped pod (want Failed, Stopped, IP released, exit 0 from the trap): %+v", st)
	}
	if err := rt.StopPod(ctx, p.Key(), time.Time{}); err != nil { // idempotent
		t.Fatal(err)
	}
	waitLog(t, rt, p.Key(), "app", "prestop", time.Second)
	waitLog(t, rt, p.Key(), "app", "got-term", time.Second)
}

// TestReadoptFinishedJobPodNotRerun: a pod that completed before the
// daemon restart stays completed (a finished Job is never re-run), and a
// container that exited while no daemon ran is restarted per its policy.
func TestReadoptFinishedJobPodNotRerun(t *testing.T) {
	rt := newRuntime(t)
	job := testPod("job", container("work", "sh", "-c", "echo done"))
	job.Spec.RestartPolicy = "Never"
	svc := testPod("svc", container("app", "sh", "-c", "sleep 2; exit 1"))
	for _, p := range []*plan.Pod{job, svc} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitPod(t, rt, job.Key(), 60*time.Second, "succeeded", func(p *nodes.PodStatus) bool { return p.Phase == nodes.PhaseSucceeded })
	waitPod(t, rt, svc.Key(), 60*time.Second, "running", running)
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // svc's container exits while no daemon runs
	rt2 := newRuntime(t)
	cleanup(t, rt2, job.Key(), svc.Key())
	st := waitPod(t, rt2, job.Key(), 5*time.Second, "observed", func(*nodes.PodStatus) bool { return true })
	if st.Phase != nodes.PhaseSucceeded || st.Restarts() != 0 {
		t.Errorf("finished pod after re-adoption: %+v", st)
	}
	waitPod(t, rt2, svc.Key(), 20*time.Second, "restart of the exited container", func(p *nodes.PodStatus) bool { return p.Restarts() >= 1 })
	time.Sleep(500 * time.Millisecond)
	var log strings.Builder
	if err := rt2.Logs(ctx, job.Key(), "work", false, false, &log); err != nil || strings.Count(log.String(), "done") != 1 {
		t.Errorf("job log %q (%v): re-run?", log.String(), err)
	}
}

// TestServiceLinksAndResolvConf: a container gets the Service variables
// of its namespace as the node knows them when it is created (not those
// of a Service added later, and none with enableServiceLinks: false),
// and a resolv.conf pointing at the cluster DNS; a hostNetwork pod keeps
// the host's.
func TestServiceLinksAndResolvConf(t *testing.T) {
	var svcs atomic.Pointer[[]plan.Service]
	svcs.Store(&[]plan.Service{{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", Ports: []plan.ServicePort{{Name: "http", Protocol: "TCP", Port: 80}}}})
	opts := testOptions(t)
	opts.ServiceEnv = func(ns string) []plan.EnvVar {
		p := &plan.Plan{Services: *svcs.Load()}
		return plan.ServiceEnv(p.ServicesIn(ns))
	}
	opts.DNS = &DNSConfig{Nameserver: "10.99.0.1", Domain: "cluster.local", Search: []string{"corp.example"}}
	rt := newRuntimeWith(t, opts)
	show := `env | grep _SERVICE_ | sort; echo links $(env | grep -c _SERVICE_HOST=); cat /etc/resolv.conf; sleep 3600`
	links := testPod("links", container("app", "sh", "-c", show))
	off := false
	nolinks := testPod("nolinks", container("app", "sh", "-c", show))
	nolinks.Spec.EnableServiceLinks = &off
	cleanup(t, rt, links.Key(), nolinks.Key())
	for _, p := range []*plan.Pod{links, nolinks} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitLog(t, rt, links.Key(), "app", "WEB_SERVICE_HOST=10.96.0.10\nWEB_SERVICE_PORT=80\nWEB_SERVICE_PORT_HTTP=80\nlinks 1\n", 60*time.Second)
	resolv := "search default.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.99.0.1\noptions ndots:5\n"
	waitLog(t, rt, links.Key(), "app", resolv, 10*time.Second)
	waitLog(t, rt, nolinks.Key(), "app", "links 0\n"+resolv, 60*time.Second)

	// A Service added while the pod runs is not pushed into it.
	svcs.Store(&[]plan.Service{{Namespace: "default", Name: "late", ClusterIP: "10.96.0.11", Ports: []plan.ServicePort{{Protocol: "TCP", Port: 81}}}})
	time.Sleep(300 * time.Millisecond)
	var out strings.Builder
	if err := rt.Logs(ctx, links.Key(), "app", false, false, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "LATE_") || strings.Count(out.String(), "links ") != 1 {
		t.Errorf("a running container changed with the Service table:\n%s", out.String())
	}
}

// TestDeletedContainerMadeAgain: a container deleted behind berth's back
// (its task killed and deleted, then the container, as `ctr task kill`,
// `ctr task rm` and `ctr c rm` do) is made again from the pod's spec and
// runs. After a daemon restart the recorded spec lacks the pod's secret
// values, so the pod is reported Failed instead, for the reconciler to
// replace with the plan's.
func TestDeletedContainerMadeAgain(t *testing.T) {
	rt := newRuntime(t)
	p := testPod("deleted", container("app", "sleep", "3600"), container("side", "sleep", "3600"))
	handedOver := false
	t.Cleanup(func() {
		if !handedOver { // the test stopped before the second Runtime took the pod
			if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
				t.Errorf("remove %s: %v", p.Key(), err)
			}
			rt.Close()
		}
	})
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	app := containerID("default", "deleted", "", "app")
	pid := taskPID(t, rt, app)
	deleteBehindBerth(t, rt, app)
	st := waitPod(t, rt, p.Key(), 30*time.Second, "app made again", func(s *nodes.PodStatus) bool {
		return running(s) && s.Containers[0].RestartCount >= 1
	})
	if got := taskPID(t, rt, app); got == pid {
		t.Errorf("app still runs as pid %d", got)
	}
	if st.Containers[1].RestartCount != 0 {
		t.Errorf("the other container was restarted: %+v", st.Containers[1])
	}

	handedOver = true
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	rt2 := newRuntime(t)
	cleanup(t, rt2, p.Key())
	waitPod(t, rt2, p.Key(), 10*time.Second, "re-adopted", running)
	deleteBehindBerth(t, rt2, containerID("default", "deleted", "", "side"))
	st = waitPod(t, rt2, p.Key(), 30*time.Second, "Failed", func(s *nodes.PodStatus) bool { return s.Phase == nodes.PhaseFailed })
	if st.Reason != ReasonContainerMissing || st.Ready {
		t.Errorf("pod with a lost container: %+v", st)
	}
}

// deleteBehindBerth kills and deletes a container's task, then the
// container with its snapshot, retrying while the supervisor races it.
func deleteBehindBerth(t *testing.T, rt *Runtime, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := rt.client.LoadContainer(rt.ctx, id)
		if errdefs.IsNotFound(err) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if task, err := c.Task(rt.ctx, nil); err == nil {
			_ = task.Kill(rt.ctx, syscall.SIGKILL)
			_, _ = task.Delete(rt.ctx, containerd.WithProcessKill)
		}
		err = c.Delete(rt.ctx, containerd.WithSnapshotCleanup)
		if err == nil || errdefs.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delete %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
