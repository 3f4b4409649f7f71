package expand

import (
	"fmt"
	"testing"
)

// A StatefulSet's ordinals have stable names, host names and
// subdomains, one claim each (a declared volume when one fits, else
// berth's local provisioner), one revision, and the strategy in plan form.
func TestStatefulSet(t *testing.T) {
	res := expandSrc(t, `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-a}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: berth-local
  hostPath: {path: /srv/a}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  ordinals: {start: 1}
  podManagementPolicy: Parallel
  updateStrategy: {rollingUpdate: {partition: 2, maxUnavailable: "50%"}}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: "busybox:1", volumeMounts: [{name: data, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`)
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	if len(res.Pods) != 3 || len(res.Workloads) != 1 {
		t.Fatalf("%d pods, %d workloads; want 3, 1", len(res.Pods), len(res.Workloads))
	}
	w := res.Workloads[0]
	if w.Kind != "StatefulSet" || w.Strategy.Partition != 2 || w.Strategy.MaxUnavailable != 2 || w.Strategy.PodManagementPolicy != "Parallel" {
		t.Errorf("workload %+v", w)
	}
	wantVol := map[string]string{"db-1": "data-db-1 -> pv-a", "db-2": "data-db-2 -> berth-local", "db-3": "data-db-3 -> berth-local"}
	for _, p := range res.Pods {
		pod := p.Pod
		if _, ok := wantVol[pod.Name]; !ok {
			t.Fatalf("unexpected pod %s", pod.Name)
		}
		if pod.Hostname() != pod.Name || pod.Spec.Subdomain != "db" || pod.Revision != w.Revision || p.Index != 0 {
			t.Errorf("pod %s: hostname %s subdomain %s revision %s index %d", pod.Name, pod.Hostname(), pod.Spec.Subdomain, pod.Revision, p.Index)
		}
		if pod.Labels[LabelPodIndex] != pod.Name[len("db-"):] || pod.Labels[LabelStatefulSetPodName] != pod.Name || pod.Labels[LabelControllerRevision] != "db-"+w.Revision {
			t.Errorf("pod %s labels %v", pod.Name, pod.Labels)
		}
		if p.Fit == nil {
			t.Errorf("pod %s has no scheduling filter", pod.Name)
		}
		v := pod.Spec.Volumes
		if len(v) != 1 || v[0].Source != wantVol[pod.Name] || (v[0].LocalClaim != "") != (v[0].Path == "") {
			t.Errorf("pod %s volumes %+v", pod.Name, v)
		}
	}
}

// persistentVolumeClaimRetentionPolicy reaches the plan only when it
// deletes something, with the claim templates' names; Retain (the
// default) leaves the workload as it was.
func TestStatefulSetClaimRetention(t *testing.T) {
	set := func(policy string) string {
		return `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
` + policy + `
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: "busybox:1"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  - metadata: {name: logs}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`
	}
	for _, c := range []struct{ policy, want string }{
		{"", "<nil>"},
		{"  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}", "<nil>"},
		{"  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}", "&{[data logs] Retain Delete}"},
		{"  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Retain}", "&{[data logs] Delete Retain}"},
	} {
		res := expandSrc(t, set(c.policy))
		if len(res.Diags) > 0 || len(res.Workloads) != 1 {
			t.Fatalf("%s: %v", c.policy, res.Diags)
		}
		if got := fmt.Sprintf("%v", res.Workloads[0].ClaimRetention); got != c.want {
			t.Errorf("%q: claimRetention %s, want %s", c.policy, got, c.want)
		}
	}
}
