package containerd

import (
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

// statusScript prints the isolation a container got: seccomp mode and
// no_new_privs from /proc/self/status, whether /proc/timer_list is masked, and
// whether /proc/sys is writable.
const statusScript = `grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
echo timer_list=$(wc -c < /proc/timer_list)
if touch /proc/sys/vm/drop_caches 2>/dev/null; then echo procsys=rw; else echo procsys=ro; fi
echo done; sleep 3600`

func TestIsolationDefaults(t *testing.T) {
	rt := newRuntime(t)
	plain := container("app", "sh", "-c", statusScript)
	dropAll := container("app", "sh", "-c", statusScript)
	dropAll.SecurityContext = &plan.SecurityContext{Capabilities: &plan.Capabilities{Drop: []string{"ALL"}}}
	priv := container("app", "sh", "-c", statusScript)
	priv.SecurityContext = &plan.SecurityContext{Privileged: true}
	tests := []struct {
		pod  *plan.Pod
		want []string
	}{
		// Seccomp 2 is filter mode: containerd's default profile.
		// no_new_privs only with allowPrivilegeEscalation: false, as the
		// kubelet sets it (TestNoNewPrivsAndSeccomp).
		{testPod("iso-default", plain), []string{"Seccomp:\t2", "NoNewPrivs:\t0", "timer_list=0", "procsys=ro"}},
		{testPod("iso-dropall", dropAll), []string{"Seccomp:\t2", "NoNewPrivs:\t0", "timer_list=0", "procsys=ro"}},
		{testPod("iso-privileged", priv), []string{"Seccomp:\t0", "NoNewPrivs:\t0", "procsys=rw"}},
	}
	var keys []string
	for _, tt := range tests {
		keys = append(keys, tt.pod.Key())
	}
	cleanup(t, rt, keys...)
	for _, tt := range tests {
		if err := rt.CreatePod(ctx, tt.pod); err != nil {
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
}
