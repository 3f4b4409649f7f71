package schema

import (
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDefaults(t *testing.T) {
	s := mustLoad(t)
	src := `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - name: c
        image: nginx
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {port: 80}}
      - {name: d, image: "nginx:1.25"}
      volumes: [{name: v, configMap: {name: cm}}]
`
	doc := parseDoc(t, src)
	if v := s.Validate(doc, Options{}); v != nil {
		t.Fatalf("unexpected violations: %v", v)
	}
	root := doc.Content[0]
	tests := []struct {
		path, value, tag string
		line, col        int // of the mapping the default was added to
	}{
		{"spec.replicas", "1", "!!int", 5, 3},
		{"spec.revisionHistoryLimit", "10", "!!int", 5, 3},
		{"spec.progressDeadlineSeconds", "600", "!!int", 5, 3},
		{"spec.strategy.type", "RollingUpdate", "!!str", 5, 3},
		{"spec.strategy.rollingUpdate.maxSurge", "25%", "!!str", 5, 3},
		{"spec.strategy.rollingUpdate.maxUnavailable", "25%", "!!str", 5, 3},
		{"spec.template.spec.restartPolicy", "Always", "!!str", 9, 7},
		{"spec.template.spec.terminationGracePeriodSeconds", "30", "!!int", 9, 7},
		{"spec.template.spec.containers.0.imagePullPolicy", "Always", "!!str", 10, 9},
		{"spec.template.spec.containers.1.imagePullPolicy", "IfNotPresent", "!!str", 14, 9},
		{"spec.template.spec.containers.0.ports.0.protocol", "TCP", "!!str", 12, 17},
		{"spec.template.spec.containers.0.readinessProbe.periodSeconds", "10", "!!int", 13, 25},
		{"spec.template.spec.containers.0.readinessProbe.timeoutSeconds", "1", "!!int", 13, 25},
		{"spec.template.spec.containers.0.readinessProbe.failureThreshold", "3", "!!int", 13, 25},
		{"spec.template.spec.containers.0.readinessProbe.httpGet.path", "/", "!!str", 13, 35},
		{"spec.template.spec.containers.0.readinessProbe.httpGet.scheme", "HTTP", "!!str", 13, 35},
		{"spec.template.spec.volumes.0.configMap.defaultMode", "420", "!!int", 15, 38},
	}
	for _, tt := range tests {
		n := at(t, root, tt.path)
		if n == nil {
			t.Errorf("%s: not set", tt.path)
			continue
		}
		if n.Value != tt.value || n.Tag != tt.tag || n.Line != tt.line || n.Column != tt.col {
			t.Errorf("%s = %s %q at %d:%d, want %s %q at %d:%d", tt.path, n.Tag, n.Value, n.Line, n.Column, tt.tag, tt.value, tt.line, tt.col)
		}
	}
	// The defaulted document decodes as Kubernetes would read it.
	var out struct {
		Spec struct {
			Replicas int32
			Strategy struct {
				RollingUpdate struct {
					MaxSurge string `yaml:"maxSurge"`
				} `yaml:"rollingUpdate"`
			}
		}
	}
	if err := doc.Decode(&out); err != nil || out.Spec.Replicas != 1 || out.Spec.Strategy.RollingUpdate.MaxSurge != "25%" {
		t.Errorf("decode defaulted document: %v %+v", err, out)
	}
}

// TestZeroValuesDefaulted checks that the zero value of a field that is not
// a pointer in Kubernetes' Go types gets the default in place, as the API
// server's defaulting does (periodSeconds: 0 is 10, restartPolicy: "" is
// Always), and that a zero stays where Kubernetes keeps it (replicas: 0).
func TestZeroValuesDefaulted(t *testing.T) {
	s := mustLoad(t)
	src := `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ""}
spec:
  replicas: 0
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      restartPolicy: ""
      containers:
      - name: c
        image: nginx:1
        imagePullPolicy: ""
        ports: [{containerPort: 80, protocol: ""}]
        livenessProbe: {tcpSocket: {port: 80}, periodSeconds: 0, timeoutSeconds: 0, failureThreshold: 0, successThreshold: 0}
        readinessProbe: {httpGet: {port: 80, path: "", scheme: ""}}
`
	doc := parseDoc(t, src)
	if v := s.Validate(doc, Options{}); v != nil {
		t.Fatalf("unexpected violations: %v", v)
	}
	root := doc.Content[0]
	for path, want := range map[string]string{
		"spec.replicas":                                                  "0",
		"spec.template.spec.restartPolicy":                               "Always",
		"spec.template.spec.containers.0.imagePullPolicy":                "IfNotPresent",
		"spec.template.spec.containers.0.ports.0.protocol":               "TCP",
		"spec.template.spec.containers.0.livenessProbe.periodSeconds":    "10",
		"spec.template.spec.containers.0.livenessProbe.timeoutSeconds":   "1",
		"spec.template.spec.containers.0.livenessProbe.failureThreshold": "3",
		"spec.template.spec.containers.0.livenessProbe.successThreshold": "1",
		"spec.template.spec.containers.0.readinessProbe.httpGet.path":    "/",
		"spec.template.spec.containers.0.readinessProbe.httpGet.scheme":  "HTTP",
	} {
		if n := at(t, root, path); n == nil || n.Value != want {
			t.Errorf("%s = %v, want %q", path, n, want)
		}
	}
}

func TestDefaultsOfOtherKinds(t *testing.T) {
	s := mustLoad(t)
	tests := []struct{ src, path, want string }{
		{"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n", "spec.type", "ClusterIP"},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n", "spec.ports.0.targetPort", "80"},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, name: web}]}\n", "spec.ports.0.protocol", "TCP"},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {sessionAffinityConfig: {clientIP: {}}}\n", "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "10800"},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n", "type", "Opaque"},
		// completions and backoffLimit default by other fields: in Go
		// (compiler/expand), not in the schema.
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}}}\n", "spec.suspend", "false"},
		{"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {selector: {}, template: {spec: {containers: [{name: c, image: \"c:1\"}]}}}\n", "spec.revisionHistoryLimit", "10"},
		{"apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n", "preemptionPolicy", "PreemptLowerPriority"},
		{"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\nroleRef: {kind: Role, name: r}\n", "roleRef.apiGroup", "rbac.authorization.k8s.io"},
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}}}\n", "spec.parallelism", "1"},
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}}}\n", "spec.completionMode", "NonIndexed"},
		{"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: \"@daily\", jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}}}}}\n", "spec.concurrencyPolicy", "Allow"},
		{"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: \"@daily\", jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}}}}}\n", "spec.successfulJobsHistoryLimit", "3"},
		{"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: \"@daily\", jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}}}}}\n", "spec.failedJobsHistoryLimit", "1"},
		{"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {selector: {}, template: {spec: {containers: [{name: c, image: \"c:1\"}]}}}\n", "spec.updateStrategy.rollingUpdate.maxUnavailable", "1"},
		{"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec: {selector: {}, template: {spec: {containers: [{name: c, image: \"c:1\"}]}}, strategy: {blueGreen: {activeService: a}}}\n", "spec.strategy.blueGreen.autoPromotionEnabled", "true"},
		{"apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: p}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], local: {path: /mnt}}\n", "spec.persistentVolumeReclaimPolicy", "Retain"},
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: \"c:1\", env: [{name: A, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]}]}\n", "spec.containers.0.env.0.valueFrom.fieldRef.apiVersion", "v1"},
		// A null field with a default gets the default.
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {restartPolicy: null, containers: [{name: c, image: \"c:1\"}]}\n", "spec.restartPolicy", "Always"},
	}
	for _, tt := range tests {
		doc := parseDoc(t, tt.src)
		if v := s.Validate(doc, Options{}); v != nil {
			t.Errorf("%s: unexpected violations %v", tt.path, v)
			continue
		}
		if n := at(t, doc.Content[0], tt.path); n == nil || n.Value != tt.want {
			t.Errorf("%s = %v, want %q", tt.path, n, tt.want)
		}
	}
}

// at finds a dotted path (list indexes as numbers) below root.
func at(t *testing.T, root *yaml.Node, path string) *yaml.Node {
	t.Helper()
	n := root
	for _, step := range strings.Split(path, ".") {
		n = resolve(n)
		if n.Kind == yaml.SequenceNode {
			i := 0
			for _, c := range step {
				i = i*10 + int(c-'0')
			}
			if i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		n = mapValue(n, step)
		if n == nil {
			return nil
		}
	}
	return n
}

func TestValidateConcurrently(t *testing.T) {
	s := mustLoad(t)
	docs := corpus(t, 400)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < len(docs); i += 4 {
				if v := s.Validate(docs[i], Options{}); v != nil {
					t.Errorf("object %d: %v", i, v)
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestKindsAndSource(t *testing.T) {
	s := mustLoad(t)
	kinds := s.Kinds()
	if len(kinds) != 27 {
		t.Errorf("Kinds() = %d kinds, want 27: %v", len(kinds), kinds)
	}
	for i := 1; i < len(kinds); i++ {
		if kinds[i-1].Kind > kinds[i].Kind {
			t.Errorf("Kinds() not sorted: %v", kinds)
		}
	}
	src, err := s.Source("deployment")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#Deployment: {", "// #DeploymentStrategy is Recreate", "#Container: {", "#Quantity:"} {
		if !strings.Contains(src, want) {
			t.Errorf("Source(deployment) lacks %q", want)
		}
	}
	if !strings.HasPrefix(src, "// apps/v1 Deployment:") {
		t.Errorf("Source(deployment) starts with %q", src[:40])
	}
	if _, err := s.Source("Ingress"); err == nil || !strings.Contains(err.Error(), "ConfigMap, CronJob") {
		t.Errorf("Source(Ingress) error = %v, want one listing the kinds", err)
	}
}

func TestFieldTable(t *testing.T) {
	s := mustLoad(t)
	table := s.FieldTable()
	for _, want := range []string{
		"### Deployment (`apps/v1`)",
		"| `spec.replicas` | integer at least 0 | 1 |  |",
		"| `spec.strategy.type` | \"Recreate\" \\| \"RollingUpdate\" | \"RollingUpdate\" |  |",
		"| `containers` | non-empty list of object (see [Container](#container)) |  | yes |",
		"| `containerPort` | integer 1..65535 |  | yes |",
		"| `spec.schedule` | Cron |  | yes |",
		"### Container",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("FieldTable lacks %q", want)
		}
	}
	// Every field of every kind appears: count the api fields of Pod.
	if strings.Count(table, "| `") < 300 {
		t.Errorf("FieldTable has only %d rows", strings.Count(table, "| `"))
	}
}
