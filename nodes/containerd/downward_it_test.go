package containerd

import (
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
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

// TestDownwardAndProjectedVolumes: a downwardAPI volume holds the pod's
// labels and annotations in the kubelet's format, its uid, a limit as
// the node's allocatable, each with its mode; a projected volume merges
// a ConfigMap's key, a Secret's key (on tmpfs) and a downward file, and
// its ConfigMap file is rewritten in place when the content changes,
// without restarting the container. Both are mounted read-only.
func TestDownwardAndProjectedVolumes(t *testing.T) {
	opts := testOptions(t)
	opts.Allocatable = plan.Allocatable{Memory: 2 << 30}
	rt := newRuntimeWith(t, opts)
	c := container("app", "sh", "-c", `for f in labels annotations uid mem; do echo "$f=[$(cat /dw/$f)] mode=$(stat -L -c %a /dw/$f)"; done
grep -q ' /proj tmpfs ' /proc/mounts && echo proj-tmpfs
touch /dw/x 2>/dev/null || echo read-only
echo "secret=$(cat /proj/pw) mode=$(stat -L -c %a /proj/pw) name=$(cat /proj/name)"
while :; do echo "conf=$(cat /proj/app.conf)"; sleep 0.2; done`)
	c.VolumeMounts = []plan.VolumeMount{{Name: "dw", MountPath: "/dw"}, {Name: "proj", MountPath: "/proj"}}
	p := testPod("downward-vol", c)
	p.Labels = map[string]string{"app": "web", "tier": "front"}
	p.Annotations = map[string]string{"example.com/note": `say "hi"`}
	p.ConfigHash = "c1"
	mode := func(m int32) *int32 { return &m }
	dw := plan.Volume{Name: "dw", Kind: "downwardAPI", DefaultMode: mode(0o644), Sources: []plan.Projection{{Kind: "downwardAPI", Downward: []plan.DownwardFile{
		{Path: "labels", FieldRef: "metadata.labels"},
		{Path: "annotations", FieldRef: "metadata.annotations", Mode: mode(0o600)},
		{Path: "uid", FieldRef: "metadata.uid"},
		{Path: "mem", ResourceFieldRef: &plan.ResourceRef{Resource: "limits.memory", Divisor: 1 << 20}},
	}}}}
	proj := func(conf string) plan.Volume {
		return plan.Volume{Name: "proj", Kind: "projected", DefaultMode: mode(0o440), Sources: []plan.Projection{
			{Kind: "configMap", Source: "app", Files: []plan.File{{Path: "app.conf", Mode: 0o440, Data: plan.Plain(conf)}}},
			{Kind: "secret", Source: "creds", Files: []plan.File{{Path: "pw", Mode: 0o400, Data: plan.Sensitive("s3cret")}}},
			{Kind: "downwardAPI", Downward: []plan.DownwardFile{{Path: "name", FieldRef: "metadata.name"}}},
		}}
	}
	p.Spec.Volumes = []plan.Volume{dw, proj("version-one")}
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	before := waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	log := waitLog(t, rt, p.Key(), "app", "conf=version-one", 20*time.Second)
	for _, want := range []string{
		"labels=[app=\"web\"\ntier=\"front\"] mode=644",
		`annotations=[example.com/note="say \"hi\""] mode=600`,
		"uid=[" + p.UID() + "] mode=644",
		"mem=[2048] mode=644",
		"proj-tmpfs", "read-only",
		"secret=s3cret mode=400 name=downward-vol",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	q := *p
	q.ConfigHash = "c2"
	q.Spec.Volumes = []plan.Volume{dw, proj("version-two")}
	if err := rt.UpdatePodConfig(ctx, &q); err != nil {
		t.Fatal(err)
	}
	waitLog(t, rt, p.Key(), "app", "conf=version-two", 10*time.Second)
	after := waitPod(t, rt, p.Key(), time.Second, "config hash c2", func(p *nodes.PodStatus) bool { return p.ConfigHash == "c2" })
	if after.Restarts() != 0 || !after.Containers[0].StartedAt.Equal(before.Containers[0].StartedAt) {
		t.Errorf("container restarted on a config change: before %+v after %+v", before.Containers[0], after.Containers[0])
	}
}
