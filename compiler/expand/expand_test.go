package expand

import (
	"reflect"
	"strings"
	"testing"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/plan"
)

func expandSrc(t *testing.T, src string, nodes ...plan.Node) Result {
	t.Helper()
	set := objtest.Set(t, src)
	claims, _ := address.Bind(set)
	if len(nodes) == 0 {
		nodes = []plan.Node{{Name: "n1"}}
	}
	return Expand(Input{Set: set, Nodes: nodes, Claims: claims})
}

// resolved is pod as the node runs it, with res's tables.
func resolved(res Result, pod *plan.Pod) plan.Pod {
	return plan.Resolve(&plan.Plan{ConfigMaps: res.ConfigMaps, Secrets: res.Secrets}, pod)
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:IMAGE"}]
`

func TestDeploymentNames(t *testing.T) {
	res := expandSrc(t, strings.ReplaceAll(deployment, "IMAGE", "1.25"))
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	if len(res.Pods) != 3 {
		t.Fatalf("got %d pods, want 3", len(res.Pods))
	}
	rev := res.Workloads[0].Revision
	if len(rev) != 10 || strings.Trim(rev, alphabet) != "" {
		t.Errorf("revision %q is not 10 characters of the alphabet", rev)
	}
	seen := map[string]bool{}
	for i, p := range res.Pods {
		parts := strings.Split(p.Pod.Name, "-")
		if len(parts) != 3 || parts[0] != "web" || parts[1] != rev || len(parts[2]) != 5 || strings.Trim(parts[2], alphabet) != "" {
			t.Errorf("pod %d name %q is not web-%s-<5 chars>", i, p.Pod.Name, rev)
		}
		if p.Pod.Labels[LabelPodTemplateHash] != rev || p.Pod.Labels["app"] != "web" {
			t.Errorf("pod labels %v", p.Pod.Labels)
		}
		if seen[p.Pod.Name] {
			t.Errorf("duplicate pod name %s", p.Pod.Name)
		}
		seen[p.Pod.Name] = true
	}
	// The same template gives the same names; a new image a new revision.
	again := expandSrc(t, strings.ReplaceAll(deployment, "IMAGE", "1.25"))
	if again.Pods[0].Pod.Name != res.Pods[0].Pod.Name || again.Pods[0].Pod.Hash != res.Pods[0].Pod.Hash {
		t.Errorf("expansion is not deterministic")
	}
	changed := expandSrc(t, strings.ReplaceAll(deployment, "IMAGE", "1.26"))
	if changed.Workloads[0].Revision == rev {
		t.Errorf("a new image kept revision %s", rev)
	}
}

func TestDeploymentStrategy(t *testing.T) {
	tests := []struct {
		name, strategy string
		replicas       string
		surge, unavail int32
		typ            string
	}{
		{"defaults 25%", "", "4", 1, 1, "RollingUpdate"},
		{"defaults round", "", "5", 2, 1, "RollingUpdate"},
		{"ints", "strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}", "3", 1, 0, "RollingUpdate"},
		{"both zero", "strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: \"10%\"}}", "3", 0, 1, "RollingUpdate"},
		{"percent", "strategy: {rollingUpdate: {maxSurge: \"50%\", maxUnavailable: \"50%\"}}", "3", 2, 1, "RollingUpdate"},
		{"recreate", "strategy: {type: Recreate}", "3", 0, 0, "Recreate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.ReplaceAll(deployment, "IMAGE", "1")
			src = strings.Replace(src, "replicas: 3", "replicas: "+tt.replicas+"\n  "+tt.strategy, 1)
			res := expandSrc(t, src)
			if len(res.Diags) > 0 {
				t.Fatal(res.Diags)
			}
			st := res.Workloads[0].Strategy
			if st.Type != tt.typ || st.MaxSurge != tt.surge || st.MaxUnavailable != tt.unavail {
				t.Errorf("strategy = %s surge %d unavailable %d, want %s %d %d", st.Type, st.MaxSurge, st.MaxUnavailable, tt.typ, tt.surge, tt.unavail)
			}
			if st.ProgressDeadlineSeconds != 600 {
				t.Errorf("progressDeadlineSeconds = %d, want the default 600", st.ProgressDeadlineSeconds)
			}
		})
	}
}

const envSrc = `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {A: a, B: b, "bad key": x}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {PASS: cGFzcw==}
stringData: {TOKEN: tok}
---
apiVersion: v1
kind: Service
metadata: {name: my-db}
spec:
  clusterIP: 10.96.0.50
  selector: {app: db}
  ports: [{name: sql, port: 5432, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: busybox:1.36
    envFrom:
    - {prefix: CM_, configMapRef: {name: cfg}}
    - {secretRef: {name: sec}}
    - {configMapRef: {name: missing, optional: true}}
    env:
    - {name: CM_A, value: override}
    - {name: LIT, value: x}
    - {name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: S, valueFrom: {secretKeyRef: {name: sec, key: PASS}}}
    - {name: MY_DB_SERVICE_HOST, value: mine}
`

func TestEnv(t *testing.T) {
	res := expandSrc(t, envSrc)
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	// The plan holds references only: no value of the ConfigMap or
	// Secret, and no Service variable.
	planned := res.Pods[0].Pod.Spec.Containers[0]
	if len(planned.EnvFrom) != 3 || len(planned.Env) != 7 {
		t.Fatalf("planned envFrom %+v env %+v", planned.EnvFrom, planned.Env)
	}
	for _, e := range planned.Env {
		if e.Value.Sensitive || strings.Contains(e.Name, "SERVICE_PORT") {
			t.Errorf("the plan copies %+v into the pod", e)
		}
	}
	pod := resolved(res, res.Pods[0].Pod)
	env := map[string]plan.EnvVar{}
	var order []string
	for _, e := range pod.Spec.Containers[0].Env {
		env[e.Name] = e
		order = append(order, e.Name)
	}
	want := map[string]plan.EnvVar{
		"CM_A":               {Name: "CM_A", Value: plan.Plain("override")},
		"CM_B":               {Name: "CM_B", Value: plan.Plain("b")},
		"PASS":               {Name: "PASS", Value: plan.Sensitive("pass")},
		"TOKEN":              {Name: "TOKEN", Value: plan.Sensitive("tok")},
		"LIT":                {Name: "LIT", Value: plan.Plain("x")},
		"NAME":               {Name: "NAME", FieldRef: "metadata.name"},
		"NS":                 {Name: "NS", Value: plan.Plain("default")},
		"IP":                 {Name: "IP", FieldRef: "status.podIP"},
		"S":                  {Name: "S", Value: plan.Sensitive("pass")},
		"MY_DB_SERVICE_HOST": {Name: "MY_DB_SERVICE_HOST", Value: plan.Plain("mine")},
	}
	if len(env) != len(want) {
		t.Errorf("env names %v, want %d of them", order, len(want))
	}
	for k, w := range want {
		if env[k] != w {
			t.Errorf("env %s = %+v, want %+v", k, env[k], w)
		}
	}
	// envFrom first, then env overriding in place (CM_A keeps its slot).
	if order[0] != "CM_A" || len(pod.Spec.Containers[0].EnvFrom) != 0 {
		t.Errorf("order %v, envFrom left %v", order, pod.Spec.Containers[0].EnvFrom)
	}
}

func TestHashIgnoresConfigContent(t *testing.T) {
	src := `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {app.conf: "VALUE"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1", volumeMounts: [{name: c, mountPath: /etc/app}]}]
      volumes: [{name: c, configMap: {name: cfg, defaultMode: 0600, items: [{key: app.conf, path: conf/app.conf}]}}]
`
	a := expandSrc(t, strings.ReplaceAll(src, "VALUE", "one")).Pods[0].Pod
	b := expandSrc(t, strings.ReplaceAll(src, "VALUE", "two")).Pods[0].Pod
	if a.Hash != b.Hash || a.Name != b.Name {
		t.Errorf("a config file change restarts the pod: hash %s -> %s, name %s -> %s", a.Hash, b.Hash, a.Name, b.Name)
	}
	if a.ConfigHash == b.ConfigHash {
		t.Errorf("a config file change leaves ConfigHash %s", a.ConfigHash)
	}
	f := resolved(expandSrc(t, strings.ReplaceAll(src, "VALUE", "one")), a).Spec.Volumes[0].Files
	if len(f) != 1 || f[0].Path != "conf/app.conf" || f[0].Mode != 0o600 || f[0].Data.Data != "one" {
		t.Errorf("files = %+v", f)
	}
	// An env change from a ConfigMap is a new revision: the kubelet reads
	// env only when a container starts.
	envSrc := strings.Replace(src, `containers: [{name: web, image: "nginx:1",`, `containers: [{name: web, image: "nginx:1", env: [{name: X, valueFrom: {configMapKeyRef: {name: cfg, key: app.conf}}}],`, 1)
	c := expandSrc(t, strings.ReplaceAll(envSrc, "VALUE", "one")).Pods[0].Pod
	d := expandSrc(t, strings.ReplaceAll(envSrc, "VALUE", "two")).Pods[0].Pod
	if c.Hash == d.Hash || c.Revision == d.Revision {
		t.Errorf("an env value change keeps hash %s and revision %s", c.Hash, c.Revision)
	}
}

func TestDaemonSetOnePodPerMatchingNode(t *testing.T) {
	src := `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {role: worker}
      containers: [{name: a, image: "agent:1", resources: {requests: {cpu: "100"}}}]
`
	nodes := []plan.Node{{Name: "a", Labels: map[string]string{"role": "worker"}}, {Name: "b"}, {Name: "c", Labels: map[string]string{"role": "worker"}}}
	res := expandSrc(t, src, nodes...)
	if len(res.Pods) != 2 || res.Pods[0].Pin != "a" || res.Pods[1].Pin != "c" {
		t.Fatalf("pods pinned to %v, want a and c", pins(res.Pods))
	}
	if w := res.Workloads[0]; w.Replicas != 2 || w.Strategy.Type != "RollingUpdate" || w.Strategy.MaxUnavailable != 1 {
		t.Errorf("workload = %+v", w)
	}
}

func pins(ps []Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Pin)
	}
	return out
}

func TestJobAndCronJob(t *testing.T) {
	src := `
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1", resources: {requests: {cpu: 100m}}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: "busybox:1"}]
`
	res := expandSrc(t, src)
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	var job, cron *plan.Workload
	for i := range res.Workloads {
		switch res.Workloads[i].Kind {
		case "Job":
			job = &res.Workloads[i]
		case "CronJob":
			cron = &res.Workloads[i]
		}
	}
	// parallelism without completions: a work queue (SetDefaults_Job).
	if job == nil || job.Job == nil || !reflect.DeepEqual(*job.Job, plan.Job{Completions: 1, Parallelism: 2, BackoffLimit: 6, WorkQueue: true}) || job.Template == nil {
		t.Fatalf("job = %+v", job)
	}
	if job.Template.Labels[LabelJobName] != "once" || job.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("job template = %+v", job.Template)
	}
	if cron == nil || cron.CronJob.ConcurrencyPolicy != "Forbid" || cron.CronJob.SuccessfulJobsHistoryLimit != 3 || cron.CronJob.FailedJobsHistoryLimit != 1 || cron.CronJob.Job.BackoffLimit != 6 {
		t.Fatalf("cronjob = %+v", cron)
	}
	for _, p := range res.Pods {
		if p.Workload < 0 {
			t.Errorf("pod %s of a Job is a node pod", p.Pod.Name)
		}
		if p.Group == "Job/default/once" && (p.Requests.MilliCPU != 200 || p.Requests.Pods != 2) {
			t.Errorf("job reserves %+v, want parallelism × requests", p.Requests)
		}
	}
}

func TestPullSecrets(t *testing.T) {
	// {"auths":{"r.example":{"auth":"dTpw"}}}: dTpw is base64 of u:p.
	src := `
apiVersion: v1
kind: Secret
metadata: {name: reg}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths":{"r.example":{"auth":"dTpw"},"a.example":{"username":"x","password":"y"}}}'
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  imagePullSecrets: [{name: reg}]
  containers: [{name: c, image: "r.example/app:1"}]
`
	res := expandSrc(t, src)
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	if names := res.Pods[0].Pod.Spec.ImagePullSecrets; len(names) != 1 || names[0] != "reg" {
		t.Errorf("the plan holds %v, want the Secret's name", names)
	}
	got := resolved(res, res.Pods[0].Pod).Spec.RegistryAuths
	want := []plan.RegistryAuth{
		{Registry: "a.example", Username: plan.Sensitive("x"), Password: plan.Sensitive("y")},
		{Registry: "r.example", Username: plan.Sensitive("u"), Password: plan.Sensitive("p")},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("pull secrets = %+v", got)
	}
}

func TestMissingReferences(t *testing.T) {
	src := `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: "busybox:1"
    env: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: nothing}}]
`
	res := expandSrc(t, src)
	var msgs []string
	for _, d := range res.Diags {
		msgs = append(msgs, d.String())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"test.yaml:9:50: error: spec.containers[0].env[0].valueFrom.configMapKeyRef: ConfigMap default/nope has no key \"k\"",
		"spec.volumes[0].persistentVolumeClaim.claimName: PersistentVolumeClaim default/nothing is not bound",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("diagnostics\n%s\nlack %q", all, want)
		}
	}
	if len(res.Pods) != 0 {
		t.Errorf("a pod with errors was expanded")
	}
}

func TestPullPolicy(t *testing.T) {
	for image, want := range map[string]string{
		"nginx": "Always", "nginx:latest": "Always", "nginx:1.25": "IfNotPresent",
		"localhost:5000/app": "Always", "localhost:5000/app:v1": "IfNotPresent", "app@sha256:abc": "IfNotPresent",
	} {
		if got := pullPolicy(image, ""); got != want {
			t.Errorf("pullPolicy(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestDurationSeconds(t *testing.T) {
	for in, want := range map[string]int32{"30s": 30, "5m": 300, "1h": 3600, "45": 45} {
		got, err := durationSeconds(apiString(in))
		if err != nil || got != want {
			t.Errorf("durationSeconds(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := durationSeconds(apiString("soon")); err == nil {
		t.Errorf("durationSeconds(soon) accepted")
	}
}

func apiString(s string) api.IntOrString { return api.IntOrString{IsString: true, StrVal: s} }

// A ReplicationController runs as a ReplicaSet: its replicas, named by
// revision, with the template's labels and no pod-template-hash label.
func TestReplicationController(t *testing.T) {
	res := expandSrc(t, `
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 2
  minReadySeconds: 5
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: c, image: "busybox:1"}]
`)
	if len(res.Diags) > 0 {
		t.Fatal(res.Diags)
	}
	if len(res.Pods) != 2 || len(res.Workloads) != 1 {
		t.Fatalf("got %d pods, %d workloads; want 2, 1", len(res.Pods), len(res.Workloads))
	}
	w := res.Workloads[0]
	if w.Kind != "ReplicationController" || w.Replicas != 2 || w.Strategy.MinReadySeconds != 5 || w.Strategy.Type != "" {
		t.Errorf("workload %+v", w)
	}
	for _, p := range res.Pods {
		if p.Pod.Owner != (plan.Owner{Kind: "ReplicationController", Name: "legacy"}) || p.Pod.Revision != w.Revision ||
			!strings.HasPrefix(p.Pod.Name, "legacy-"+w.Revision+"-") {
			t.Errorf("pod %s owner %v revision %s", p.Pod.Name, p.Pod.Owner, p.Pod.Revision)
		}
		if len(p.Pod.Labels) != 1 || p.Pod.Labels["app"] != "legacy" {
			t.Errorf("pod %s labels %v, want only app=legacy", p.Pod.Name, p.Pod.Labels)
		}
	}
}
