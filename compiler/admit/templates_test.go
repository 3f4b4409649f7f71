package admit

import (
	"strings"
	"testing"

	"berth.dev/berth/compiler/internal/objtest"
)

func TestTemplates(t *testing.T) {
	tests := []struct {
		name string
		src  string
		path string
		want int
		why  string
	}{
		{"pod", pod, "spec", 1, "1 pod"},
		{"deployment default surge", deployment("replicas: 3"), "spec.template.spec", 4, "3 replicas + 1 surge"},
		{"deployment default replicas", deployment(""), "spec.template.spec", 2, "1 replica + 1 surge"},
		{"deployment percent surge", deployment("replicas: 4\n  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 50%}}"), "spec.template.spec", 6, "4 replicas + 2 surge"},
		{"deployment int surge 0", deployment("replicas: 4\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}"), "spec.template.spec", 4, "4 replicas"},
		{"deployment recreate", deployment("replicas: 3\n  strategy: {type: Recreate}"), "spec.template.spec", 3, "3 replicas"},
		{"deployment zero", deployment("replicas: 0"), "spec.template.spec", 0, "0 replicas"},
		{"replicaset", controller("apps/v1", "ReplicaSet", "replicas: 2"), "spec.template.spec", 2, "2 replicas"},
		{"rollout bluegreen", controller("argoproj.io/v1alpha1", "Rollout", "replicas: 3\n  strategy: {blueGreen: {activeService: a}}"), "spec.template.spec", 6, "2 x 3 replicas (blue and green)"},
		{"rollout canary", controller("argoproj.io/v1alpha1", "Rollout", "replicas: 4\n  strategy: {canary: {steps: [{setWeight: 50}]}}"), "spec.template.spec", 5, "4 replicas + 1 surge"},
		{"daemonset no inventory", controller("apps/v1", "DaemonSet", ""), "spec.template.spec", 1, "1 pod on the implicit node"},
		{"daemonset all nodes", controller("apps/v1", "DaemonSet", "") + nodes, "spec.template.spec", 3, "3 matching nodes"},
		{"daemonset nodeSelector", daemonSetSelecting("disk: ssd") + nodes, "spec.template.spec", 2, "2 matching nodes"},
		{"daemonset surge", controller("apps/v1", "DaemonSet", "updateStrategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}") + nodes, "spec.template.spec", 4, "3 matching nodes + 1 surge"},
		{"daemonset no match", daemonSetSelecting("disk: tape") + nodes, "spec.template.spec", 0, "0 matching nodes"},
		// The node set is expansion's (nodefit): the hostname label every
		// inventory node has, and taints, count as they place.
		{"daemonset hostname", daemonSetSelecting("kubernetes.io/hostname: n3") + nodes, "spec.template.spec", 1, "1 matching node"},
		{"daemonset untolerated taint", controller("apps/v1", "DaemonSet", "") + strings.Replace(nodes, "spec: {address: 192.0.2.3}", "spec: {address: 192.0.2.3, taints: [{key: dedicated, value: db, effect: NoSchedule}]}", 1), "spec.template.spec", 2, "2 matching nodes"},
		{"job default", controller("batch/v1", "Job", ""), "spec.template.spec", 1, "parallelism 1"},
		{"job parallelism", controller("batch/v1", "Job", "parallelism: 4"), "spec.template.spec", 4, "parallelism 4"},
		{"job completions cap", controller("batch/v1", "Job", "parallelism: 3\n  completions: 2"), "spec.template.spec", 2, "2 completions"},
		{"cronjob", cronJob, "spec.jobTemplate.spec.template.spec", 2, "parallelism 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := Templates(objtest.Set(t, tt.src))
			if len(ts) != 1 {
				t.Fatalf("got %d templates, want 1", len(ts))
			}
			got := ts[0]
			if got.Path != tt.path || got.Count != tt.want || got.Why() != tt.why || got.Spec == nil || len(got.Spec.Containers) != 1 {
				t.Errorf("got path %q count %d why %q, want %q %d %q", got.Path, got.Count, got.Why(), tt.path, tt.want, tt.why)
			}
		})
	}
}

func TestTemplatesOrderAndNoWorkloads(t *testing.T) {
	ts := Templates(objtest.Set(t, controller("batch/v1", "Job", "")+"---\n"+pod+"---\n"+deployment("")+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"))
	var kinds []string
	for _, tt := range ts {
		kinds = append(kinds, tt.Object.Kind)
	}
	if got := len(kinds); got != 3 || kinds[0] != "Deployment" || kinds[1] != "Job" || kinds[2] != "Pod" {
		t.Errorf("kinds = %v, want [Deployment Job Pod] (set order)", kinds)
	}
}

const pod = `apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: a}}
spec:
  containers: [{name: c, image: "img:1"}]
`

const template = `
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: c, image: "img:1"}]
`

func controller(apiVersion, kind, spec string) string {
	s := "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata: {name: w}\nspec:"
	if spec != "" {
		s += "\n  " + spec
	}
	return s + template
}

func deployment(spec string) string { return controller("apps/v1", "Deployment", spec) }

func daemonSetSelecting(sel string) string {
	return `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: w}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      nodeSelector: {` + sel + `}
      containers: [{name: c, image: "img:1"}]
`
}

const nodes = `---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n1, labels: {disk: ssd}}
spec: {address: 192.0.2.1}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n2, labels: {disk: ssd}}
spec: {address: 192.0.2.2}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: n3}
spec: {address: 192.0.2.3}
`

const cronJob = `apiVersion: batch/v1
kind: CronJob
metadata: {name: w}
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      parallelism: 2
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: "img:1"}]
`
