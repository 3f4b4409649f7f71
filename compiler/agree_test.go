package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
)

// agreeRepo uses every kind berth supports, and passes lint and plan.
const agreeRepo = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: shop}
spec:
  hard: {pods: "50", requests.cpu: "20", limits.memory: 20Gi, count/deployments.apps: "5"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: shop}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "2", memory: 1Gi}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: shop, labels: {app: web}, annotations: {note: x}}
data: {LOG_LEVEL: info, index.html: hello}
binaryData: {logo: eA==}
---
apiVersion: v1
kind: Secret
metadata: {name: web, namespace: shop}
type: Opaque
stringData: {token: s3cret}
data: {other: eA==}
---
apiVersion: v1
kind: Secret
metadata: {name: pull, namespace: shop}
type: kubernetes.io/dockerconfigjson
stringData: {.dockerconfigjson: '{"auths": {"registry.example.com": {"username": "u", "password": "p"}}}'}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  minReadySeconds: 5
  progressDeadlineSeconds: 60
  template:
    metadata: {labels: {app: web}}
    spec:
      imagePullSecrets: [{name: pull}]
      initContainers:
      - {name: init, image: "registry.example.com/init:1", command: [sh, -c, "true"]}
      containers:
      - name: web
        image: registry.example.com/web:1.0
        ports: [{name: http, containerPort: 8000, hostPort: 8000}]
        env:
        - {name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: web, key: LOG_LEVEL}}}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: web, key: token}}}
        - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        envFrom: [{configMapRef: {name: web}, prefix: CFG_}]
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 500m, memory: 256Mi}}
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 5}
        livenessProbe: {tcpSocket: {port: 8000}, failureThreshold: 3}
        lifecycle: {preStop: {exec: {command: [sleep, "1"]}}}
        securityContext: {runAsUser: 1000, capabilities: {drop: [ALL]}}
        volumeMounts: [{name: html, mountPath: /www}, {name: data, mountPath: /data}, {name: tmp, mountPath: /tmp}]
      volumes:
      - {name: html, configMap: {name: web, items: [{key: index.html, path: index.html}]}}
      - {name: data, persistentVolumeClaim: {claimName: data}}
      - {name: tmp, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}, {name: alt, port: 8080, protocol: UDP}]
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  externalIPs: [192.0.2.10]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "registry.example.com/agent:1", resources: {limits: {cpu: 100m, memory: 32Mi}}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  backoffLimit: 2
  activeDeadlineSeconds: 600
  template:
    metadata: {labels: {app: migrate}}
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "registry.example.com/migrate:1", envFrom: [{secretRef: {name: web}}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "*/5 * * * *"
  timeZone: Europe/Paris
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: r, image: "registry.example.com/report:1"}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: data}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /srv/data, type: DirectoryOrCreate}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {app: debug}}
spec:
  hostNetwork: true
  containers: [{name: d, image: "registry.example.com/debug:1", ports: [{containerPort: 9100, hostPort: 9100}]}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  strategy: {blueGreen: {activeService: api, previewService: api-preview, autoPromotionEnabled: false}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "registry.example.com/api:2", ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: api-preview, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: http}], type: LoadBalancer, loadBalancerIP: 192.0.2.20}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: cache, namespace: shop}
spec:
  replicas: 1
  selector: {matchExpressions: [{key: app, operator: In, values: [cache]}]}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers: [{name: cache, image: "registry.example.com/cache:1"}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, namespace: shop}
spec: {accessModes: [ReadWriteOnce], volumeName: logs, storageClassName: local, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: logs}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local
  local: {path: /srv/logs}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-1]}]}]}}
`

// mutantValues replace each scalar of the repository in turn: values of
// other types, out of range, at the edges of the API server's rules.
var mutantValues = []yaml.Node{
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: ""},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x_Y"},
	{Kind: yaml.ScalarNode, Tag: "!!int", Value: "0"},
	{Kind: yaml.ScalarNode, Tag: "!!int", Value: "-1"},
	{Kind: yaml.ScalarNode, Tag: "!!int", Value: "70000"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "1e31"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "110%"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "web"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "None"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "127.0.0.1"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "/data"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.Repeat("a", 64)},
	{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"},
	{Kind: yaml.ScalarNode, Tag: "!!str", Value: "Always"},
}

// TestLintAndPlanAgree feeds mutants of a repository that uses every kind
// to lint (the front end) and to plan (Compile), and fails when one
// accepts what the other refuses (DESIGN.md, invariant 8). Every document
// is left out in turn; every scalar is replaced by the values above, every
// mapping gets an unknown field and loses each field in turn, every list
// loses its items or repeats its first one.
//
// Once without a Node inventory, its one implicit node of unlimited
// capacity (the machine's size is the node's to know), and once with an
// inventory, which lint places the pods on as the plan does. Allocating
// addresses from --service-cidr and --load-balancer-pool is the plan's
// alone (README, "What lint checks").
func TestLintAndPlanAgree(t *testing.T) {
	t.Run("implicit node", func(t *testing.T) { testAgree(t, agreeRepo, 7) })
	// With an inventory, lint places the pods on it as the plan does: a
	// request no node can hold ("1e31") is refused by both.
	t.Run("inventory", func(t *testing.T) { testAgree(t, agreeRepo+agreeInventory, 13) })
}

// agreeInventory is a Node inventory for agreeRepo (node-1 holds the
// volume logs is bound to) and a Deployment outside its LimitRange that
// selects nodes by label: only placing it says whether it fits.
const agreeInventory = `
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: node-1, labels: {disk: ssd}}
spec: {address: 192.168.10.1, capacity: {cpu: "8", memory: 16Gi, pods: "40"}}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: node-2, labels: {disk: hdd}}
spec: {address: 192.168.10.2, podCIDR: 10.88.200.0/24, capacity: {cpu: "4", memory: 8Gi}}
---
apiVersion: v1
kind: Namespace
metadata: {name: edge}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: edge}
spec:
  replicas: 2
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      nodeSelector: {disk: ssd}
      containers:
      - name: cache
        image: registry.example.com/cache:1
        resources: {requests: {cpu: 500m, memory: 1Gi}}
`

// testAgree runs the mutants of src; short runs take every stride-th
// mutant of a document.
func testAgree(t *testing.T, src string, shortStride int) {
	base := parseDocs(t, src)
	if lintErrors(t, base) != nil || planErrors(t, base) != nil {
		t.Fatalf("the base repository must pass lint and plan:\nlint: %v\nplan: %v", lintErrors(t, base), planErrors(t, base))
	}
	stride := 1
	if testing.Short() {
		stride = shortStride
	}
	cases, refused, disagree := 0, 0, 0
	check := func(docs []load.Document, what string) {
		cases++
		lint, plan := lintErrors(t, docs), planErrors(t, docs)
		if lint != nil {
			refused++
		}
		if (lint == nil) != (plan == nil) {
			disagree++
			if disagree <= 20 {
				t.Errorf("lint and plan disagree when %s:\nlint: %v\nplan: %v", what, lint, plan)
			}
		}
	}
	// Each document left out: references and bindings across objects.
	for di := range base {
		docs := append(copyDocs(base[:di]), copyDocs(base[di+1:])...)
		check(docs, fmt.Sprintf("document %d is left out", di))
	}
	for di := range base {
		for mi, m := range mutate(base[di].Node) {
			if mi%stride != 0 {
				continue
			}
			docs := copyDocs(base)
			docs[di].Node = m.node
			check(docs, fmt.Sprintf("document %d has %s", di, m.what))
		}
	}
	t.Logf("%d mutants, %d refused by both, %d disagreements", cases, refused, disagree)
	if refused == 0 || refused == cases {
		t.Fatal("the mutants must be both accepted and refused")
	}
}

type mutant struct {
	node *yaml.Node
	what string
}

// mutate derives the mutants of one document.
func mutate(doc *yaml.Node) []mutant {
	var out []mutant
	var walk func(n *yaml.Node, path []int, where string)
	var paths [][]int
	var wheres []string
	walk = func(n *yaml.Node, path []int, where string) {
		paths = append(paths, append([]int(nil), path...))
		wheres = append(wheres, where)
		for i, c := range n.Content {
			w := where
			switch {
			case n.Kind == yaml.MappingNode && i%2 == 1:
				w += "." + n.Content[i-1].Value
			case n.Kind == yaml.SequenceNode:
				w += fmt.Sprintf("[%d]", i)
			}
			walk(c, append(path, i), w)
		}
	}
	walk(doc, nil, "")
	at := func(root *yaml.Node, path []int) *yaml.Node {
		for _, i := range path {
			root = root.Content[i]
		}
		return root
	}
	for pi, p := range paths {
		n := at(doc, p)
		where := wheres[pi]
		switch n.Kind {
		case yaml.ScalarNode:
			if len(p) > 0 && p[len(p)-1]%2 == 0 && at(doc, p[:len(p)-1]).Kind == yaml.MappingNode {
				continue // a key
			}
			for _, v := range mutantValues {
				c := deepCopyNode(doc)
				*at(c, p) = v
				out = append(out, mutant{c, fmt.Sprintf("%s = %q", where, v.Value)})
			}
		case yaml.MappingNode:
			c := deepCopyNode(doc)
			m := at(c, p)
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "bogus"}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"})
			out = append(out, mutant{c, where + " gets field bogus"})
			for i := 0; i+1 < len(n.Content); i += 2 {
				c := deepCopyNode(doc)
				m := at(c, p)
				m.Content = append(append([]*yaml.Node(nil), m.Content[:i]...), m.Content[i+2:]...)
				out = append(out, mutant{c, where + " loses " + n.Content[i].Value})
			}
		case yaml.SequenceNode:
			c := deepCopyNode(doc)
			at(c, p).Content = nil
			out = append(out, mutant{c, where + " emptied"})
			if len(n.Content) > 0 {
				c := deepCopyNode(doc)
				s := at(c, p)
				s.Content = append(s.Content, deepCopyNode(s.Content[0]))
				out = append(out, mutant{c, where + " repeats its first item"})
			}
		}
	}
	return out
}

func parseDocs(t testing.TB, src string) []load.Document {
	t.Helper()
	var docs []load.Document
	for i, part := range strings.Split(src, "\n---\n") {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(part), &n); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		docs = append(docs, load.Document{File: "repo.yaml", Index: i, Node: n.Content[0]})
	}
	return docs
}

// copyDocs gives each run its own nodes: the schema writes defaults in.
func copyDocs(docs []load.Document) []load.Document {
	out := make([]load.Document, len(docs))
	for i, d := range docs {
		out[i] = d
		out[i].Node = deepCopyNode(d.Node)
	}
	return out
}

func deepCopyNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = deepCopyNode(k)
	}
	return &c
}

// lintErrors is what berth lint refuses the documents for, nil if
// nothing.
func lintErrors(t testing.TB, docs []load.Document) diag.List {
	return errorsOf(lintDocs(copyDocs(docs), Options{Workers: 1}))
}

// planErrors is what berth plan refuses them for, on one node of
// unlimited capacity (scheduling is the plan's own concern).
func planErrors(t testing.TB, docs []load.Document) diag.List {
	p, ds := Compile(copyDocs(docs), CompileOptions{Options: Options{Workers: 1}, Revision: "test", LocalNode: LocalNode{Name: "node-1"}})
	if p != nil {
		return nil
	}
	return errorsOf(ds)
}

func errorsOf(ds []diag.Diagnostic) diag.List {
	var out diag.List
	for _, d := range ds {
		if d.Severity == diag.Error {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// TestLintAndPlanAgreeOnExamples: over every example repository, every
// file of examples/broken and the test repositories, plan never finds an
// error that lint missed.
func TestLintAndPlanAgreeOnExamples(t *testing.T) {
	var paths []string
	for _, glob := range []string{"../examples/*", "../examples/broken/*.yaml", "testdata/repos/*"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if info, err := os.Stat(p); err == nil && (info.IsDir() && filepath.Base(p) != "broken" || strings.HasSuffix(p, ".yaml")) {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) < 10 {
		t.Fatalf("only %d repositories found: %v", len(paths), paths)
	}
	refused := 0
	defer func() { t.Logf("%d repositories, %d refused by lint", len(paths), refused) }()
	for _, p := range paths {
		opts := Options{Workers: 1}
		docs, ds, err := loadPaths([]string{p}, &opts)
		if err != nil || hasErrors(ds) {
			t.Errorf("%s: does not load: %v %v", p, err, ds)
			continue
		}
		lint, plan := lintErrors(t, docs), planErrors(t, docs)
		if lint == nil && plan != nil {
			t.Errorf("%s: plan finds what lint missed:\n%v", p, plan)
		}
		if lint != nil {
			refused++
		}
	}
}

// FuzzLintAndPlanAgree: whatever the documents, plan never finds an
// error that lint missed.
func FuzzLintAndPlanAgree(f *testing.F) {
	f.Add(agreeRepo)
	f.Add(agreeRepo + agreeInventory)
	f.Add("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"nginx:1\", resources: {requests: {cpu: \"1e31\"}}}]\n")
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 64<<10 {
			return
		}
		var docs []load.Document
		for i, part := range strings.Split(src, "\n---\n") {
			var n yaml.Node
			if yaml.Unmarshal([]byte(part), &n) != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
				return
			}
			docs = append(docs, load.Document{File: "repo.yaml", Index: i, Node: n.Content[0]})
		}
		if lint, plan := lintErrors(t, docs), planErrors(t, docs); lint == nil && plan != nil {
			t.Errorf("plan finds what lint missed:\n%v", plan)
		}
	})
}
