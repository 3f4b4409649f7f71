// Package synth generates synthetic repositories of a given size for the
// compiler's benchmarks, in two shapes. Size spreads pods over many
// namespaces of ten Services each; Team puts a whole team's repository
// in one namespace, with thousands of Services, which is the shape that
// shows any cost growing with the number of a namespace's Services. The
// output is deterministic for a size.
package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Size is the shape of a repository.
type Size struct {
	Pods     int
	Services int
	Nodes    int
}

// For returns the benchmark shape for a pod count: a Service per 10 pods
// and a node per 100 (as in the issue: 10,000 pods, 1,000 Services, 100
// nodes).
func For(pods int) Size {
	return Size{Pods: pods, Services: max(1, pods/10), Nodes: max(1, pods/100)}
}

// Files returns the repository as file name to content: one file per
// namespace and one for the inventory.
func Files(s Size) map[string]string {
	files := map[string]string{}
	var nodes strings.Builder
	for i := range s.Nodes {
		zone := []string{"east", "west"}[i%2]
		fmt.Fprintf(&nodes, `---
apiVersion: berth.dev/v1
kind: Node
metadata:
  name: node-%03d
  labels: {zone: %s, tier: %s}
spec:
  address: 192.168.%d.%d
  podCIDR: 10.%d.%d.0/24
  capacity: {cpu: "64", memory: 256Gi, pods: "300"}
`, i, zone, []string{"web", "batch"}[i%5/4], 1+i/250, 1+i%250, 100+i/256, i%256)
	}
	files["inventory/nodes.yaml"] = nodes.String()

	// Pods: 5% DaemonSets (5 of them over all nodes, when nodes allow),
	// 5% Jobs (parallelism 2), the rest Deployments of 10 replicas.
	daemonSets := min(5, max(0, s.Pods/20/max(1, s.Nodes)))
	jobs := s.Pods / 20 / 2
	rest := s.Pods - daemonSets*s.Nodes - jobs*2
	deployments := rest / 10
	namespaces := max(1, s.Services/10)

	var ns []strings.Builder = make([]strings.Builder, namespaces)
	for n := range namespaces {
		fmt.Fprintf(&ns[n], `---
apiVersion: v1
kind: Namespace
metadata: {name: team-%03d}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team-%03d}
data:
  LOG_LEVEL: info
  app.conf: |
    listen 8080
    workers 4
---
apiVersion: v1
kind: Secret
metadata: {name: credentials, namespace: team-%03d}
type: Opaque
stringData: {token: t0ken-%03d}
`, n, n, n, n)
	}
	for d := range deployments {
		n := d % namespaces
		replicas := 10
		if d == deployments-1 {
			replicas += rest - deployments*10
		}
		fmt.Fprintf(&ns[n], `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-%04d, namespace: team-%03d}
spec:
  replicas: %d
  selector: {matchLabels: {app: app-%04d}}
  strategy: {rollingUpdate: {maxSurge: 25%%, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: app-%04d, tier: web}}
    spec:
      containers:
      - name: app
        image: registry.example.com/app-%04d:1.0.%d
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: settings, key: LOG_LEVEL}}}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: credentials, key: token}}}
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        resources:
          requests: {cpu: 50m, memory: 64Mi}
          limits: {cpu: 200m, memory: 128Mi}
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 5}
        volumeMounts: [{name: conf, mountPath: /etc/app}]
      volumes:
      - name: conf
        configMap: {name: settings, items: [{key: app.conf, path: app.conf}]}
`, d, n, replicas, d, d, d, d%7)
	}
	for j := range jobs {
		n := j % namespaces
		fmt.Fprintf(&ns[n], `---
apiVersion: batch/v1
kind: Job
metadata: {name: job-%04d, namespace: team-%03d}
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: job
        image: registry.example.com/batch:2.%d
        command: [/bin/run, --shard, "%d"]
        resources: {requests: {cpu: 100m, memory: 128Mi}}
`, j, n, j%3, j)
	}
	for d := range daemonSets {
		fmt.Fprintf(&ns[0], `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent-%d, namespace: team-000}
spec:
  selector: {matchLabels: {app: agent-%d}}
  template:
    metadata: {labels: {app: agent-%d}}
    spec:
      containers:
      - name: agent
        image: registry.example.com/agent:%d.0
        resources: {requests: {cpu: 10m, memory: 16Mi}}
`, d, d, d, d)
	}
	for i := range s.Services {
		n := i % namespaces
		if i < deployments {
			n = i % namespaces // the Deployment of the same index lives there
		}
		target := fmt.Sprintf("app-%04d", i%max(1, deployments))
		if i >= deployments {
			n = (i % max(1, deployments)) % namespaces
		}
		typ := "ClusterIP"
		if i%10 == 9 {
			typ = "NodePort"
		}
		fmt.Fprintf(&ns[n], `---
apiVersion: v1
kind: Service
metadata: {name: svc-%04d, namespace: team-%03d}
spec:
  type: %s
  selector: {app: %s}
  ports: [{name: http, port: 80, targetPort: http}]
`, i, n, typ, target)
	}
	for n := range namespaces {
		files[fmt.Sprintf("team-%03d/objects.yaml", n)] = ns[n].String()
	}
	return files
}

// Write writes the repository of size s under dir.
func Write(dir string, s Size) error { return WriteFiles(dir, Files(s)) }

// Team is the one-namespace shape: one team's repository, every object
// in namespace default, as issue 14 measured it. Per application a
// ConfigMap, a Secret, a Deployment of 3 replicas that reads both
// through env, envFrom and volumes, and a Service (every 20th headless,
// every 50th a NodePort); then Jobs and CronJobs reading the
// applications' ConfigMaps; and a Node per 100 objects. 10,000 objects
// are 2,000 applications (2,000 Services, 6,000 pods), 950 Jobs, 950
// CronJobs and 100 Nodes.
type Team struct {
	Apps, Jobs, CronJobs, Nodes int
}

// ForObjects returns the Team shape of about objects objects.
func ForObjects(objects int) Team {
	t := Team{Apps: max(1, objects/5), Nodes: max(1, objects/100)}
	rest := max(0, objects-4*t.Apps-t.Nodes)
	t.Jobs = rest / 2
	t.CronJobs = rest - t.Jobs
	return t
}

// Objects is the number of objects of t.
func (t Team) Objects() int { return 4*t.Apps + t.Jobs + t.CronJobs + t.Nodes }

// Pods is the number of pods t plans (Job and CronJob templates apart).
func (t Team) Pods() int { return 3 * t.Apps }

// Services is the number of Services of t.
func (t Team) Services() int { return t.Apps }

// Files returns the repository of t: a file per application, Jobs and
// CronJobs 50 to a file, and the inventory. The YAML is block style, as
// kubectl, Helm and kustomize write it.
func (t Team) Files() map[string]string {
	files := map[string]string{"inventory/nodes.yaml": inventory(t.Nodes)}
	for i := range t.Apps {
		name := fmt.Sprintf("app-%05d", i)
		svc := ""
		switch {
		case i%20 == 19:
			svc = "  clusterIP: None\n"
		case i%50 == 49:
			svc = "  type: NodePort\n"
		}
		files["apps/"+name+".yaml"] = strings.NewReplacer("APP", name, "MINOR", fmt.Sprint(i%7), "SVCTYPE\n", svc).Replace(teamApp)
	}
	var batch strings.Builder
	flush := func(n int) {
		if batch.Len() > 0 {
			files[fmt.Sprintf("batch/batch-%04d.yaml", n)] = batch.String()
			batch.Reset()
		}
	}
	for j := range t.Jobs + t.CronJobs {
		spec := strings.NewReplacer("APP", fmt.Sprintf("app-%05d", j%t.Apps), "MINOR", fmt.Sprint(j%3), "SHARD", fmt.Sprint(j)).Replace(teamTask)
		if j < t.Jobs {
			fmt.Fprintf(&batch, "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: job-%05d\nspec:\n  template:\n    spec:\n%s", j, spec)
		} else {
			fmt.Fprintf(&batch, "---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: cron-%05d\nspec:\n  schedule: \"%d * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n%s", j, j%60, indent(spec, "    "))
		}
		if j%50 == 49 {
			flush(j / 50)
		}
	}
	flush((t.Jobs + t.CronJobs) / 50)
	return files
}

// teamApp is one application of the Team shape.
const teamApp = `apiVersion: v1
kind: ConfigMap
metadata:
  name: APP-config
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
  app.conf: |
    listen 8080
    upstream APP.default.svc.cluster.local
---
apiVersion: v1
kind: Secret
metadata:
  name: APP-secret
type: Opaque
stringData:
  password: pw-APP
  api-key: key-APP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: APP
spec:
  replicas: 3
  selector:
    matchLabels:
      app: APP
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: APP
        tier: web
    spec:
      containers:
      - name: app
        image: registry.example.com/APP:1.0.MINOR
        ports:
        - name: http
          containerPort: 8080
        envFrom:
        - prefix: APP_
          configMapRef:
            name: APP-config
        env:
        - name: LOG_LEVEL
          valueFrom:
            configMapKeyRef:
              name: APP-config
              key: LOG_LEVEL
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: APP-secret
              key: password
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        resources:
          requests:
            cpu: 50m
            memory: 64Mi
          limits:
            cpu: 200m
            memory: 128Mi
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
          periodSeconds: 5
        volumeMounts:
        - name: conf
          mountPath: /etc/app
        - name: creds
          mountPath: /var/run/creds
          readOnly: true
      volumes:
      - name: conf
        configMap:
          name: APP-config
          items:
          - key: app.conf
            path: app.conf
      - name: creds
        secret:
          secretName: APP-secret
---
apiVersion: v1
kind: Service
metadata:
  name: APP
spec:
  selector:
    app: APP
  ports:
  - name: http
    port: 80
    targetPort: http
SVCTYPE
`

// teamTask is the pod spec of a Job or CronJob of the Team shape.
const teamTask = `      restartPolicy: Never
      containers:
      - name: task
        image: registry.example.com/batch:2.MINOR
        command: [/bin/run, --shard, "SHARD"]
        env:
        - name: LOG_LEVEL
          valueFrom:
            configMapKeyRef:
              name: APP-config
              key: LOG_LEVEL
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
`

// indent prefixes every line of s with pre.
func indent(s, pre string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

// inventory is n Nodes, half in each of two zones.
func inventory(n int) string {
	var nodes strings.Builder
	for i := range n {
		fmt.Fprintf(&nodes, `---
apiVersion: berth.dev/v1
kind: Node
metadata:
  name: node-%04d
  labels:
    zone: %s
spec:
  address: 192.168.%d.%d
  podCIDR: 10.%d.%d.0/24
  capacity:
    cpu: "64"
    memory: 256Gi
    pods: "300"
`, i, []string{"east", "west"}[i%2], i/250, 1+i%250, 100+i/256, i%256)
	}
	return nodes.String()
}

// WriteFiles writes files (path relative to dir: content) under dir.
func WriteFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
