package schema

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// pod wraps a container spec in a Pod.
func pod(containers string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers
}

func deployment(spec string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec: {containers: [{name: c, image: "c:1"}]}
` + spec
}

func parseDoc(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	return &doc
}

// render is a violation as the tests assert it: line:col path: message [rule].
func render(v Violation) string {
	s := fmt.Sprintf("%d:%d %s: %s [%s]", v.Node.Line, v.Node.Column, v.Path, v.Message, v.Rule)
	if v.Warning {
		s += " (warning)"
	}
	return s
}

func TestValidateRules(t *testing.T) {
	s := mustLoad(t)
	tests := []struct {
		name string
		src  string
		opts Options
		want []string
	}{
		{name: "unknown field in a volume source allowed", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"c:1\"}]\n  volumes: [{name: v, emptyDir: {}, csi: {driver: x}}]\n", opts: Options{AllowUnknownFields: true},
			want: []string{
				"6:37 spec.volumes[0].csi: field \"csi\" is not supported by berth [unknown-field] (warning)",
			}},
		{name: "apiVersion not a string", src: "apiVersion: [v1]\nkind: Pod\nmetadata: {name: p}\n", want: []string{"1:13 apiVersion: expected a string, got a list (Pod is \"v1\") [schema]"}},
		{name: "null document", src: "~\n", want: []string{"1:1 : a manifest must be a mapping with apiVersion and kind, got null [schema]"}},
		{name: "valid pod", src: pod("  - {name: c, image: \"nginx:1.25\"}\n")},
		{name: "unknown field with suggestion", src: pod("  - name: c\n    image: nginx:1\n    ports:\n    - containerPorts: 8000\n"),
			want: []string{
				"9:7 spec.containers[0].ports[0].containerPorts: field \"containerPorts\" is not supported by berth (did you mean \"containerPort\"?) [unknown-field]",
				"9:7 spec.containers[0].ports[0].containerPort: required field \"containerPort\" is missing [schema]",
			}},
		{name: "unknown field allowed", src: pod("  - name: c\n    image: nginx:1\n    ports:\n    - {containerPort: 80, containerPorts: 8000}\n"), opts: Options{AllowUnknownFields: true},
			want: []string{
				"9:27 spec.containers[0].ports[0].containerPorts: field \"containerPorts\" is not supported by berth (did you mean \"containerPort\"?) [unknown-field] (warning)",
			}},
		{name: "port out of range", src: pod("  - name: c\n    image: nginx:1\n    ports: [{containerPort: 70000}]\n"),
			want: []string{
				"8:29 spec.containers[0].ports[0].containerPort: 70000 is out of range (1..65535) [schema]",
			}},
		{name: "quoted integer is a string", src: pod("  - name: c\n    image: nginx:1\n    ports: [{containerPort: \"8000\"}]\n"),
			want: []string{
				"8:29 spec.containers[0].ports[0].containerPort: expected an integer, got \"8000\" (a string) [schema]",
			}},
		{name: "required field missing", src: pod("  - name: c\n    ports: [{containerPort: 80}]\n"),
			want: []string{
				"6:5 spec.containers[0].image: required field \"image\" is missing [schema]",
			}},
		{name: "required field null", src: pod("  - name: c\n    image:\n"),
			want: []string{
				"7:11 spec.containers[0].image: required field \"image\" is missing [schema]",
			}},
		{name: "optional field null", src: pod("  - name: c\n    image: nginx:1\n    env:\n")},
		{name: "enum restartPolicy", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  restartPolicy: Sometimes\n  containers: [{name: c, image: \"c:1\"}]\n",
			want: []string{
				"5:18 spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\" [schema]",
			}},
		{name: "dns-1123 name", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: Hellow_Pod}\nspec: {containers: [{name: c, image: \"c:1\"}]}\n",
			want: []string{
				"3:18 metadata.name: Invalid value: \"Hellow_Pod\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*') [schema]",
			}},
		{name: "name too long", src: "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + strings.Repeat("a", 64) + "}\n",
			want: []string{
				"3:18 metadata.name: Invalid value: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": must be no more than 63 characters [schema]",
			}},
		{name: "label key and value", src: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {\"bad key!\": x, app: \"-bad\"}\n",
			want: []string{
				"5:12 metadata.labels[\"bad key!\"]: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') [schema]",
				"5:32 metadata.labels.app: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?') [schema]",
			}},
		{name: "quantity", src: pod("  - name: c\n    image: nginx:1\n    resources: {requests: {cpu: 1.5 cores, memory: -1}}\n"),
			want: []string{
				"8:33 spec.containers[0].resources.requests.cpu: Invalid value: \"1.5 cores\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (examples: 100m, 0.5, 128Mi, 1G) [schema]",
				"8:52 spec.containers[0].resources.requests.memory: Invalid value: \"-1\": must be greater than or equal to 0 [schema]",
			}},
		{name: "binaryData base64", src: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbinaryData: {logo: \"not base64!\"}\ndata: {port: 8080}\n",
			want: []string{
				"4:20 binaryData.logo: \"not base64!\" is not valid base64 (illegal data at byte 3) [schema]",
				"5:14 data.port: expected a string, got 8080 (an integer) [schema]",
			}},
		{name: "secret data is never echoed", src: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: hunter2}\nstringData: {pin: 1234}\n",
			want: []string{
				"4:18 data.password: value is not valid base64 (illegal data at byte 4) [schema]",
				"5:19 stringData.pin: expected a string, got the value (an integer) [schema]",
			}},
		// Any Secret type is valid Kubernetes; the type-specific rules and
		// the size are object rules (compiler/validate).
		{name: "secret type", src: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/basic-auth\nstringData: {username: u}\n"},
		{name: "secret type empty", src: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: \"\"\n"},
		{name: "cron", src: "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: \"* * *\"\n  timeZone: Mars/Olympus\n  concurrencyPolicy: Sometimes\n  jobTemplate:\n    spec:\n      template:\n        spec: {restartPolicy: Always, containers: [{name: c, image: \"c:1\"}]}\n",
			want: []string{
				"5:13 spec.schedule: \"* * *\" is not a valid cron schedule (expected exactly 5 fields, found 3); use 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly [schema]",
				"6:13 spec.timeZone: \"Mars/Olympus\" is not a time zone (use an IANA name such as Europe/Paris or UTC) [schema]",
				"7:22 spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\" [schema]",
				"11:31 spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\" [schema]",
			}},
		{name: "cron macro", src: "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: \"@hourly\"\n  timeZone: Etc/UTC\n  jobTemplate:\n    spec:\n      template:\n        spec: {restartPolicy: OnFailure, containers: [{name: c, image: \"c:1\"}]}\n"},
		{name: "kind case", src: "apiVersion : v1\nkind : pod\nmetadata: {name: p}\n",
			want: []string{
				"2:8 kind: kind \"pod\" is not supported; did you mean \"Pod\"? [unknown-kind]",
			}},
		{name: "kind unknown", src: "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n",
			want: []string{
				"2:7 kind: kind \"Ingress\" is not supported by berth; supported kinds: ClusterRole, ClusterRoleBinding, ConfigMap, CronJob, DaemonSet, Deployment, HelmRelease, Job, LimitRange, Namespace, NetworkPolicy, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodDisruptionBudget, PriorityClass, ReplicaSet, ReplicationController, ResourceQuota, Role, RoleBinding, Rollout, Secret, Service, ServiceAccount, StatefulSet [unknown-kind]",
			}},
		{name: "apiVersion wrong", src: "apiVersion: v1\nkind: Deployment\nmetadata: {name: d}\n",
			want: []string{
				"1:13 apiVersion: apiVersion \"v1\" does not serve kind \"Deployment\"; use \"apps/v1\" [unknown-kind]",
			}},
		{name: "kind missing", src: "apiVersion: v1\nmetadata: {name: d}\n",
			want: []string{
				"1:1 : required field \"kind\" is missing [schema]",
			}},
		{name: "apiVersion missing", src: "kind: Service\nmetadata: {name: d}\n",
			want: []string{
				"1:1 : required field \"apiVersion\" is missing (Service is \"v1\") [schema]",
			}},
		{name: "not a mapping", src: "- a\n- b\n",
			want: []string{
				"1:1 : a manifest must be a mapping with apiVersion and kind, got a list [schema]",
			}},
		{name: "recreate with rollingUpdate", src: deployment("  strategy:\n    type: Recreate\n    rollingUpdate: {maxSurge: 1}\n"),
			want: []string{
				"11:5 spec.strategy.rollingUpdate: field \"rollingUpdate\" is not allowed when type is \"Recreate\" [schema]",
			}},
		{name: "strategy type", src: deployment("  strategy: {type: BlueGreen}\n"),
			want: []string{
				"9:20 spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: \"Recreate\", \"RollingUpdate\" [schema]",
			}},
		{name: "maxSurge", src: deployment("  strategy: {rollingUpdate: {maxSurge: 25, maxUnavailable: \"x%\"}}\n"),
			want: []string{
				"9:60 spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"x%\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%') [schema]",
			}},
		{name: "volume with two sources", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"c:1\"}]\n  volumes:\n  - name: v\n    emptyDir: {medium: Disk}\n    hostPath: {path: /x}\n",
			want: []string{
				"8:24 spec.volumes[0].emptyDir.medium: Unsupported value: \"Disk\": supported values: \"\", \"Memory\" (Kubernetes also accepts \"HugePages\", \"HugePages-…\", which berth does not support) [schema]",
				"9:5 spec.volumes[0].hostPath: fields \"emptyDir\" and \"hostPath\" cannot both be set [schema]",
			}},
		{name: "volume without source", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"c:1\"}]\n  volumes: [{name: v}]\n",
			want: []string{
				"6:13 spec.volumes[0]: one of the fields \"emptyDir\", \"hostPath\", \"configMap\", \"secret\", \"persistentVolumeClaim\", \"downwardAPI\", \"projected\" is required [schema]",
			}},
		{name: "volume source checked", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"c:1\"}]\n  volumes:\n  - {name: a, emptyDir: {medium: Disk}}\n  - {name: b, hostPath: {path: x, type: Dir}}\n",
			want: []string{
				"7:34 spec.volumes[0].emptyDir.medium: Unsupported value: \"Disk\": supported values: \"\", \"Memory\" (Kubernetes also accepts \"HugePages\", \"HugePages-…\", which berth does not support) [schema]",
				"8:32 spec.volumes[1].hostPath.path: \"x\" is not an absolute path [schema]",
				"8:41 spec.volumes[1].hostPath.type: Unsupported value: \"Dir\": supported values: \"\", \"DirectoryOrCreate\", \"Directory\", \"FileOrCreate\", \"File\", \"Socket\", \"CharDevice\", \"BlockDevice\" [schema]",
			}},
		{name: "env value and valueFrom", src: pod("  - name: c\n    image: nginx:1\n    env:\n    - name: A\n      value: x\n      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}\n"),
			want: []string{
				"11:7 spec.containers[0].env[0].valueFrom: fields \"value\" and \"valueFrom\" cannot both be set [schema]",
			}},
		{name: "env valueFrom empty", src: pod("  - name: c\n    image: nginx:1\n    env: [{name: A, valueFrom: {}}]\n"),
			want: []string{
				"8:32 spec.containers[0].env[0].valueFrom: one of the fields \"configMapKeyRef\", \"secretKeyRef\", \"fieldRef\", \"resourceFieldRef\" is required [schema]",
			}},
		{name: "seed dash without space", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    -name: c\n",
			want: []string{
				"6:5 spec.containers: expected a list, got a mapping (is a space missing after the dash in \"-name\"?) [schema]",
			}},
		{name: "seed externallPs", src: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: a}\n  ports: [{port: 8200, targetPort: 8000}]\n  externallPs: 192.0.2.1\n",
			want: []string{
				"7:3 spec.externallPs: field \"externallPs\" is not supported by berth (did you mean \"externalIPs\"?) [unknown-field]",
			}},
		{name: "service enums", src: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: ExternalName\n  ports: [{port: 80, protocol: HTTP, targetPort: Web_Port}]\n  externalIPs: [not-an-ip]\n",
			want: []string{
				"5:9 spec.type: value \"ExternalName\" is valid Kubernetes but not supported by berth (supported: \"ClusterIP\", \"NodePort\", \"LoadBalancer\") [schema]",
				"6:32 spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"TCP\", \"UDP\", \"SCTP\" [schema]",
				"6:50 spec.ports[0].targetPort: Invalid value: \"Web_Port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-) [schema]",
				"7:17 spec.externalIPs[0]: Invalid value: \"not-an-ip\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff) [schema]",
			}},
		{name: "job restartPolicy", src: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec: {restartPolicy: Always, containers: [{name: c, image: \"c:1\"}]}\n",
			want: []string{
				"6:27 spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\" [schema]",
			}},
		{name: "job restartPolicy missing", src: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec: {containers: [{name: c, image: \"c:1\"}]}\n",
			want: []string{
				"6:11 spec.template.spec.restartPolicy: required field \"restartPolicy\" is missing [schema]",
			}},
		{name: "selector operator", src: strings.Replace(deployment("  replicas: -1\n"), "selector: {matchLabels: {app: d}}", "selector: {matchExpressions: [{key: app, operator: Equals}]}", 1),
			want: []string{
				"5:54 spec.selector.matchExpressions[0].operator: Unsupported value: \"Equals\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\" [schema]",
				"9:13 spec.replicas: -1 is out of range (at least 0) [schema]",
			}},
		{name: "pv enums", src: "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteSometimes]\n  persistentVolumeReclaimPolicy: Keep\n  local: {path: /mnt}\n",
			want: []string{
				"6:17 spec.accessModes[0]: Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadWriteOnce\", \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOncePod\" [schema]",
				"7:34 spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\", \"Recycle\" [schema]",
			}},
		{name: "limitrange type", src: "apiVersion: v1\nkind: LimitRange\nmetadata: {name: l}\nspec:\n  limits: [{type: PersistentVolumeClaim, max: {storage: 1Gi}}]\n",
			want: []string{
				"5:19 spec.limits[0].type: value \"PersistentVolumeClaim\" is valid Kubernetes but not supported by berth (supported: \"Container\", \"Pod\") [schema]",
				"5:48 spec.limits[0].max.storage: field \"storage\" is not supported by berth [unknown-field]",
			}},
		{name: "pull policy", src: pod("  - {name: c, image: \"c:1\", imagePullPolicy: Sometimes}\n"),
			want: []string{
				"6:46 spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"IfNotPresent\", \"Always\", \"Never\" [schema]",
			}},
		{name: "empty containers", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n",
			want: []string{
				"4:20 spec.containers: at least one item is required [schema]",
			}},
		{name: "duplicate key", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, name: q}\nspec: {containers: [{name: c, image: \"c:1\"}]}\n",
			want: []string{
				"3:21 metadata.name: field \"name\" is given more than once [schema]",
			}},
		{name: "32-bit integer", src: deployment("  replicas: 3000000000\n"),
			want: []string{
				"9:13 spec.replicas: 3000000000 does not fit in a 32-bit integer [schema]",
			}},
		{name: "rollout needs a strategy", src: "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  selector: {matchLabels: {app: r}}\n  template: {spec: {containers: [{name: c, image: \"c:1\"}]}}\n  strategy: {blueGreen: {activeService: a}, canary: {steps: [{setWeight: 120}]}}\n",
			want: []string{
				"7:45 spec.strategy.canary: fields \"blueGreen\" and \"canary\" cannot both be set [schema]",
			}},
		{name: "node", src: "apiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: n}\nspec: {address: 10.0.0.300, podCIDR: 10.244.1.0/33}\n",
			want: []string{
				"4:17 spec.address: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff) [schema]",
				"4:38 spec.podCIDR: Invalid value: \"10.244.1.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64) [schema]",
			}},
		// periodSeconds 0 is the API server's zero value: the default.
		// Go's zero value of a non-pointer Kubernetes field means unset:
		// the API server defaults it, and so does berth.
		{name: "zero values defaulted", src: "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: \"\"}\nspec: {type: \"\", sessionAffinity: \"\", ports: [{port: 80, protocol: \"\"}]}\n"},
		{name: "zero probe timing", src: pod("  - name: c\n    image: nginx:1\n    imagePullPolicy: \"\"\n    ports: [{containerPort: 80, protocol: \"\"}]\n    livenessProbe: {exec: {command: [x]}, periodSeconds: 0, timeoutSeconds: 0, failureThreshold: 0, successThreshold: 0}\n")},
		{name: "zero restartPolicy", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {restartPolicy: \"\", containers: [{name: c, image: \"c:1\"}]}\n"},
		{name: "service port name of 63 characters", src: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{name: " + strings.Repeat("a", 63) + ", port: 80}]}\n"},
		{name: "service name is a DNS-1035 label", src: "apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n",
			want: []string{
				"3:18 metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?') [schema]",
			}},
		{name: "capabilities in any case", src: pod("  - name: c\n    image: nginx:1\n    securityContext: {capabilities: {drop: [all], add: [net_admin, CAP_SYS_TIME]}}\n")},
		{name: "valid but unsupported", src: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  completionMode: Indexed\n  template:\n    spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\", securityContext: {procMount: Unmasked}}]}\n",
			want: []string{
				"7:100 spec.template.spec.containers[0].securityContext.procMount: value \"Unmasked\" is valid Kubernetes but not supported by berth (supported: \"Default\") [schema]",
			}},
		{name: "invalid and not supported", src: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ipFamilyPolicy: Sometimes\n  ipFamilies: [IPv6]\n  ports: [{port: 80}]\n",
			want: []string{
				"5:19 spec.ipFamilyPolicy: Unsupported value: \"Sometimes\": supported values: \"SingleStack\" (Kubernetes also accepts \"PreferDualStack\", \"RequireDualStack\", which berth does not support) [schema]",
				"6:16 spec.ipFamilies[0]: value \"IPv6\" is valid Kubernetes but not supported by berth (supported: \"IPv4\") [schema]",
			}},
		{name: "probe handler", src: pod("  - name: c\n    image: nginx:1\n    livenessProbe: {periodSeconds: 0}\n    readinessProbe: {httpGet: {port: 0}}\n"),
			want: []string{
				"8:20 spec.containers[0].livenessProbe: one of the fields \"exec\", \"httpGet\", \"tcpSocket\", \"grpc\" is required [schema]",
				"9:38 spec.containers[0].readinessProbe.httpGet.port: 0 is out of range (1..65535) [schema]",
			}},
		{name: "alias", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: &l {app: x}}\nspec:\n  nodeSelector: *l\n  containers: [{name: c, image: \"c:1\", ports: [&p {containerPort: 99999}]}]\n",
			want: []string{
				"6:67 spec.containers[0].ports[0].containerPort: 99999 is out of range (1..65535) [schema]",
			}},
		{name: "merge key", src: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &base {name: c, image: \"c:1\"}\n  - <<: *base\n    name: d\n    bogus: 1\n",
			want: []string{
				"9:5 spec.containers[1].bogus: field \"bogus\" is not supported by berth [unknown-field]",
			}},
		{name: "json", src: "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}, \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"c:1\", \"ports\": [{\"containerPort\": \"80\"}]}]}}\n",
			want: []string{
				"1:146 spec.containers[0].ports[0].containerPort: expected an integer, got \"80\" (a string) [schema]",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range s.Validate(parseDoc(t, tt.src), tt.opts) {
				got = append(got, render(v))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
