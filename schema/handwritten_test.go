package schema

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// handWrittenDocs cover the kinds and fields the generated corpus does not.
const handWrittenDocs = `
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-1, labels: {disk: ssd}}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: local
  hostPath: {path: /srv/data, type: DirectoryOrCreate}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [node-1]}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-2}
spec:
  capacity: {storage: 1Ti}
  accessModes: [ReadWriteOncePod]
  persistentVolumeReclaimPolicy: Delete
  local: {path: /mnt/disk1}
---
apiVersion: berth.dev/v1
kind: Node
metadata: {name: node-1, labels: {zone: a}}
spec:
  address: 10.0.0.11
  podCIDR: 10.244.1.0/24
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
---
apiVersion: v1
kind: Secret
metadata: {name: tls}
type: kubernetes.io/tls
data: {tls.crt: Y2VydA==, tls.key: a2V5}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  clusterIP: None
  ports: [{port: 80, targetPort: 8080, protocol: UDP}]
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: bg}
spec:
  selector: {matchLabels: {app: bg}}
  template:
    metadata: {labels: {app: bg}}
    spec:
      initContainers:
      - {name: init, image: "busybox:1.36", command: [sh, -c, "true"], workingDir: /tmp}
      containers:
      - name: app
        image: app@sha256:0123
        startupProbe: {exec: {command: [cat, /ready]}, failureThreshold: 30}
        volumeMounts: [{name: s, mountPath: /s, subPath: sub/dir}]
      volumes:
      - {name: s, secret: {secretName: tls, defaultMode: 0400, optional: true}}
      - {name: claim, persistentVolumeClaim: {claimName: data, readOnly: true}}
      imagePullSecrets: [{name: regcred}]
      nodeSelector: {disk: ssd}
  strategy:
    blueGreen: {activeService: bg-active, previewService: bg-preview, autoPromotionEnabled: false}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: recreate}
spec:
  replicas: 0
  selector:
    matchExpressions: [{key: app, operator: Exists}]
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: recreate}}
    spec:
      containers: [{name: c, image: "c:1", envFrom: [{prefix: P_, configMapRef: {name: cm, optional: true}}]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  selector: {matchLabels: {app: ds}}
  updateStrategy: {type: OnDelete}
  template:
    metadata: {labels: {app: ds}}
    spec: {containers: [{name: c, image: "c:1"}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: "c:1", resources: {limits: {cpu: 1, memory: 1.5Gi}}}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec:
  replicas: 2
  selector: {app: rc}
  template:
    metadata: {labels: {app: rc}}
    spec: {containers: [{name: c, image: "c:1", ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: team-a}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - podSelector: {matchLabels: {app: web}}
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchExpressions: [{key: tier, operator: In, values: [front]}]}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - {port: 5432}
    - {protocol: UDP, port: 1000, endPort: 2000}
    - {port: http}
  - {}
  egress:
  - to: [{namespaceSelector: {}}]
    ports: [{port: 53, protocol: UDP}, {port: 53}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: team-a}
spec:
  minAvailable: 50%
  selector: {matchLabels: {app: web}}
  unhealthyPodEvictionPolicy: AlwaysAllow
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db}
spec:
  maxUnavailable: 1
  selector: {matchExpressions: [{key: app, operator: In, values: [db]}]}
  unhealthyPodEvictionPolicy: IfHealthyBudget
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: team-a}
spec:
  hard: {pods: 10, persistentvolumeclaims: "4", requests.storage: 100Gi}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: team-a}
automountServiceAccountToken: false
imagePullSecrets: [{name: regcred}]
secrets: [{name: web-token}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:aggregate-to-view:widgets"}
rules:
- {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
- {nonResourceURLs: [/metrics], verbs: [get]}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate: "true"}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: web, namespace: team-a}
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: "alice@example.com"}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000000
globalDefault: false
description: batch work that may wait
preemptionPolicy: Never
---
apiVersion: batch/v1
kind: Job
metadata: {generateName: migrate-, namespace: team-a}
spec:
  completions: 4
  parallelism: 2
  completionMode: Indexed
  backoffLimitPerIndex: 1
  maxFailedIndexes: 1
  podFailurePolicy:
    rules:
    - {action: FailJob, onExitCodes: {containerName: c, operator: In, values: [42]}}
    - {action: Ignore, onPodConditions: [{type: DisruptionTarget}]}
  successPolicy:
    rules: [{succeededIndexes: "0-2", succeededCount: 2}]
  template:
    spec:
      serviceAccountName: web
      priorityClassName: high
      restartPolicy: Never
      containers: [{name: c, image: "c:1"}]
---
apiVersion: v1
kind: Service
metadata: {name: single}
spec:
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: hardened}
spec:
  hostPID: true
  hostIPC: false
  securityContext:
    runAsUser: 1001
    runAsGroup: 1001
    runAsNonRoot: true
    fsGroup: 1001
    fsGroupChangePolicy: OnRootMismatch
    supplementalGroups: [4000]
    seccompProfile: {type: Localhost, localhostProfile: profiles/app.json}
    appArmorProfile: {type: Unconfined}
    seLinuxOptions: {}
    sysctls: [{name: net.ipv4.ip_local_port_range, value: "1024 65000"}]
  containers:
  - name: app
    image: "app:1"
    stdin: true
    stdinOnce: false
    tty: true
    terminationMessagePath: /run/msg
    terminationMessagePolicy: FallbackToLogsOnError
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      privileged: false
      procMount: Default
      seccompProfile: {type: RuntimeDefault}
      seLinuxOptions: {type: ""}
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: host, mountPath: /host, readOnly: true, mountPropagation: HostToContainer}]
  volumes: [{name: host, hostPath: {path: /}}]
`

func handWritten(tb testing.TB) []*yaml.Node {
	tb.Helper()
	dec := yaml.NewDecoder(strings.NewReader(handWrittenDocs))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			break
		}
		docs = append(docs, doc.Content[0])
	}
	return docs
}

func TestHandWrittenAreValid(t *testing.T) {
	s := mustLoad(t)
	for _, doc := range handWritten(t) {
		for _, v := range s.Validate(doc, Options{}) {
			t.Errorf("%s %s: %s: %s", mapValue(doc, "kind").Value, mapValue(mapValue(doc, "metadata"), "name").Value, v.Path, v.Message)
		}
	}
}
