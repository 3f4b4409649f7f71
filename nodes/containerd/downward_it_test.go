package containerd

import (
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

// TestDownwardEnv: the downward API's variables have the kubelet's
// values in the container: the inventory's node name and address, the
// pod's uid, address, labels and annotations, and an unset limit as the
// node's allocatable amount in units of the divisor.
func TestDownwardEnv(t *testing.T) {
	opts := testOptions(t)
	opts.NodeName, opts.NodeIP = "edge-7", "192.0.2.7"
	opts.Allocatable = plan.Allocatable{MilliCPU: 3500, Memory: 3 << 30}
	rt := newRuntimeWith(t, opts)
	c := container("app", "sh", "-c", `echo "uid=$P_UID node=$NODE host=$HOST hosts=$HOSTS ip=$IP ips=$IPS label=$LABEL ann=$ANN none=[$NONE] cpu=$CPU mem=$MEM set=$SET eph=$EPH end"; sleep 3600`)
	c.Env = []plan.EnvVar{
		{Name: "P_UID", FieldRef: "metadata.uid"},
		{Name: "NODE", FieldRef: "spec.nodeName"},
		{Name: "HOST", FieldRef: "status.hostIP"},
		{Name: "HOSTS", FieldRef: "status.hostIPs"},
		{Name: "IP", FieldRef: "status.podIP"},
		{Name: "IPS", FieldRef: "status.podIPs"},
		{Name: "LABEL", FieldRef: "metadata.labels['app']"},
		{Name: "ANN", FieldRef: "metadata.annotations['example.com/team']"},
		{Name: "NONE", FieldRef: "metadata.labels['absent']"},
		{Name: "CPU", ResourceFieldRef: &plan.ResourceRef{Resource: "limits.cpu", Divisor: 1000}},
		{Name: "MEM", ResourceFieldRef: &plan.ResourceRef{Resource: "limits.memory", Divisor: 1 << 20}},
		{Name: "SET", Value: plan.Plain("250")}, // a set limit: the compiler's value
		{Name: "EPH", ResourceFieldRef: &plan.ResourceRef{Resource: "limits.ephemeral-storage", Divisor: 1}},
	}
	p := testPod("downward-env", c)
	p.Labels = map[string]string{"app": "web"}
	p.Annotations = map[string]string{"example.com/team": "blue"}
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	st := waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	log := waitLog(t, rt, p.Key(), "app", " end", 30*time.Second)
	want := "uid=" + p.UID() + " node=edge-7 host=192.0.2.7 hosts=192.0.2.7 ip=" + st.IP + " ips=" + st.IP +
		" label=web ann=blue none=[] cpu=4 mem=3072 set=250 eph="
	if !strings.Contains(log, want) {
		t.Errorf("env:\n%s\nwant it to contain\n%s", log, want)
	}
	if strings.Contains(log, "eph= end") || strings.Contains(log, "eph=0 end") {
		t.Errorf("ephemeral-storage limit is not the state directory's file system: %s", log)
	}
}
