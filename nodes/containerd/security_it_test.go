package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

func i64(v int64) *int64 { return &v }

// TestUsersGroupsAndFSGroup: the uid, gid and groups the container's
// process gets from runAsUser, runAsGroup, fsGroup and
// supplementalGroups, and the group and mode of the volumes berth
// writes (setgid directories: what the process creates keeps the group).
func TestUsersGroupsAndFSGroup(t *testing.T) {
	rt := newRuntime(t)
	c := container("app", "sh", "-c", `echo "id=$(id -u):$(id -g):$(id -G | tr ' ' '\n' | sort -n | tr '\n' ',')"
ls -lnd /scratch | sed 's/^\([^ ]*\) *[0-9]* *\([0-9]*\) *\([0-9]*\).*/scratch=\1:\2:\3/'
touch /scratch/made && ls -ln /scratch/made | sed 's/^\([^ ]*\) *[0-9]* *\([0-9]*\) *\([0-9]*\).*/made=\1:\2:\3/'
ls -lnL /conf/key | sed 's/^\([^ ]*\) *[0-9]* *\([0-9]*\) *\([0-9]*\).*/key=\1:\2:\3/'
echo done; sleep 3600`)
	c.VolumeMounts = []plan.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "conf", MountPath: "/conf"}}
	c.SecurityContext = &plan.SecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000), SupplementalGroups: []int64{2000, 4000}}
	p := testPod("ids", c)
	p.Spec.SecurityContext = &plan.PodSecurity{FSGroup: i64(2000)}
	p.Spec.Volumes = []plan.Volume{
		{Name: "scratch", Kind: "emptyDir"},
		{Name: "conf", Kind: "configMap", Files: []plan.File{{Path: "key", Mode: 0o400, Data: plan.Plain("v")}}},
	}
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	log := waitLog(t, rt, p.Key(), "app", "done", 60*time.Second)
	for _, want := range []string{
		"id=1000:3000:2000,3000,4000,",
		"scratch=drwxrwsrwx:0:2000",
		"made=-rw-r--r--:1000:2000",
		"key=-r--r-----:0:2000",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestRunAsNonRoot: a container whose user would be root (the image has
// none) is not started: it waits with the kubelet's reason and message,
// which the pod status shows; with a non-root runAsUser it runs.
func TestRunAsNonRoot(t *testing.T) {
	rt := newRuntime(t)
	root := container("app", "sh", "-c", "echo started; sleep 3600")
	root.SecurityContext = &plan.SecurityContext{RunAsNonRoot: true}
	user := container("app", "sh", "-c", "echo uid=$(id -u); sleep 3600")
	user.SecurityContext = &plan.SecurityContext{RunAsNonRoot: true, RunAsUser: i64(1000)}
	refused, runs := testPod("nonroot-refused", root), testPod("nonroot-runs", user)
	cleanup(t, rt, refused.Key(), runs.Key())
	for _, p := range []*plan.Pod{refused, runs} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	want := `container has runAsNonRoot and image will run as root (pod: "nonroot-refused_default", container: app)`
	st := waitPod(t, rt, refused.Key(), 60*time.Second, "CreateContainerConfigError", func(p *nodes.PodStatus) bool {
		return len(p.Containers) == 1 && p.Containers[0].Reason == "CreateContainerConfigError"
	})
	if c := st.Containers[0]; c.State != nodes.StateWaiting || c.Message != want || st.Reason != "CreateContainerConfigError" || st.Message != want {
		t.Errorf("status: pod %s %q, container %+v; want the message %q", st.Reason, st.Message, c, want)
	}
	waitLog(t, rt, runs.Key(), "app", "uid=1000", 60*time.Second)
	if buf := readLog(t, rt, refused.Key(), "app"); strings.Contains(buf, "started") {
		t.Errorf("the refused container ran: %s", buf)
	}
}

// TestNoNewPrivsAndSeccomp: no_new_privs exactly when
// allowPrivilegeEscalation is false, as the kubelet sets it, and each
// seccompProfile type, read from /proc/self/status; a Localhost profile
// comes from the node's directory and is enforced.
func TestNoNewPrivsAndSeccomp(t *testing.T) {
	profiles := t.TempDir()
	// Deny mkdir with EPERM, allow the rest.
	if err := os.WriteFile(filepath.Join(profiles, "no-mkdir.json"), []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.SeccompProfileRoot = profiles
	rt := newRuntimeWith(t, opts)
	script := `grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
if mkdir /tmp/d 2>/dev/null; then echo mkdir=ok; else echo mkdir=denied; fi
echo done; sleep 3600`
	sc := func(s *plan.SecurityContext) plan.Container {
		c := container("app", "sh", "-c", script)
		c.SecurityContext = s
		return c
	}
	f := false
	tests := []struct {
		pod  *plan.Pod
		want []string
	}{
		{testPod("nnp-default", sc(nil)), []string{"NoNewPrivs:\t0", "Seccomp:\t2", "mkdir=ok"}},
		{testPod("nnp-false", sc(&plan.SecurityContext{AllowPrivilegeEscalation: &f})), []string{"NoNewPrivs:\t1", "Seccomp:\t2"}},
		{testPod("seccomp-unconfined", sc(&plan.SecurityContext{Seccomp: &plan.SeccompProfile{Type: "Unconfined"}})), []string{"Seccomp:\t0"}},
		{testPod("seccomp-localhost", sc(&plan.SecurityContext{Seccomp: &plan.SeccompProfile{Type: "Localhost", LocalhostProfile: "no-mkdir.json"}})), []string{"Seccomp:\t2", "mkdir=denied"}},
	}
	missing := testPod("seccomp-missing", sc(&plan.SecurityContext{Seccomp: &plan.SeccompProfile{Type: "Localhost", LocalhostProfile: "nope.json"}}))
	keys := []string{missing.Key()}
	for _, tt := range tests {
		keys = append(keys, tt.pod.Key())
	}
	cleanup(t, rt, keys...)
	for _, p := range append([]*plan.Pod{missing}, func() (ps []*plan.Pod) {
		for _, tt := range tests {
			ps = append(ps, tt.pod)
		}
		return
	}()...) {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		log := waitLog(t, rt, tt.pod.Key(), "app", "done", 60*time.Second)
		for _, w := range tt.want {
			if !strings.Contains(log, w) {
				t.Errorf("%s: lacks %q:\n%s", tt.pod.Name, w, log)
			}
		}
	}
	waitPod(t, rt, missing.Key(), 30*time.Second, "CreateContainerError for the missing profile", func(p *nodes.PodStatus) bool {
		return p.Reason == "CreateContainerError" && strings.Contains(p.Message, "nope.json") && strings.Contains(p.Message, "--seccomp-profile-root")
	})
}

// TestSysctls: the pod's sysctls are set in its own namespaces, seen by
// every container, and the host's values are left alone.
func TestSysctls(t *testing.T) {
	rt := newRuntime(t)
	hostRange, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Fatal(err)
	}
	script := `echo range=$(cat /proc/sys/net/ipv4/ip_local_port_range | tr '\t' ' ') shm=$(cat /proc/sys/kernel/shm_rmid_forced); echo done; sleep 3600`
	p := testPod("sysctls", container("a", "sh", "-c", script), container("b", "sh", "-c", script))
	p.Spec.SecurityContext = &plan.PodSecurity{Sysctls: []plan.Sysctl{
		{Name: "net.ipv4.ip_local_port_range", Value: "20000 20999"},
		{Name: "kernel.shm_rmid_forced", Value: "1"},
	}}
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"a", "b"} {
		waitLog(t, rt, p.Key(), c, "range=20000 20999 shm=1", 60*time.Second)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); string(now) != string(hostRange) {
		t.Errorf("the host's port range changed: %q, was %q", now, hostRange)
	}
}

// TestHostPIDAndIPC: hostPID shows the host's processes (its pid 1)
// and hostIPC puts the pod in the host's IPC namespace with its
// /dev/shm; a plain pod sees neither, and its containers share their
// pod's IPC namespace.
func TestHostPIDAndIPC(t *testing.T) {
	rt := newRuntime(t)
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil {
		t.Fatal(err)
	}
	shm := filepath.Join("/dev/shm", "berth-test-hostipc")
	if err := os.WriteFile(shm, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(shm) })
	script := `echo pid1=$(cat /proc/1/comm); ls -l /proc/self/ns/ipc | sed 's/.*-> /ipc=/'; ls /dev/shm | grep -q berth-test-hostipc && echo host-shm; echo done; sleep 3600`
	host := testPod("hostns", container("app", "sh", "-c", script))
	plain := testPod("plainns", container("a", "sh", "-c", script), container("b", "sh", "-c", script))
	host.Spec.HostPID, host.Spec.HostIPC = true, true
	cleanup(t, rt, host.Key(), plain.Key())
	for _, p := range []*plan.Pod{host, plain} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	hostLog := waitLog(t, rt, host.Key(), "app", "done", 60*time.Second)
	a, b := waitLog(t, rt, plain.Key(), "a", "done", 60*time.Second), waitLog(t, rt, plain.Key(), "b", "done", 60*time.Second)
	wantPID := "pid1=" + strings.TrimSpace(string(comm))
	if !strings.Contains(hostLog, wantPID) || !strings.Contains(hostLog, "host-shm") {
		t.Errorf("hostPID/hostIPC pod lacks %q and the host's /dev/shm:\n%s", wantPID, hostLog)
	}
	ipc := func(log string) string {
		_, rest, _ := strings.Cut(log, "ipc=")
		return strings.Fields(rest)[0]
	}
	if strings.Contains(a, wantPID) || strings.Contains(a, "host-shm") || !strings.Contains(a, "pid1=sh") {
		t.Errorf("a plain pod sees the host's namespaces:\n%s", a)
	}
	if ipc(a) != ipc(b) || ipc(a) == ipc(hostLog) {
		t.Errorf("IPC namespaces: plain pod %s and %s, hostIPC pod %s", ipc(a), ipc(b), ipc(hostLog))
	}
}

func readLog(t *testing.T, rt *Runtime, key, ctr string) string {
	t.Helper()
	var b strings.Builder
	if err := rt.Logs(ctx, key, ctr, false, false, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
