package containerd

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/testimage"
)

func TestInitContainersRunInOrder(t *testing.T) {
	rt := newRuntime(t)
	mount := []plan.VolumeMount{{Name: "work", MountPath: "/w"}}
	i1 := container("first", "sh", "-c", "echo one >> /w/order")
	i2 := container("second", "sh", "-c", "sleep 0.3; echo two >> /w/order")
	app := container("app", "sh", "-c", "cat /w/order; sleep 3600")
	i1.VolumeMounts, i2.VolumeMounts, app.VolumeMounts = mount, mount, mount
	p := testPod("inits", app)
	p.Spec.InitContainers = []plan.Container{i1, i2}
	p.Spec.Volumes = []plan.Volume{{Name: "work", Kind: "emptyDir"}}
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	waitLog(t, rt, p.Key(), "app", "one\ntwo\n", 10*time.Second)
}

func TestSecurityContextAndResources(t *testing.T) {
	rt := newRuntime(t)
	uid, gid := int64(65534), int64(65534)
	c := container("app", "sh", "-c", "echo uid=$(id -u) gid=$(id -g); touch /rootfile 2>/dev/null || echo readonly-root; grep CapEff /proc/self/status; sleep 3600")
	c.SecurityContext = &plan.SecurityContext{RunAsUser: &uid, RunAsGroup: &gid, ReadOnlyRootFilesystem: true, Capabilities: &plan.Capabilities{Drop: []string{"ALL"}}}
	c.Limits = plan.Resources{MilliCPU: 500, Memory: 64 << 20}
	c.Requests = plan.Resources{MilliCPU: 250}
	p := testPod("secure", c)
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	log := waitLog(t, rt, p.Key(), "app", "CapEff", 10*time.Second)
	for _, want := range []string{"uid=65534 gid=65534", "readonly-root", "CapEff:\t0000000000000000"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	cont, err := rt.client.LoadContainer(rt.ctx, containerID("default", "secure", "", "app"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cont.Spec(rt.ctx)
	if err != nil {
		t.Fatal(err)
	}
	res := spec.Linux.Resources
	if *res.Memory.Limit != 64<<20 || *res.CPU.Quota != 50000 || *res.CPU.Period != 100000 || *res.CPU.Shares != 256 {
		t.Errorf("cgroup limits: memory %d quota %d period %d shares %d", *res.Memory.Limit, *res.CPU.Quota, *res.CPU.Period, *res.CPU.Shares)
	}
	labels, _ := cont.Labels(rt.ctx)
	for _, l := range []string{nodes.LabelPod, nodes.LabelNamespace, nodes.LabelPodHash, nodes.LabelContainer, nodes.LabelOwner, nodes.LabelManaged} {
		if labels[l] == "" {
			t.Errorf("container lacks label %s", l)
		}
	}
}

func TestHostNetwork(t *testing.T) {
	rt := newRuntime(t)
	p := testPod("hostnet", container("app", "sh", "-c", "hostname; head -1 /etc/hosts; sleep 3600"))
	p.Spec.HostNetwork = true
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	if st.IP != hostIP() {
		t.Errorf("hostNetwork pod IP %s, want the node's %s", st.IP, hostIP())
	}
	waitLog(t, rt, p.Key(), "app", hostname(), 10*time.Second)
	// Its /etc/hosts is the node's, as the kubelet writes it.
	waitLog(t, rt, p.Key(), "app", "# Kubernetes-managed hosts file (host network).", 10*time.Second)
}

func TestLogsFollow(t *testing.T) {
	rt := newRuntime(t)
	p := testPod("follow", container("app", "sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done"))
	p.Spec.RestartPolicy = "Never"
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "started", func(p *nodes.PodStatus) bool { return !p.Containers[0].StartedAt.IsZero() })
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var buf bytes.Buffer
	if err := rt.Logs(c, p.Key(), "", true, false, &buf); err != nil {
		t.Fatal(err)
	}
	if c.Err() != nil {
		t.Fatal("follow did not end when the container finished")
	}
	if !strings.Contains(buf.String(), "line-1\n") || !strings.Contains(buf.String(), "line-5\n") {
		t.Errorf("followed log %q", buf.String())
	}
	st := waitPod(t, rt, p.Key(), 5*time.Second, "succeeded", func(p *nodes.PodStatus) bool { return p.Phase == nodes.PhaseSucceeded })
	if st.Containers[0].Reason != "Completed" {
		t.Errorf("status %+v", st)
	}
	// The reconciler stops a finished Job pod to release its IP; it stays
	// Succeeded.
	if err := rt.StopPod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	st = waitPod(t, rt, p.Key(), time.Second, "observed", func(*nodes.PodStatus) bool { return true })
	if st.Phase != nodes.PhaseSucceeded || st.IP != "" {
		t.Errorf("finished pod after StopPod: phase %s IP %q", st.Phase, st.IP)
	}
	q := *p
	q.Hash = "other"
	if err := rt.CreatePod(ctx, &q); err == nil {
		t.Error("CreatePod with another hash over an existing pod succeeded")
	}
}

func TestRotate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.log")
	if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rotate(p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p + ".1"); string(b) != "old\n" {
		t.Errorf("rotated %q", b)
	}
	if st, _ := os.Stat(p); st.Size() != 0 {
		t.Error("log not truncated")
	}
}

// TestPullSecretsAndPolicy pulls through a registry that wants basic
// auth: without the pod's imagePullSecrets the pull fails with the
// registry's message, with them it succeeds; policy Never never pulls.
func TestPullSecretsAndPolicy(t *testing.T) {
	if testMissing != "" {
		newRuntime(t) // skips
	}
	upstream, _ := url.Parse("http://" + os.Getenv("BERTH_TEST_REGISTRY"))
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != "puller" || pw != "hunter2" {
			w.Header().Set("WWW-Authenticate", `Basic realm="berth-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	opts := testOptions(t)
	opts.InsecureRegistries = append(opts.InsecureRegistries, host)
	rt, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	image := host + "/" + testimage.Repository
	anon := testPod("noauth", plan.Container{Name: "app", Image: image, ImagePullPolicy: "Always", Command: []string{"sleep", "3600"}})
	authed := testPod("auth", plan.Container{Name: "app", Image: image, ImagePullPolicy: "Always", Command: []string{"sleep", "3600"}})
	authed.Spec.RegistryAuths = []plan.RegistryAuth{{Registry: host, Username: plan.Sensitive("puller"), Password: plan.Sensitive("hunter2")}}
	never := testPod("never", plan.Container{Name: "app", Image: host + "/berth/absent:x", ImagePullPolicy: "Never"})
	cleanup(t, rt, anon.Key(), authed.Key(), never.Key())
	for _, p := range []*plan.Pod{anon, authed, never} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitPod(t, rt, authed.Key(), 60*time.Second, "running", running)
	st := waitPod(t, rt, anon.Key(), 30*time.Second, "ImagePullBackOff", func(p *nodes.PodStatus) bool { return p.Reason == "ImagePullBackOff" })
	if !strings.Contains(st.Message, "authorization") {
		t.Errorf("pull error lacks the registry's message: %q", st.Message)
	}
	if strings.Contains(st.Message, "hunter2") {
		t.Error("password in the pod message")
	}
	st = waitPod(t, rt, never.Key(), 30*time.Second, "ErrImageNeverPull", func(p *nodes.PodStatus) bool { return p.Reason == "ErrImageNeverPull" })
	if !strings.Contains(st.Message, "imagePullPolicy is Never") {
		t.Errorf("policy Never message %q", st.Message)
	}
}

// TestEmbeddedContainerd starts berth's own containerd when none is given
// and the system socket does not answer, imports an image into it, and
// stops it on Close.
func TestEmbeddedContainerd(t *testing.T) {
	if testMissing != "" {
		newRuntime(t) // skips
	}
	dir, err := os.MkdirTemp("", "berth-emb-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opts := testOptions(t)
	opts.Address = ""
	opts.systemSocket = filepath.Join(dir, "absent.sock")
	opts.StateDir = dir
	opts.RunDir = filepath.Join(dir, "run")
	opts.Namespace = "berthtest-embedded"
	rt, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rt.daemon == nil {
		t.Fatal("no embedded containerd started")
	}
	a, err := testimage.Build(testimage.BusyboxPath, "example.test/berth/busybox:embedded")
	if err != nil {
		t.Fatal(err)
	}
	names, err := rt.ImportImage(context.Background(), bytes.NewReader(a.Data))
	if err != nil || len(names) != 1 || names[0] != "example.test/berth/busybox:embedded" {
		t.Fatalf("import: %v %v", names, err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(context.Background(), filepath.Join(dir, "containerd", "containerd.sock")); err == nil {
		t.Error("embedded containerd still answers after Close")
	}
	// Its content is gone with the test dir; unmount what it left mounted.
	cleanupMounts(t, dir)
}

func cleanupMounts(t *testing.T, dir string) {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir) {
			t.Logf("left mounted: %s", f[4])
		}
	}
}

func TestHostPort(t *testing.T) {
	rt := newRuntime(t)
	web := container("web", "sh", "-c", httpd)
	web.Ports = []plan.ContainerPort{{ContainerPort: 8080, HostPort: 18089}}
	p := testPod("hostport", web)
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	url := "http://" + hostIP() + ":18089/"
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hostPort %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStartupProbe: readiness waits for the startup probe; a startup probe
// that never passes restarts the container.
func TestStartupProbe(t *testing.T) {
	rt := newRuntime(t)
	slow := container("slow", "sh", "-c", "sleep 1.5; touch /tmp/up; sleep 3600")
	slow.StartupProbe = &plan.Probe{Exec: &plan.ExecAction{Command: []string{"cat", "/tmp/up"}}, PeriodSeconds: 1, FailureThreshold: 10}
	stuck := container("stuck", "sleep", "3600")
	stuck.StartupProbe = &plan.Probe{Exec: &plan.ExecAction{Command: []string{"cat", "/tmp/never"}}, PeriodSeconds: 1, FailureThreshold: 2}
	a, b := testPod("startup-ok", slow), testPod("startup-stuck", stuck)
	b.Spec.TerminationGracePeriodSeconds = 1
	cleanup(t, rt, a.Key(), b.Key())
	for _, p := range []*plan.Pod{a, b} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	st := waitPod(t, rt, a.Key(), 60*time.Second, "running", running)
	if st.Ready {
		t.Error("ready before the startup probe passed")
	}
	st = waitPod(t, rt, a.Key(), 20*time.Second, "ready", func(p *nodes.PodStatus) bool { return p.Ready })
	if st.Restarts() != 0 {
		t.Errorf("slow starter restarted: %+v", st)
	}
	waitPod(t, rt, b.Key(), 30*time.Second, "restart by the startup probe", func(p *nodes.PodStatus) bool { return p.Restarts() >= 1 })
}

func TestPrivilegedAndAddedCapabilities(t *testing.T) {
	rt := newRuntime(t)
	priv := container("app", "sh", "-c", "grep CapEff /proc/self/status; ls /dev | grep -c . ; sleep 3600")
	priv.SecurityContext = &plan.SecurityContext{Privileged: true}
	add := container("app", "sh", "-c", "grep CapEff /proc/self/status; sleep 3600")
	// Kubernetes does not check capability names, and the runtime reads
	// them in any case, with or without CAP_.
	add.SecurityContext = &plan.SecurityContext{Capabilities: &plan.Capabilities{Drop: []string{"all"}, Add: []string{"net_admin"}}}
	a, b := testPod("privileged", priv), testPod("netadmin", add)
	cleanup(t, rt, a.Key(), b.Key())
	for _, p := range []*plan.Pod{a, b} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitPod(t, rt, a.Key(), 60*time.Second, "running", running)
	waitPod(t, rt, b.Key(), 60*time.Second, "running", running)
	log := waitLog(t, rt, a.Key(), "app", "CapEff", 10*time.Second)
	if !strings.Contains(log, "CapEff:\t000001ff") {
		t.Errorf("privileged container lacks capabilities: %q", log)
	}
	// CAP_NET_ADMIN is bit 12: 0x1000.
	waitLog(t, rt, b.Key(), "app", "CapEff:\t0000000000001000", 10*time.Second)
}
