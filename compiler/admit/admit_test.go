package admit

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/compiler/internal/objtest"
)

// ns declares namespace "team" for the cases below.
const ns = `apiVersion: v1
kind: Namespace
metadata: {name: team}
---
`

func teamPod(name, resources string) string {
	if resources != "" {
		resources += "\n"
	}
	return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, namespace: team}
spec:
  containers:
  - name: app
    image: img:1
` + resources + "---\n"
}

func TestAdmit(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"no policy", teamPod("p", ""), nil},
		{
			"limitrange min",
			ns + limitRange("min: {cpu: 100m}") + teamPod("p", "    resources: {requests: {cpu: 50m}}"),
			[]string{`test.yaml:20:33: error: spec.containers[0].resources.requests.cpu: container "app": requests.cpu 50m is below the minimum 100m per container of LimitRange "limits": raise it to at least 100m`},
		},
		{
			"limitrange max on a written limit and request",
			ns + limitRange("max: {memory: 1Gi}") + teamPod("p", "    resources:\n      requests: {memory: 2Gi}\n      limits: {memory: 2Gi}"),
			[]string{
				`test.yaml:21:26: error: spec.containers[0].resources.requests.memory: container "app": requests.memory 2Gi is above the maximum 1Gi per container of LimitRange "limits": lower it to at most 1Gi`,
				`test.yaml:22:24: error: spec.containers[0].resources.limits.memory: container "app": limits.memory 2Gi is above the maximum 1Gi per container of LimitRange "limits": lower it to at most 1Gi`,
			},
		},
		{
			"limitrange default limit below the written request",
			ns + limitRange("default: {cpu: 500m}") + teamPod("p", "    resources: {requests: {cpu: 1}}"),
			[]string{`test.yaml:20:33: error: spec.containers[0].resources.requests.cpu: container "app": requests.cpu 1 is above limits.cpu 500m (the default of LimitRange "limits"): a request may not exceed its limit; lower the request or raise the limit`},
		},
		{
			"limitrange ratio",
			ns + limitRange("maxLimitRequestRatio: {cpu: 4}") + teamPod("p", "    resources: {requests: {cpu: 100m}, limits: {cpu: 1}}"),
			[]string{`test.yaml:20:54: error: spec.containers[0].resources.limits.cpu: container "app": limits.cpu / requests.cpu is 10 (1 / 100m), above the maxLimitRequestRatio 4 of LimitRange "limits": raise the request or lower the limit`},
		},
		{
			"limitrange ratio without request",
			ns + limitRange("maxLimitRequestRatio: {cpu: 4}") + teamPod("p", ""),
			[]string{`test.yaml:18:5: error: spec.containers[0].resources: container "app": requests.cpu must be set and non-zero for the maxLimitRequestRatio 4 of LimitRange "limits": set resources.requests.cpu`},
		},
		{
			"limitrange pod total",
			ns + limitRangeType("Pod", "max: {cpu: 1}") + `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team}
spec:
  containers:
  - {name: a, image: img:1, resources: {limits: {cpu: 600m}}}
  - {name: b, image: img:1, resources: {limits: {cpu: 600m}}}
`,
			[]string{
				`test.yaml:17:3: error: spec: pod total limits.cpu 1200m is above the maximum 1 per pod of LimitRange "limits": lower it to at most 1`,
				// The limits are the requests too (the API server's defaulting).
				`test.yaml:17:3: error: spec: pod total requests.cpu 1200m is above the maximum 1 per pod of LimitRange "limits": lower it to at most 1`,
			},
		},
		{
			"limitrange in another namespace does not apply",
			ns + limitRange("min: {cpu: 100m}") + teamPod("p", "")[:0] + pod,
			nil,
		},
		{
			"quota requires declared resources",
			ns + quota("requests.cpu: 2\n    limits.memory: 1Gi") + teamPod("p", "    resources: {requests: {cpu: 100m}}"),
			[]string{`test.yaml:20:16: error: spec.containers[0].resources: must specify limits.memory (ResourceQuota compute): add resources.limits.memory to container "app", or a LimitRange default in namespace team`},
		},
		{
			"quota plain cpu means requests; a limit defaults the request",
			ns + quota("cpu: 2") + teamPod("p", "    resources: {limits: {cpu: 100m}}"),
			nil,
		},
		{
			"quota satisfied by limitrange defaults",
			ns + quota("requests.cpu: 2\n    limits.cpu: 4") + limitRange("default: {cpu: 200m}") + teamPod("p", ""),
			nil,
		},
		{
			"quota pods counts surge",
			ns + quota("pods: 4") + `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  replicas: 4
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: c, image: "img:1"}]
`,
			[]string{`test.yaml:10:11: error: spec.hard.pods: pods used 5 exceeds hard 4 of ResourceQuota compute in namespace team (Deployment web: 5 (4 replicas + 1 surge)): lower replicas (a rolling update's surge counts too) or raise the quota`},
		},
		{
			"quota requests.cpu sum with init containers",
			ns + quota("requests.cpu: \"1\"") + teamPod("a", "    resources: {requests: {cpu: 600m}}") + `apiVersion: v1
kind: Pod
metadata: {name: b, namespace: team}
spec:
  initContainers:
  - {name: init, image: img:1, resources: {requests: {cpu: 500m}}}
  containers:
  - {name: app, image: img:1, resources: {requests: {cpu: 100m}}}
`,
			[]string{`test.yaml:10:19: error: spec.hard.requests.cpu: requests.cpu used 1100m exceeds hard 1 of ResourceQuota compute in namespace team (Pod a: 1 pod x 600m; Pod b: 1 pod x 500m): lower the containers' requests.cpu or the replicas, or raise the quota`},
		},
		{
			"quota memory within hard",
			ns + quota("requests.memory: 1Gi") + teamPod("a", "    resources: {requests: {memory: 512Mi}}") + teamPod("b", "    resources: {requests: {memory: 512Mi}}"),
			nil,
		},
		{
			"quota object counts and storage",
			ns + quota("count/configmaps: 1\n    persistentvolumeclaims: 1\n    requests.storage: 5Gi") + `apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: team}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: team}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: elsewhere}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: team}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 4Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, namespace: team}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 2Gi}}}
`,
			[]string{
				`test.yaml:10:23: error: spec.hard.count/configmaps: count/configmaps used 2 exceeds hard 1 of ResourceQuota compute in namespace team: remove some or raise the quota`,
				`test.yaml:11:29: error: spec.hard.persistentvolumeclaims: persistentvolumeclaims used 2 exceeds hard 1 of ResourceQuota compute in namespace team: remove some or raise the quota`,
				`test.yaml:12:23: error: spec.hard.requests.storage: requests.storage used 6Gi exceeds hard 5Gi of ResourceQuota compute in namespace team (PersistentVolumeClaim data: 4Gi; PersistentVolumeClaim logs: 2Gi): shrink the claims or raise the quota`,
			},
		},
		{
			"quota ignores workloads scaled to zero",
			ns + quota("pods: 0") + `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  replicas: 0
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: c, image: "img:1"}]
`,
			nil,
		},
		{
			// One visit of each pod feeds both quotas; the findings come
			// quota by quota, key by key, then pod by pod.
			"two quotas over two pods",
			ns + quota("limits.memory: 1Gi\n    pods: 1") + namedQuota("second", "requests.cpu: 150m") +
				teamPod("a", "    resources: {requests: {cpu: 100m}}") + teamPod("b", "    resources: {requests: {cpu: 100m}}"),
			[]string{
				`test.yaml:11:11: error: spec.hard.pods: pods used 2 exceeds hard 1 of ResourceQuota compute in namespace team (Pod a: 1; Pod b: 1): lower replicas (a rolling update's surge counts too) or raise the quota`,
				`test.yaml:18:19: error: spec.hard.requests.cpu: requests.cpu used 200m exceeds hard 150m of ResourceQuota second in namespace team (Pod a: 1 pod x 100m; Pod b: 1 pod x 100m): lower the containers' requests.cpu or the replicas, or raise the quota`,
				`test.yaml:27:16: error: spec.containers[0].resources: must specify limits.memory (ResourceQuota compute): add resources.limits.memory to container "app", or a LimitRange default in namespace team`,
				`test.yaml:36:16: error: spec.containers[0].resources: must specify limits.memory (ResourceQuota compute): add resources.limits.memory to container "app", or a LimitRange default in namespace team`,
			},
		},
		{
			"limitrange defaults feed the quota and the pod total",
			ns + limitRange("default: {cpu: 300m}\n    defaultRequest: {cpu: 200m}") + limitRangeNamed("pods", "Pod", "max: {cpu: 350m}") +
				quota("requests.cpu: 250m\n    limits.cpu: 1") + `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team}
spec:
  initContainers:
  - {name: init, image: img:1}
  containers:
  - {name: a, image: img:1}
  - {name: b, image: img:1, resources: {limits: {cpu: 100m}}}
`,
			[]string{
				// Requests: init 200m, a 200m (defaults), b 100m (its limit).
				`test.yaml:27:19: error: spec.hard.requests.cpu: requests.cpu used 300m exceeds hard 250m of ResourceQuota compute in namespace team (Pod p: 1 pod x 300m): lower the containers' requests.cpu or the replicas, or raise the quota`,
				`test.yaml:34:3: error: spec: pod total limits.cpu 400m is above the maximum 350m per pod of LimitRange "pods": lower it to at most 350m`,
			},
		},
		{
			"count/pods counts every template, a Job by its parallelism",
			ns + quota("count/pods: 3") + teamPod("a", "") + controllerIn("team", "batch/v1", "Job", "parallelism: 3"),
			[]string{`test.yaml:10:17: error: spec.hard.count/pods: count/pods used 4 exceeds hard 3 of ResourceQuota compute in namespace team (Job w: 3 (parallelism 3); Pod a: 1): lower replicas (a rolling update's surge counts too) or raise the quota`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := objtest.Set(t, tt.src)
			objtest.Expect(t, tt.src, objtest.Strings(Admit(set, Templates(set))), tt.want)
		})
	}
}

func TestAdmitFillsDefaults(t *testing.T) {
	tests := []struct {
		name                 string
		item                 string
		resources            string
		wantReqs, wantLimits map[string]string
	}{
		{"default and defaultRequest", "default: {cpu: 500m, memory: 256Mi}\n    defaultRequest: {cpu: 100m}", "",
			map[string]string{"cpu": "100m", "memory": "256Mi"}, map[string]string{"cpu": "500m", "memory": "256Mi"}},
		{"max is the default limit, min the default request", "max: {cpu: 2}\n    min: {cpu: 100m}", "",
			map[string]string{"cpu": "2"}, map[string]string{"cpu": "2"}},
		{"min is the default request without a default", "min: {memory: 64Mi}", "",
			map[string]string{"memory": "64Mi"}, nil},
		{"written values win", "default: {cpu: 500m}\n    defaultRequest: {cpu: 100m}", "    resources: {requests: {cpu: 200m}, limits: {cpu: 300m}}",
			map[string]string{"cpu": "200m"}, map[string]string{"cpu": "300m"}},
		{"a written limit is the request", "default: {cpu: 500m}\n    defaultRequest: {cpu: 100m}", "    resources: {limits: {cpu: 300m}}",
			map[string]string{"cpu": "300m"}, map[string]string{"cpu": "300m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := objtest.Set(t, ns+limitRange(tt.item)+teamPod("p", tt.resources))
			ts := Templates(set)
			if ds := Admit(set, ts); len(ds) != 0 {
				t.Fatalf("unexpected diagnostics: %v", objtest.Strings(ds))
			}
			r := ts[0].Spec.Containers[0].Resources
			if !maps.Equal(r.Requests, tt.wantReqs) || !maps.Equal(r.Limits, tt.wantLimits) {
				t.Errorf("requests %v limits %v, want %v %v", r.Requests, r.Limits, tt.wantReqs, tt.wantLimits)
			}
		})
	}
}

func TestAdmitDeterministic(t *testing.T) {
	src := ns + quota("pods: 1\n    requests.cpu: 100m\n    limits.memory: 1Gi") + teamPod("a", "") + teamPod("b", "") + teamPod("c", "")
	var first []string
	for i := range 20 {
		set := objtest.Set(t, src)
		got := Admit(set, Templates(set))
		var s []string
		for _, d := range got {
			s = append(s, d.String())
		}
		if i == 0 {
			first = s
		} else if !slices.Equal(s, first) {
			t.Fatalf("run %d differs:\n%s\nvs\n%s", i, objtest.Lines(s), objtest.Lines(first))
		}
	}
}

func limitRange(item string) string { return limitRangeType("Container", item) }

func limitRangeType(typ, item string) string {
	return `apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: team}
spec:
  limits:
  - type: ` + typ + `
    ` + item + "\n---\n"
}

func limitRangeNamed(name, typ, item string) string {
	return strings.Replace(limitRangeType(typ, item), "name: limits,", "name: "+name+",", 1)
}

func namedQuota(name, hard string) string {
	return strings.Replace(quota(hard), "name: compute,", "name: "+name+",", 1)
}

func quota(hard string) string {
	return `apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: team}
spec:
  hard:
    ` + hard + "\n---\n"
}

// TestQuotaHugeRequests: a few pods asking "1e31" cpu (the largest int64
// once parsed) are over any quota; their sum must not wrap around and fit.
func TestQuotaHugeRequests(t *testing.T) {
	set := objtest.Set(t, ns+quota("requests.cpu: \"20\"")+teamPod("a", "    resources: {requests: {cpu: \"1e31\"}}")+teamPod("b", "    resources: {requests: {cpu: \"1e31\"}}"))
	ds := Admit(set, Templates(set))
	if len(ds) != 1 || ds[0].Rule != RuleResourceQuota {
		t.Fatalf("diagnostics %v, want requests.cpu over the quota", objtest.Strings(ds))
	}
	if satMul(math.MaxInt64/2+1, 2) != math.MaxInt64 || satAdd(1, 2) != 3 || satMul(3, 0) != 0 {
		t.Error("saturating arithmetic")
	}
}

func controllerIn(namespace, apiVersion, kind, spec string) string {
	return strings.Replace(controller(apiVersion, kind, spec), "metadata: {name: w}", "metadata: {name: w, namespace: "+namespace+"}", 1) + "---\n"
}
