package containerd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

func TestBackoff(t *testing.T) {
	b := &backoff{base: 10 * time.Second, max: 5 * time.Minute, reset: 10 * time.Minute}
	var got []time.Duration
	for range 8 {
		got = append(got, b.next(time.Second))
	}
	want := []time.Duration{10, 20, 40, 80, 160, 300, 300, 300}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if d := b.next(11 * time.Minute); d != 10*time.Second {
		t.Errorf("after 11 min running: %s, want reset to 10s", d)
	}
}

func TestShouldRestart(t *testing.T) {
	for _, tc := range []struct {
		policy string
		code   int
		want   bool
	}{
		{"Always", 0, true}, {"Always", 1, true}, {"", 0, true},
		{"OnFailure", 0, false}, {"OnFailure", 2, true},
		{"Never", 0, false}, {"Never", 137, false},
	} {
		if got := shouldRestart(tc.policy, tc.code); got != tc.want {
			t.Errorf("shouldRestart(%s, %d) = %v", tc.policy, tc.code, got)
		}
	}
}

func TestPhase(t *testing.T) {
	run := nodes.ContainerStatus{Name: "a", State: nodes.StateRunning, StartedAt: time.Unix(1, 0)}
	done := nodes.ContainerStatus{Name: "a", State: nodes.StateTerminated, Reason: "Completed"}
	oom := nodes.ContainerStatus{Name: "a", State: nodes.StateTerminated, ExitCode: 137, Reason: "OOMKilled"}
	pull := nodes.ContainerStatus{Name: "a", State: nodes.StateWaiting, Reason: "ErrImagePull", Message: "not found"}
	crash := nodes.ContainerStatus{Name: "a", State: nodes.StateWaiting, Reason: "CrashLoopBackOff", RestartCount: 2, StartedAt: time.Unix(1, 0)}
	creating := nodes.ContainerStatus{Name: "a", State: nodes.StateWaiting, Reason: "ContainerCreating"}
	initRun := nodes.ContainerStatus{Name: "i", State: nodes.StateRunning}
	initFail := nodes.ContainerStatus{Name: "i", State: nodes.StateTerminated, ExitCode: 1, Reason: "Error"}
	missing := nodes.ContainerStatus{Name: "b", State: nodes.StateTerminated, Reason: ReasonContainerMissing}
	for _, tc := range []struct {
		name          string
		policy        string
		inits, apps   []nodes.ContainerStatus
		phase, reason string
		stopping      bool
	}{
		{"running", "Always", nil, []nodes.ContainerStatus{run}, nodes.PhaseRunning, "", false},
		{"creating", "Always", nil, []nodes.ContainerStatus{creating}, nodes.PhasePending, "", false},
		{"pull error", "Always", nil, []nodes.ContainerStatus{pull}, nodes.PhasePending, "ErrImagePull", false},
		{"crash loop", "Always", nil, []nodes.ContainerStatus{crash}, nodes.PhaseRunning, "CrashLoopBackOff", false},
		{"succeeded", "Never", nil, []nodes.ContainerStatus{done}, nodes.PhaseSucceeded, "", false},
		{"oom", "Never", nil, []nodes.ContainerStatus{oom}, nodes.PhaseFailed, "OOMKilled", false},
		{"one of two done", "Never", nil, []nodes.ContainerStatus{done, run}, nodes.PhaseRunning, "", false},
		{"init running", "Always", []nodes.ContainerStatus{initRun}, []nodes.ContainerStatus{creating}, nodes.PhasePending, "", false},
		{"init failed never", "Never", []nodes.ContainerStatus{initFail}, []nodes.ContainerStatus{creating}, nodes.PhaseFailed, "Init:Error", false},
		{"init done", "Always", []nodes.ContainerStatus{done}, []nodes.ContainerStatus{run}, nodes.PhaseRunning, "", false},
		// Deleted outside berth and not to be made again: the reconciler
		// replaces a Failed pod that should run.
		{"container missing", "Always", nil, []nodes.ContainerStatus{run, missing}, nodes.PhaseFailed, ReasonContainerMissing, false},
		{"init missing", "Always", []nodes.ContainerStatus{missing}, []nodes.ContainerStatus{creating}, nodes.PhaseFailed, ReasonContainerMissing, false},
		// All exited, before the restart: still Running unless the pod
		// is stopping (kubelet getPhase, pod not terminal).
		{"exited, restarting", "Always", nil, []nodes.ContainerStatus{oom}, nodes.PhaseRunning, "OOMKilled", false},
		{"completed, restarting", "Always", nil, []nodes.ContainerStatus{done}, nodes.PhaseRunning, "", false},
		{"failed, restarting on failure", "OnFailure", nil, []nodes.ContainerStatus{oom}, nodes.PhaseRunning, "OOMKilled", false},
		{"completed on failure", "OnFailure", nil, []nodes.ContainerStatus{done}, nodes.PhaseSucceeded, "", false},
		{"exited while stopping", "Always", nil, []nodes.ContainerStatus{oom}, nodes.PhaseFailed, "OOMKilled", true},
		{"completed while stopping", "Always", nil, []nodes.ContainerStatus{done}, nodes.PhaseSucceeded, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ph, reason, _ := phase(tc.policy, tc.inits, tc.apps, "", "", tc.stopping)
			if ph != tc.phase || reason != tc.reason {
				t.Errorf("phase = %s %q, want %s %q", ph, reason, tc.phase, tc.reason)
			}
		})
	}
}

func TestRegistryHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://index.docker.io/v1/": "registry-1.docker.io",
		"docker.io":                   "registry-1.docker.io",
		"127.0.0.1:5000":              "127.0.0.1:5000",
		"http://reg.example:8080/x":   "reg.example:8080",
		"ghcr.io":                     "ghcr.io",
	} {
		if got := registryHost(in); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRegistryHost(f *testing.F) {
	f.Add("https://index.docker.io/v1/")
	f.Add("127.0.0.1:5000")
	f.Fuzz(func(t *testing.T, s string) {
		h := registryHost(s)
		if strings.Contains(h, "/") {
			t.Errorf("registryHost(%q) = %q contains a slash", s, h)
		}
	})
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                           "docker.io/library/busybox:latest",
		"127.0.0.1:5000/berth/busybox:test": "127.0.0.1:5000/berth/busybox:test",
	} {
		got, err := normalize(in)
		if err != nil || got != want {
			t.Errorf("normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normalize("bad ref!"); err == nil {
		t.Error("invalid reference accepted")
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("busybox")
	f.Add("127.0.0.1:5000/a/b:c@sha256:0000")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := normalize(s)
		if err != nil {
			return
		}
		if n2, err := normalize(n); err != nil || n2 != n {
			t.Errorf("normalize not idempotent: %q -> %q -> %q (%v)", s, n, n2, err)
		}
	})
}

func TestCapNames(t *testing.T) {
	got := capNames([]string{"net_admin", "CAP_SYS_TIME"})
	if !slices.Equal(got, []string{"CAP_NET_ADMIN", "CAP_SYS_TIME"}) {
		t.Errorf("capNames = %v", got)
	}
}

func TestEnv(t *testing.T) {
	in := specInput{
		pod: &plan.Pod{Namespace: "ns", Name: "p"},
		ip:  "10.0.0.5",
		c: plan.Container{Env: []plan.EnvVar{
			{Name: "A", Value: plan.Plain("1")},
			{Name: "S", Value: plan.Sensitive("pw")},
			{Name: "IP", FieldRef: "status.podIP"},
			{Name: "N", FieldRef: "metadata.name"},
			{Name: "NS", FieldRef: "metadata.namespace"},
		}},
	}
	want := []string{"A=1", "S=pw", "IP=10.0.0.5", "N=p", "NS=ns"}
	if got := env(in); !slices.Equal(got, want) {
		t.Errorf("env = %v, want %v", got, want)
	}
	// Service variables come after the container's own, which win.
	in.serviceEnv = []plan.EnvVar{{Name: "A", Value: plan.Plain("svc")}, {Name: "WEB_SERVICE_HOST", Value: plan.Plain("10.96.0.1")}}
	want = append(want, "WEB_SERVICE_HOST=10.96.0.1")
	if got := env(in); !slices.Equal(got, want) {
		t.Errorf("env with Service variables = %v, want %v", got, want)
	}
}

func TestProbePortAndTiming(t *testing.T) {
	c := plan.Container{Name: "c", Ports: []plan.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	if p, err := probePort(c, plan.IntOrString{IsString: true, StrVal: "http"}); err != nil || p != 8080 {
		t.Errorf("named port: %d %v", p, err)
	}
	if _, err := probePort(c, plan.IntOrString{IsString: true, StrVal: "nope"}); err == nil {
		t.Error("unknown named port accepted")
	}
	tm := timing(&plan.Probe{})
	if tm.period != 10*time.Second || tm.timeout != time.Second || tm.failure != 3 || tm.success != 1 {
		t.Errorf("defaults %+v", tm)
	}
}

func TestContainerID(t *testing.T) {
	if id := containerID("default", "web", "berth-x", "app"); id != "default_web_app" {
		t.Errorf("id %q", id)
	}
	long := containerID(strings.Repeat("n", 63), strings.Repeat("p", 63), "berth-0123456789ab", "app")
	if len(long) > 76 || !strings.HasPrefix(long, "berth-0123456789ab") {
		t.Errorf("long id %q", long)
	}
}

func TestVolumeMountsBindSubPathTargetsOnly(t *testing.T) {
	in := specInput{
		c:      plan.Container{Name: "c", VolumeMounts: []plan.VolumeMount{{Name: "v", MountPath: "/m", SubPath: "x"}}},
		mounts: map[string]string{"v": "/tmp/v"},
	}
	if _, err := volumeMounts(in); err == nil {
		t.Error("subPath without a prepared mount point accepted")
	}
	in.subPaths = map[int]string{0: "/state/volume-subpaths/v/c/0"}
	ms, err := volumeMounts(in)
	if err != nil {
		t.Fatal(err)
	}
	// Never /tmp/v/x: runc would follow a symlink planted there.
	if len(ms) != 1 || ms[0].Source != "/state/volume-subpaths/v/c/0" {
		t.Errorf("mounts %+v", ms)
	}
}

func TestCreateReason(t *testing.T) {
	pull := fmt.Errorf("pull r/x:1: %w", errors.New("not found"))
	never := fmt.Errorf("image r/x:1: %w", errNeverPull)
	create := &createError{errors.New("volumes: no such PVC")}
	for _, tc := range []struct {
		err      error
		failures int
		reason   string
		msg      string
	}{
		{pull, 1, "ErrImagePull", "pull r/x:1: not found"},
		{pull, 2, "ImagePullBackOff", "Back-off pulling image: pull r/x:1: not found"},
		{pull, 7, "ImagePullBackOff", "Back-off pulling image: pull r/x:1: not found"},
		{never, 1, "ErrImageNeverPull", never.Error()},
		{never, 3, "ErrImageNeverPull", never.Error()},
		{create, 1, "CreateContainerError", "volumes: no such PVC"},
		{create, 4, "CreateContainerError", "volumes: no such PVC"},
		{&configError{errors.New("container has runAsNonRoot")}, 3, "CreateContainerConfigError", "container has runAsNonRoot"},
	} {
		reason, msg := createReason(tc.err, tc.failures)
		if reason != tc.reason || msg != tc.msg {
			t.Errorf("createReason(%v, %d) = %q, %q; want %q, %q", tc.err, tc.failures, reason, msg, tc.reason, tc.msg)
		}
	}
}

func TestRecordedNetns(t *testing.T) {
	withLabel := map[string]map[string]string{"c1": {labelNetns: "/run/netns/berth-abc"}}
	for _, tc := range []struct {
		name   string
		rec    record
		labels map[string]map[string]string
		want   string
	}{
		{"recorded", record{ID: "berth-abc", Netns: "/run/berth/netns/berth-abc"}, withLabel, "/run/berth/netns/berth-abc"},
		{"older pod: its containers' label", record{ID: "berth-abc"}, withLabel, "/run/netns/berth-abc"},
		{"older pod, no container yet", record{ID: "berth-abc"}, nil, "/run/netns/berth-abc"},
	} {
		if got := recordedNetns(tc.rec, tc.labels); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestReadRecordOfPlanV1: a state file written by a daemon of plan
// format v1 (credentials in imagePullSecrets) is still adopted.
func TestReadRecordOfPlanV1(t *testing.T) {
	v1 := `{"pod":{"namespace":"default","name":"p","owner":{"kind":"Pod","name":"p"},"hash":"h",
		"spec":{"containers":[{"name":"c","image":"i","imagePullPolicy":"Always","requests":{},"limits":{}}],
		"imagePullSecrets":[{"registry":"r.example","username":"(sensitive sha256:0)","password":"(sensitive sha256:1)"}],
		"restartPolicy":"Always","terminationGracePeriodSeconds":30}},"id":"berth-x","ip":"10.88.0.5"}`
	rec, err := readRecord([]byte(v1))
	if err != nil || rec.Pod == nil || rec.Pod.Key() != "default/p" || rec.IP != "10.88.0.5" || len(rec.Pod.Spec.Containers) != 1 {
		t.Fatalf("record %+v, %v", rec, err)
	}
}
