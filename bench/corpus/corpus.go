// Package corpus writes realistic, valid manifests for the lint
// benchmarks: apps of a Deployment, Service, ConfigMap and Secret, with
// Jobs, CronJobs, DaemonSets (with a PV and PVC) and Pods mixed in, spread
// over namespaces, several objects a file. Every cross-reference
// resolves, so both berth and kubeconform find the corpus clean and a
// benchmark measures checking, not error printing. The output is a pure
// function of the arguments.
package corpus

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Shapes of corpus.
const (
	// Repo is apps of every kind spread over namespaces of
	// appsPerNamespace apps: the project's own corpus.
	Repo = "repo"
	// OneNamespace is apps of a Deployment, Service, ConfigMap, Secret and
	// a Job or CronJob, all in one namespace: the shape of a real
	// application repository, and the worst case for checks that look
	// at a namespace's objects.
	OneNamespace = "one-namespace"
)

// Write writes n objects under dir, appsPerNamespace apps (about five
// objects each) to a namespace, one file per app.
func Write(dir string, n, appsPerNamespace int) error {
	return WriteShape(dir, Repo, n, appsPerNamespace)
}

// WriteShape writes n objects of the given shape (Repo or OneNamespace)
// under dir, one file per app.
func WriteShape(dir, shape string, n, appsPerNamespace int) error {
	switch shape {
	case Repo:
	case OneNamespace:
		appsPerNamespace = n + 1
	default:
		return fmt.Errorf("unknown corpus shape %q (want %q or %q)", shape, Repo, OneNamespace)
	}
	g := &gen{dir: dir, left: n, shape: shape}
	for app := 0; g.left > 0; app++ {
		ns := fmt.Sprintf("team-%03d", app/appsPerNamespace)
		if app%appsPerNamespace == 0 {
			if err := g.file(filepath.Join(ns, "namespace.yaml"), namespace(ns)); err != nil {
				return err
			}
		}
		if err := g.file(filepath.Join(ns, fmt.Sprintf("app-%04d.yaml", app)), appObjects(ns, app, shape)...); err != nil {
			return err
		}
	}
	return nil
}

type gen struct {
	dir   string
	left  int
	shape string
}

// file writes as many of docs as the budget allows.
func (g *gen) file(name string, docs ...string) error {
	if g.left <= 0 {
		return nil
	}
	if len(docs) > g.left {
		docs = docs[:g.left]
	}
	g.left -= len(docs)
	path := filepath.Join(g.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i, d := range docs {
		if i > 0 {
			w.WriteString("---\n")
		}
		w.WriteString(d)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func namespace(ns string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    team: %s
`, ns, ns)
}

// appObjects is one app: always Deployment, Service, ConfigMap and Secret,
// and in turn a Job, a CronJob, a DaemonSet with its PV and PVC, or a Pod
// (OneNamespace: a Job or a CronJob).
func appObjects(ns string, i int, shape string) []string {
	name := fmt.Sprintf("app-%04d", i)
	docs := []string{configMap(ns, name, i), secret(ns, name), deployment(ns, name, i), service(ns, name, i)}
	if shape == OneNamespace {
		if i%2 == 0 {
			return append(docs, job(ns, name))
		}
		return append(docs, cronJob(ns, name, i))
	}
	switch i % 4 {
	case 0:
		docs = append(docs, job(ns, name))
	case 1:
		docs = append(docs, cronJob(ns, name, i))
	case 2:
		docs = append(docs, pv(ns, name), pvc(ns, name), daemonSet(ns, name))
	case 3:
		docs = append(docs, pod(ns, name))
	}
	return docs
}

func configMap(ns, name string, i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: ConfigMap
metadata:
  name: %s-config
  namespace: %s
  labels:
    app: %s
data:
  LOG_LEVEL: info
  LISTEN_ADDR: ":8080"
  app.properties: |
    feature.x=true
    cache.size=%d
    upstream=http://%s-backend:9000
`, name, ns, name, 100+i%900, name)
	return b.String()
}

func secret(ns, name string) string {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %s-secret
  namespace: %s
type: Opaque
data:
  username: %s
  password: %s
`, name, ns, enc("svc-"+name), enc("p4ss-"+name+"-0123456789"))
}

// container is the spec of container cname of app, indented to sit in a
// pod template.
func container(cname, app, image string, port int, indent string) string {
	s := fmt.Sprintf(`- name: %s
  image: %s
  imagePullPolicy: IfNotPresent
  args: ["--config", "/etc/app/app.properties"]
  ports:
    - name: http
      containerPort: %d
      protocol: TCP
  env:
    - name: LOG_LEVEL
      valueFrom:
        configMapKeyRef:
          name: %s-config
          key: LOG_LEVEL
    - name: DB_PASSWORD
      valueFrom:
        secretKeyRef:
          name: %s-secret
          key: password
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
  resources:
    requests:
      cpu: 100m
      memory: 128Mi
    limits:
      cpu: 500m
      memory: 256Mi
  readinessProbe:
    httpGet:
      path: /healthz
      port: http
    initialDelaySeconds: 5
    periodSeconds: 10
  livenessProbe:
    tcpSocket:
      port: %d
    periodSeconds: 20
  volumeMounts:
    - name: config
      mountPath: /etc/app
      readOnly: true
`, cname, image, port, app, app, port)
	return indentBlock(s, indent)
}

func configVolume(name, indent string) string {
	return indentBlock(fmt.Sprintf(`- name: config
  configMap:
    name: %s-config
`, name), indent)
}

func indentBlock(s, indent string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = indent + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func deployment(ns, name string, i int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: %s
  labels:
    app: %s
    tier: web
spec:
  replicas: %d
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: %s
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: %s
        tier: web
    spec:
      terminationGracePeriodSeconds: 30
      containers:
%s      volumes:
%s`, name, ns, name, 1+i%3, name, name,
		container("web", name, fmt.Sprintf("registry.example.com/team/%s:1.%d.0", name, i%20), 8080, "        "),
		configVolume(name, "        "))
}

func service(ns, name string, i int) string {
	typ := "ClusterIP"
	if i%10 == 0 {
		typ = "LoadBalancer"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  labels:
    app: %s
spec:
  type: %s
  selector:
    app: %s
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
`, name, ns, name, typ, name)
}

func job(ns, name string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s-migrate
  namespace: %s
spec:
  backoffLimit: 3
  activeDeadlineSeconds: 600
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        app: %s-migrate
    spec:
      restartPolicy: OnFailure
      containers:
        - name: migrate
          image: registry.example.com/team/migrate:2.1.0
          command: ["/bin/migrate", "up"]
          envFrom:
            - configMapRef:
                name: %s-config
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
`, name, ns, name, name)
}

func cronJob(ns, name string, i int) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: %s-report
  namespace: %s
spec:
  schedule: "%d */2 * * *"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        metadata:
          labels:
            app: %s-report
        spec:
          restartPolicy: Never
          containers:
            - name: report
              image: registry.example.com/team/report:0.9.3
              args: ["--since", "2h"]
              resources:
                requests:
                  cpu: 10m
                  memory: 32Mi
`, name, ns, i%60, name)
}

func pvc(ns, name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: %s-data
  namespace: %s
spec:
  accessModes: ["ReadWriteOnce"]
  storageClassName: local
  resources:
    requests:
      storage: 1Gi
`, name, ns)
}

func pv(ns, name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %s-%s-data
spec:
  capacity:
    storage: 1Gi
  accessModes: ["ReadWriteOnce"]
  storageClassName: local
  persistentVolumeReclaimPolicy: Retain
  hostPath:
    path: /srv/volumes/%s/%s
`, ns, name, ns, name)
}

func daemonSet(ns, name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: %s-agent
  namespace: %s
spec:
  selector:
    matchLabels:
      app: %s-agent
  updateStrategy:
    type: RollingUpdate
  template:
    metadata:
      labels:
        app: %s-agent
    spec:
      containers:
        - name: agent
          image: registry.example.com/team/agent:3.4.1
          resources:
            requests:
              cpu: 20m
              memory: 32Mi
          volumeMounts:
            - name: data
              mountPath: /var/lib/agent
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: %s-data
`, name, ns, name, name, name)
}

func pod(ns, name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s-debug
  namespace: %s
  labels:
    app: %s-debug
spec:
  restartPolicy: Always
  containers:
%s  volumes:
%s`, name, ns, name, container("debug", name, "registry.example.com/team/toolbox:1.0.2", 9090, "    "), configVolume(name, "    "))
}
