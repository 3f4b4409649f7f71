package check

import (
	"fmt"
	"strings"
	"testing"

	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/internal/objtest"
)

// repo is a small repository that uses every kind and passes every check.
const repo = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: shop}
spec:
  hard: {pods: "10", requests.cpu: "2", limits.memory: 2Gi, count/deployments.apps: "2"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: shop}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "1", memory: 512Mi}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: shop}
data: {LOG_LEVEL: info, index.html: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: web, namespace: shop}
stringData: {token: s3cret}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: 127.0.0.1:5000/berth/hello:v1
        ports: [{name: http, containerPort: 8000}]
        env:
        - {name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: web, key: LOG_LEVEL}}}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: web, key: token}}}
        readinessProbe: {httpGet: {path: /, port: http}}
        volumeMounts: [{name: html, mountPath: /www}, {name: data, mountPath: /data}]
      volumes:
      - {name: html, configMap: {name: web, items: [{key: index.html, path: index.html}]}}
      - {name: data, persistentVolumeClaim: {claimName: data}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: data}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /srv/data}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  strategy: {blueGreen: {activeService: api, previewService: api-preview}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "127.0.0.1:5000/berth/hello:v1", ports: [{containerPort: 8000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: v1
kind: Service
metadata: {name: api-preview}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: "127.0.0.1:5000/berth/hello:v1"}]
`

func TestRunClean(t *testing.T) {
	if got := run(t, repo); len(got) != 0 {
		t.Errorf("a correct repository got diagnostics:\n%s", objtest.Lines(got))
	}
}

func TestRunDoesNotMutate(t *testing.T) {
	set := objtest.Set(t, repo)
	Run(set, Options{})
	for _, tpl := range admit.Templates(set) {
		for _, c := range tpl.Spec.Containers {
			if c.Resources.Limits != nil || c.Resources.Requests != nil {
				t.Errorf("%s: container %s got resources %v from lint", tpl.Object.ID(), c.Name, c.Resources)
			}
		}
	}
}

func TestRunThenAdmit(t *testing.T) {
	// The LimitRange max is exceeded by a written limit, and the quota by
	// the surge of a 10-replica Deployment.
	src := strings.Replace(repo, "replicas: 2\n  selector: {matchLabels: {app: web}}", "replicas: 10\n  selector: {matchLabels: {app: web}}", 1)
	src = strings.Replace(src, "ports: [{name: http, containerPort: 8000}]", "ports: [{name: http, containerPort: 8000}]\n        resources: {limits: {memory: 1Gi}}", 1)
	// Admission is the front end's stage after the checks
	// (compiler.Front): the checks see the templates as written.
	set := objtest.Set(t, src)
	ds := Run(set, Options{})
	var admitted []diag.Diagnostic
	for _, d := range append(ds, admit.Admit(set, admit.Templates(set))...) {
		if d.Rule == admit.RuleLimitRange || d.Rule == admit.RuleResourceQuota {
			admitted = append(admitted, d)
		}
	}
	got := objtest.Strings(admitted)
	want := []string{
		`test.yaml:9:16: error: spec.hard.pods: pods used 13 exceeds hard 10 of ResourceQuota compute in namespace shop (Deployment web: 13 (10 replicas + 3 surge)): lower replicas (a rolling update's surge counts too) or raise the quota`,
		`test.yaml:9:56: error: spec.hard.limits.memory: limits.memory used 13Gi exceeds hard 2Gi of ResourceQuota compute in namespace shop (Deployment web: 13 pods x 1Gi (10 replicas + 3 surge)): lower the containers' limits.memory or the replicas, or raise the quota`,
		// The request defaults to the written limit, before the LimitRange's
		// defaultRequest could apply, so it is over the max too.
		`test.yaml:44:20: error: spec.template.spec.containers[0].resources.requests.memory: container "web": requests.memory 1Gi (defaulted from limits.memory) is above the maximum 512Mi per container of LimitRange "limits": lower it to at most 512Mi`,
		`test.yaml:44:38: error: spec.template.spec.containers[0].resources.limits.memory: container "web": limits.memory 1Gi is above the maximum 512Mi per container of LimitRange "limits": lower it to at most 512Mi`,
	}
	objtest.Expect(t, src, got, want)
}

// corpus generates a repository of about n objects: per app a
// Deployment, a Service, a ConfigMap and a Secret, spread over namespaces.
func corpus(n int) string {
	var b strings.Builder
	namespaces := max(n/400, 1)
	for i := range namespaces {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns%d}\n---\n", i)
	}
	for i := range n / 4 {
		ns := fmt.Sprintf("ns%d", i%namespaces)
		fmt.Fprintf(&b, `apiVersion: v1
kind: ConfigMap
metadata: {name: app%[1]d, namespace: %[2]s}
data: {LOG_LEVEL: info}
---
apiVersion: v1
kind: Secret
metadata: {name: app%[1]d, namespace: %[2]s}
stringData: {token: t}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app%[1]d, namespace: %[2]s}
spec:
  replicas: 3
  selector: {matchLabels: {app: app%[1]d}}
  template:
    metadata: {labels: {app: app%[1]d, tier: web}}
    spec:
      containers:
      - name: app
        image: 127.0.0.1:5000/berth/hello:v1
        ports: [{name: http, containerPort: 8000}]
        env:
        - {name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: app%[1]d, key: LOG_LEVEL}}}
        envFrom: [{secretRef: {name: app%[1]d}}]
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 128Mi}}
        readinessProbe: {httpGet: {path: /, port: http}}
---
apiVersion: v1
kind: Service
metadata: {name: app%[1]d, namespace: %[2]s}
spec:
  selector: {app: app%[1]d}
  ports: [{port: 80, targetPort: http}]
---
`, i, ns)
	}
	return b.String()
}

func BenchmarkRun10k(b *testing.B) {
	set := objtest.Set(b, corpus(10000))
	if ds := Run(set, Options{}); len(ds) != 0 {
		b.Fatalf("corpus is not clean: %v", objtest.Strings(ds)[:1])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Run(set, Options{})
	}
}

func TestDescribe(t *testing.T) {
	rules := []string{RuleSelectorMismatch, RuleServiceSelector, RuleTargetPort, RuleMissingReference, RuleDuplicateName,
		RuleDuplicateEnv, RuleDuplicatePort, RuleNodePort, RuleImageTag, RuleProbePort, RuleUndeclaredNamespace,
		RuleUnboundClaim, RuleRolloutService, admit.RuleLimitRange, admit.RuleResourceQuota, admit.RuleResources}
	for _, r := range rules {
		if Describe(r) == "" {
			t.Errorf("rule %q has no description", r)
		}
	}
	if Describe("schema") != "" {
		t.Errorf("Describe describes another package's rule")
	}
}
