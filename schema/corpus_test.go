package schema

import (
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// genObject renders the i-th object of a realistic mixed corpus: the
// kinds and sizes of a typical GitOps repository.
func genObject(i int) string {
	name := fmt.Sprintf("app-%d", i)
	ns := fmt.Sprintf("team-%d", i%7)
	switch i % 20 {
	case 0, 1, 2, 3, 4:
		return genDeployment(name, ns, i)
	case 5, 6, 7, 8:
		return genService(name, ns, i)
	case 9, 10, 11:
		return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s-config
  namespace: %s
  labels: {app: %s, app.kubernetes.io/part-of: shop}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
  config.yaml: |
    server:
      port: 8080
      timeout: 30s
binaryData:
  logo.png: %s
`, name, ns, name, base64.StdEncoding.EncodeToString([]byte(name+"-binary")))
	case 12:
		return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s-secret, namespace: %s}
type: Opaque
data:
  password: %s
stringData:
  user: admin
`, name, ns, base64.StdEncoding.EncodeToString([]byte("s3cret-"+name)))
	case 13:
		return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata: {name: %s-cron, namespace: %s}
spec:
  schedule: "%d */2 * * *"
  timeZone: Europe/Paris
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: task
            image: registry.example.com/tools/backup:1.%d
            args: ["--target", "s3://bucket/%s"]
            resources:
              requests: {cpu: 100m, memory: 64Mi}
`, name, ns, i%60, i%10, name)
	case 14:
		return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: %s-migrate, namespace: %s}
spec:
  completions: 1
  ttlSecondsAfterFinished: 600
  template:
    metadata: {labels: {job: %s}}
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: registry.example.com/db/migrate:2.%d
        command: ["/bin/migrate", "up"]
        envFrom:
        - configMapRef: {name: %s-config}
        - secretRef: {name: %s-secret}
`, name, ns, name, i%10, name, name)
	case 15:
		return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: %s-agent, namespace: %s}
spec:
  selector: {matchLabels: {app: %s-agent}}
  template:
    metadata: {labels: {app: %s-agent}}
    spec:
      hostNetwork: true
      containers:
      - name: agent
        image: registry.example.com/obs/agent:0.%d
        securityContext: {privileged: true, capabilities: {add: [NET_ADMIN, SYS_TIME]}}
        volumeMounts:
        - {name: logs, mountPath: /var/log, readOnly: true}
      volumes:
      - name: logs
        hostPath: {path: /var/log, type: Directory}
`, name, ns, name, name, i%10)
	case 16:
		return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %s-data, namespace: %s}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local
  resources:
    requests: {storage: %dGi}
`, name, ns, 1+i%50)
	case 17:
		return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: %s-ro, namespace: %s}
spec:
  replicas: 3
  selector: {matchLabels: {app: %s-ro}}
  template:
    metadata: {labels: {app: %s-ro}}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:%d.0
        ports: [{containerPort: 8080, name: http}]
  strategy:
    canary:
      stableService: %s-stable
      canaryService: %s-canary
      steps:
      - setWeight: 20
      - pause: {duration: 60s}
      - setWeight: 50
      - pause: {}
`, name, ns, name, name, i%9, name, name)
	case 18:
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s-debug
  namespace: %s
  labels: {app: %s}
spec:
  restartPolicy: Never
  containers:
  - name: shell
    image: busybox:1.36
    command: [sleep, "3600"]
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
`, name, ns, name)
	default:
		switch i % 60 {
		case 19:
			return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %s, labels: {team: t%d}}
`, ns+"-x"+fmt.Sprint(i), i%7)
		case 39:
			return fmt.Sprintf(`apiVersion: v1
kind: ResourceQuota
metadata: {name: %s-quota, namespace: %s}
spec:
  hard: {pods: "50", requests.cpu: "8", requests.memory: 16Gi, limits.cpu: "16", limits.memory: 32Gi, count/configmaps: "100"}
`, name, ns)
		default:
			return fmt.Sprintf(`apiVersion: v1
kind: LimitRange
metadata: {name: %s-limits, namespace: %s}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "2", memory: 2Gi}
    maxLimitRequestRatio: {cpu: "10"}
`, name, ns)
		}
	}
}

func genDeployment(name, ns string, i int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
    app: %[1]s
    app.kubernetes.io/version: "1.%[3]d"
  annotations:
    berth.dev/owner: team
spec:
  replicas: %[4]d
  selector:
    matchLabels: {app: %[1]s}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: %[1]s, tier: backend}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: app
        image: registry.example.com/shop/%[1]s:1.%[3]d.0
        imagePullPolicy: IfNotPresent
        args: ["--port=8080", "--log-format=json"]
        ports:
        - {name: http, containerPort: 8080}
        - {name: metrics, containerPort: 9090, protocol: TCP}
        env:
        - {name: ENV, value: production}
        - {name: DB_HOST, value: db.%[2]s.svc}
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: %[1]s-secret, key: password}
        - name: LOG_LEVEL
          valueFrom:
            configMapKeyRef: {name: %[1]s-config, key: LOG_LEVEL, optional: true}
        resources:
          requests: {cpu: 250m, memory: 128Mi}
          limits: {cpu: "1", memory: 512Mi}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 5
        livenessProbe:
          tcpSocket: {port: 8080}
          initialDelaySeconds: 10
        volumeMounts:
        - {name: config, mountPath: /etc/app}
        - {name: cache, mountPath: /var/cache/app}
      - name: sidecar
        image: registry.example.com/infra/proxy:2.%[3]d
        ports: [{containerPort: 15001}]
        lifecycle:
          preStop:
            exec: {command: [/bin/sh, -c, "sleep 5"]}
      volumes:
      - name: config
        configMap: {name: %[1]s-config, items: [{key: config.yaml, path: config.yaml}]}
      - name: cache
        emptyDir: {medium: Memory, sizeLimit: 64Mi}
`, name, ns, i%10, 1+i%5)
}

func genService(name, ns string, i int) string {
	typ := []string{"ClusterIP", "NodePort", "LoadBalancer", "ClusterIP"}[i%4]
	extra := ""
	if typ == "NodePort" {
		extra = fmt.Sprintf("\n    nodePort: %d", 30000+i%2000)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  labels: {app: %s}
spec:
  type: %s
  selector: {app: %s}
  ports:
  - name: http
    port: 80
    targetPort: http%s
  - name: metrics
    port: 9090
  externalIPs: [192.0.2.%d]
  sessionAffinity: ClientIP
`, name, ns, name, typ, name, extra, i%250+1)
}

// corpus parses n generated objects.
func corpus(tb testing.TB, n int) []*yaml.Node {
	tb.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("---\n")
		b.WriteString(genObject(i))
	}
	dec := yaml.NewDecoder(strings.NewReader(b.String()))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			break
		}
		docs = append(docs, doc.Content[0])
	}
	if len(docs) != n {
		tb.Fatalf("corpus: parsed %d documents, want %d", len(docs), n)
	}
	return docs
}

// deepCopy copies a node tree, so a benchmark iteration starts from
// documents without defaults.
func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, ch := range n.Content {
			c.Content[i] = deepCopy(ch)
		}
	}
	return &c
}

func TestCorpusIsValid(t *testing.T) {
	s := mustLoad(t)
	for i, doc := range corpus(t, 200) {
		for _, v := range s.Validate(doc, Options{}) {
			t.Errorf("object %d: %s: %s", i, v.Path, v.Message)
		}
	}
}

func BenchmarkValidate10k(b *testing.B) {
	s := mustLoad(b)
	docs := corpus(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		work := make([]*yaml.Node, len(docs))
		for j, d := range docs {
			work[j] = deepCopy(d)
		}
		runtime.GC()
		b.StartTimer()
		start := cpuTime()
		for _, d := range work {
			if v := s.Validate(d, Options{}); v != nil {
				b.Fatalf("unexpected violation: %s: %s", v[0].Path, v[0].Message)
			}
		}
		cpu += cpuTime() - start
	}
	// CPU time is steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

func mustLoad(tb testing.TB) *Set {
	tb.Helper()
	s, err := Load()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoad is the start-up cost of the schemas: parse and compile.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := load(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate10kParallel validates the corpus with one worker per
// CPU, as berth lint does.
func BenchmarkValidate10kParallel(b *testing.B) {
	s := mustLoad(b)
	docs := corpus(b, 10000)
	workers := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		work := make([]*yaml.Node, len(docs))
		for j, d := range docs {
			work[j] = deepCopy(d)
		}
		runtime.GC()
		b.StartTimer()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for j := w; j < len(work); j += workers {
					s.Validate(work[j], Options{})
				}
			}(w)
		}
		wg.Wait()
	}
}
