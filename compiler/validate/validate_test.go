package validate_test

import (
	"encoding/base64"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/load"
)

// front runs the whole front end (schema, defaults, object validation,
// cross-object checks) on src, as lint and plan do, and returns its
// error-severity diagnostics as text.
func front(t testing.TB, src string) []string {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(src))
	var docs []load.Document
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("yaml: %v", err)
		}
		docs = append(docs, load.Document{File: objtest.File, Index: i, Node: n.Content[0]})
	}
	_, ds := compiler.Front(docs, compiler.Options{Workers: 1})
	var errs []diag.Diagnostic
	for _, d := range ds {
		if d.Severity == diag.Error {
			errs = append(errs, d)
		}
	}
	return objtest.Strings(errs)
}

// ruleCase is one API server rule in both directions: bad is refused
// with exactly want, and good, the nearest valid manifest, is accepted.
type ruleCase struct {
	name string
	bad  string
	want []string
	good string
}

func runRules(t *testing.T, cases []ruleCase) {
	t.Helper()
	update := os.Getenv("PRINT_RULES") != ""
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := front(t, tt.bad)
			if update {
				t.Logf("%s:\n%s", tt.name, objtest.Lines(got))
			}
			objtest.Expect(t, tt.bad, got, tt.want)
			if tt.good == "" {
				t.Fatal("a rule case needs its nearest valid manifest")
			}
			objtest.Expect(t, tt.good, front(t, tt.good), nil)
		})
	}
}

// deployment renders a Deployment whose spec is completed by extra
// (indented two spaces) and whose container is completed by container
// (indented 8).
func deployment(extra, container string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
` + extra + `  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
` + container
}

func daemonSet(strategy string) string {
	return `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy:
    rollingUpdate: ` + strategy + `
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "agent:1"}]
`
}

func service(spec string) string {
	return "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n" + spec + "---\n" + deployment("", "")
}

func pod(spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + spec
}

func TestWorkloadRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "deployment template restartPolicy",
		bad:  deployment("", "      restartPolicy: OnFailure\n"),
		want: []string{`test.yaml:12:22: error: spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`},
		good: deployment("", "      restartPolicy: Always\n"),
	}, {
		name: "replicaset template restartPolicy",
		bad:  strings.Replace(deployment("", "      restartPolicy: Never\n"), "kind: Deployment", "kind: ReplicaSet", 1),
		want: []string{`test.yaml:12:22: error: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		good: strings.Replace(deployment("", ""), "kind: Deployment", "kind: ReplicaSet", 1),
	}, {
		name: "daemonset template restartPolicy",
		bad:  strings.Replace(daemonSet("{maxUnavailable: 1}"), "containers:", "restartPolicy: OnFailure\n      containers:", 1),
		want: []string{`test.yaml:11:22: error: spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`},
		good: daemonSet("{maxUnavailable: 1}"),
	}, {
		name: "maxSurge and maxUnavailable both 0",
		bad:  deployment("  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}\n", ""),
		want: []string{"test.yaml:6:59: error: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"},
		good: deployment("  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n", ""),
	}, {
		name: "maxSurge and maxUnavailable both 0%",
		bad:  deployment("  strategy: {rollingUpdate: {maxSurge: 0%, maxUnavailable: 0%}}\n", ""),
		want: []string{"test.yaml:6:60: error: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when `maxSurge` is 0"},
		good: deployment("  strategy: {rollingUpdate: {maxSurge: 0%, maxUnavailable: 1%}}\n", ""),
	}, {
		name: "maxUnavailable over 100%",
		bad:  deployment("  strategy: {rollingUpdate: {maxUnavailable: 110%}}\n", ""),
		want: []string{`test.yaml:6:46: error: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "110%": must not be greater than 100%`},
		good: deployment("  strategy: {rollingUpdate: {maxUnavailable: 100%}}\n", ""),
	}, {
		name: "progressDeadlineSeconds not above minReadySeconds",
		bad:  deployment("  minReadySeconds: 30\n  progressDeadlineSeconds: 30\n", ""),
		want: []string{`test.yaml:7:28: error: spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds`},
		good: deployment("  minReadySeconds: 30\n  progressDeadlineSeconds: 31\n", ""),
	}, {
		name: "daemonset maxSurge with maxUnavailable",
		bad:  daemonSet("{maxUnavailable: 1, maxSurge: 1}"),
		want: []string{`test.yaml:7:50: error: spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero`},
		good: daemonSet("{maxUnavailable: 0, maxSurge: 1}"),
	}, {
		name: "daemonset both 0",
		bad:  daemonSet("{maxUnavailable: 0, maxSurge: 0%}"),
		want: []string{`test.yaml:7:37: error: spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0`},
		good: daemonSet("{maxUnavailable: 0, maxSurge: 10%}"),
	}, {
		name: "daemonset percentage over 100%",
		bad:  daemonSet("{maxUnavailable: 150%}"),
		want: []string{`test.yaml:7:37: error: spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%`},
		good: daemonSet("{maxUnavailable: 100%}"),
	}})
}

func TestPodRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "liveness successThreshold",
		bad:  pod("  containers:\n  - name: c\n    image: c:1\n    livenessProbe: {exec: {command: [check]}, successThreshold: 2}\n"),
		want: []string{`test.yaml:8:65: error: spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1`},
		good: pod("  containers:\n  - name: c\n    image: c:1\n    livenessProbe: {exec: {command: [check]}, successThreshold: 1}\n    readinessProbe: {exec: {command: [check]}, successThreshold: 2}\n"),
	}, {
		name: "startup successThreshold",
		bad:  pod("  containers:\n  - name: c\n    image: c:1\n    startupProbe: {exec: {command: [check]}, successThreshold: 3}\n"),
		want: []string{`test.yaml:8:64: error: spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1`},
		good: pod("  containers:\n  - name: c\n    image: c:1\n    startupProbe: {exec: {command: [check]}, successThreshold: 0}\n"),
	}, {
		name: "duplicate mountPath",
		bad:  pod("  containers:\n  - name: c\n    image: c:1\n    volumeMounts: [{name: a, mountPath: /data}, {name: b, mountPath: /data}]\n  volumes: [{name: a, emptyDir: {}}, {name: b, emptyDir: {}}]\n"),
		want: []string{`test.yaml:8:70: error: spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique`},
		good: pod("  containers:\n  - name: c\n    image: c:1\n    volumeMounts: [{name: a, mountPath: /data}, {name: b, mountPath: /data/b}]\n  volumes: [{name: a, emptyDir: {}}, {name: b, emptyDir: {}}]\n"),
	}, {
		name: "hostPort collision across containers",
		bad:  pod("  containers:\n  - {name: a, image: a:1, ports: [{containerPort: 80, hostPort: 8080}]}\n  - {name: b, image: b:1, ports: [{containerPort: 81, hostPort: 8080}]}\n"),
		want: []string{`test.yaml:7:65: error: spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`},
		good: pod("  containers:\n  - {name: a, image: a:1, ports: [{containerPort: 80, hostPort: 8080}]}\n  - {name: b, image: b:1, ports: [{containerPort: 81, hostPort: 8080, protocol: UDP}]}\n"),
	}, {
		name: "hostNetwork hostPort differs from containerPort",
		bad:  pod("  hostNetwork: true\n  containers:\n  - {name: a, image: a:1, ports: [{containerPort: 80, hostPort: 8080}]}\n"),
		want: []string{"test.yaml:7:65: error: spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"},
		good: pod("  hostNetwork: true\n  containers:\n  - {name: a, image: a:1, ports: [{containerPort: 8080, hostPort: 8080}]}\n"),
	}, {
		name: "init container with probes and lifecycle",
		bad:  pod("  initContainers:\n  - name: init\n    image: i:1\n    readinessProbe: {exec: {command: [check]}}\n    lifecycle: {preStop: {exec: {command: [check]}}}\n  containers: [{name: c, image: c:1}]\n"),
		want: []string{
			`test.yaml:8:21: error: spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always`,
			`test.yaml:9:16: error: spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always`,
		},
		good: pod("  initContainers:\n  - name: init\n    image: i:1\n  containers:\n  - name: c\n    image: c:1\n    readinessProbe: {exec: {command: [check]}}\n    lifecycle: {preStop: {exec: {command: [check]}}}\n"),
	}, {
		name: "sidecar: probes and lifecycle with their rules",
		bad:  pod("  initContainers:\n  - name: side\n    image: i:1\n    restartPolicy: Always\n    readinessProbe: {grpc: {port: 9000}, terminationGracePeriodSeconds: 3}\n  containers: [{name: c, image: c:1}]\n"),
		want: []string{`test.yaml:9:73: error: spec.initContainers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 3: must not be set for readinessProbes`},
		good: pod("  initContainers:\n  - name: side\n    image: i:1\n    restartPolicy: Always\n    readinessProbe: {grpc: {port: 9000}}\n    livenessProbe: {grpc: {port: 9000, service: x}, terminationGracePeriodSeconds: 3}\n    lifecycle: {postStart: {exec: {command: [check]}}, preStop: {exec: {command: [check]}}}\n  containers: [{name: c, image: c:1}]\n"),
	}, {
		name: "probe terminationGracePeriodSeconds",
		bad:  pod("  containers:\n  - name: c\n    image: c:1\n    livenessProbe: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 0}\n"),
		want: []string{`test.yaml:8:75: error: spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0`},
		good: pod("  containers:\n  - name: c\n    image: c:1\n    livenessProbe: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 1}\n    startupProbe: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 1}\n"),
	}, {
		name: "postStart httpGet headers",
		bad:  pod("  containers:\n  - name: c\n    image: c:1\n    lifecycle: {postStart: {httpGet: {port: 80, httpHeaders: [{name: \"a b\", value: x}]}}}\n"),
		want: []string{`test.yaml:8:62: error: spec.containers[0].lifecycle.postStart.httpGet.httpHeaders: Invalid value: "a b": a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')`},
		good: pod("  containers:\n  - name: c\n    image: c:1\n    lifecycle: {postStart: {httpGet: {port: 80, httpHeaders: [{name: X-A, value: x}]}}}\n"),
	}, {
		name: "hook sleeps within the grace period",
		bad:  pod("  terminationGracePeriodSeconds: 10\n  containers:\n  - name: c\n    image: c:1\n    lifecycle: {postStart: {sleep: {seconds: -1}}, preStop: {sleep: {seconds: 11}}}\n"),
		want: []string{
			`test.yaml:9:36: error: spec.containers[0].lifecycle.postStart.sleep: Invalid value: -1: must be non-negative and less than terminationGracePeriodSeconds (10)`,
			`test.yaml:9:69: error: spec.containers[0].lifecycle.preStop.sleep: Invalid value: 11: must be non-negative and less than terminationGracePeriodSeconds (10)`,
		},
		good: pod("  containers:\n  - name: c\n    image: c:1\n    lifecycle: {postStart: {sleep: {seconds: 0}}, preStop: {sleep: {seconds: 30}}}\n"),
	}, {
		name: "preStop httpGet headers",
		bad:  pod("  containers:\n  - name: c\n    image: c:1\n    lifecycle: {preStop: {httpGet: {port: 80, httpHeaders: [{name: \"a b\", value: x}]}}}\n"),
		want: []string{`test.yaml:8:60: error: spec.containers[0].lifecycle.preStop.httpGet.httpHeaders: Invalid value: "a b": a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')`},
		good: pod("  containers:\n  - name: c\n    image: c:1\n    lifecycle: {preStop: {httpGet: {port: 80, path: /drain}}}\n"),
	}, {
		name: "init containers run one at a time: their host ports do not collide",
		bad:  pod("  initContainers:\n  - {name: i, image: i:1, ports: [{containerPort: 80, hostPort: 80}, {containerPort: 81, hostPort: 80}]}\n  containers: [{name: c, image: c:1}]\n"),
		want: []string{`test.yaml:6:100: error: spec.initContainers[0].ports[1].hostPort: Duplicate value: "TCP//80"`},
		good: pod("  initContainers:\n  - {name: i, image: i:1, ports: [{containerPort: 80, hostPort: 80}]}\n  - {name: j, image: j:1, ports: [{containerPort: 80, hostPort: 80}]}\n  containers: [{name: c, image: c:1}]\n"),
	}, {
		name: "annotations over 256 KiB",
		bad:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {a: " + strings.Repeat("x", 256<<10) + "}\n",
		want: []string{`test.yaml:5:16: error: metadata.annotations: Too long: may not be more than 262144 bytes`},
		good: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {a: " + strings.Repeat("x", 256<<10-1) + "}\n",
	}, {
		name: "annotation key",
		bad:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {\"bad key!\": x}\n",
		want: []string{`test.yaml:5:17: error: metadata.annotations["bad key!"]: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		good: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {Example.com/Bad-Key: x}\n",
	}, {
		name: "template annotations over 256 KiB",
		bad:  strings.Replace(deployment("", ""), "labels: {app: web}}", "labels: {app: web}, annotations: {a: "+strings.Repeat("x", 256<<10)+"}}", 1),
		want: []string{`test.yaml:7:49: error: spec.template.metadata.annotations: Too long: may not be more than 262144 bytes`},
		good: strings.Replace(deployment("", ""), "labels: {app: web}}", "labels: {app: web}, annotations: {a: x}}", 1),
	}})
}

func TestServiceRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "ports required",
		bad:  service("  type: ClusterIP\n"),
		want: []string{`test.yaml:5:3: error: spec.ports: Required value`},
		good: service("  clusterIP: None\n"),
	}, {
		name: "unnamed port among several",
		bad:  service("  ports: [{name: http, port: 80}, {port: 443}]\n"),
		want: []string{`test.yaml:6:35: error: spec.ports[1].name: Required value`},
		good: service("  ports: [{name: http, port: 80}, {name: https, port: 443}]\n"),
	}, {
		name: "duplicate port name",
		bad:  service("  ports: [{name: http, port: 80}, {name: http, port: 443}]\n"),
		want: []string{`test.yaml:6:42: error: spec.ports[1].name: Duplicate value: "http"`},
		good: service("  ports: [{name: http, port: 80}, {name: http-alt, port: 443}]\n"),
	}, {
		name: "duplicate port and protocol",
		bad:  service("  ports: [{name: a, port: 80}, {name: b, port: 80}]\n"),
		want: []string{`test.yaml:6:32: error: spec.ports[1]: Duplicate value: "80/TCP"`},
		good: service("  ports: [{name: a, port: 80}, {name: b, port: 80, protocol: UDP}]\n"),
	}, {
		name: "port name of 16 to 63 characters",
		bad:  service("  ports: [{name: " + strings.Repeat("p", 64) + ", port: 80}]\n"),
		want: []string{`test.yaml:6:18: error: spec.ports[0].name: Invalid value: "` + strings.Repeat("p", 64) + `": must be no more than 63 characters`},
		good: service("  ports: [{name: " + strings.Repeat("p", 63) + ", port: 80}]\n"),
	}, {
		name: "headless LoadBalancer",
		bad:  service("  type: LoadBalancer\n  clusterIP: None\n  ports: [{port: 80}]\n"),
		want: []string{`test.yaml:7:14: error: spec.clusterIP: Invalid value: "None": may not be set to 'None' for LoadBalancer services`},
		good: service("  type: ClusterIP\n  clusterIP: None\n  ports: [{port: 80}]\n"),
	}, {
		name: "headless NodePort",
		bad:  service("  type: NodePort\n  clusterIP: None\n  ports: [{port: 80}]\n"),
		want: []string{`test.yaml:7:14: error: spec.clusterIP: Invalid value: "None": may not be set to 'None' for NodePort services`},
		good: service("  type: NodePort\n  ports: [{port: 80}]\n"),
	}, {
		name: "sessionAffinityConfig without ClientIP",
		bad:  service("  ports: [{port: 80}]\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n"),
		want: []string{`test.yaml:7:26: error: spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None`},
		good: service("  ports: [{port: 80}]\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n"),
	}, {
		name: "external IP unspecified or loopback",
		bad:  service("  ports: [{port: 80}]\n  externalIPs: [0.0.0.0, 127.0.0.1, \"::1\", 169.254.1.1]\n"),
		want: []string{
			`test.yaml:7:17: error: spec.externalIPs[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)`,
			`test.yaml:7:26: error: spec.externalIPs[1]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`,
			`test.yaml:7:37: error: spec.externalIPs[2]: Invalid value: "::1": may not be in the loopback range (127.0.0.0/8, ::1/128)`,
			`test.yaml:7:44: error: spec.externalIPs[3]: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)`,
		},
		good: service("  ports: [{port: 80}]\n  externalIPs: [192.0.2.10, \"2001:db8::1\"]\n"),
	}, {
		name: "service name is a DNS-1035 label",
		bad:  strings.Replace(service("  ports: [{port: 80}]\n"), "name: web}", "name: 7web}", 1),
		want: []string{`test.yaml:3:18: error: metadata.name: Invalid value: "7web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`},
		good: strings.Replace(service("  ports: [{port: 80}]\n"), "name: web}", "name: web7}", 1),
	}})
}

func job(name, spec string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: " + name + "}\nspec:\n" + spec +
		"  template:\n    metadata: {labels: {app: j}}\n    spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}\n"
}

func cronJob(name, spec string) string {
	return "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: " + name + "}\nspec:\n  schedule: \"@hourly\"\n  jobTemplate:\n    spec:\n" + spec +
		"      template:\n        metadata: {labels: {app: j}}\n        spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}\n"
}

func TestBatchRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "job name over 63 characters",
		bad:  job(strings.Repeat("j", 64), ""),
		want: []string{`test.yaml:3:18: error: metadata.name: Invalid value: "` + strings.Repeat("j", 64) + `": must be no more than 63 characters (the name is the value of the label batch.kubernetes.io/job-name on the Job's pods)`},
		good: job(strings.Repeat("j", 63), ""),
	}, {
		name: "cronjob name over 52 characters",
		bad:  cronJob(strings.Repeat("c", 53), ""),
		want: []string{`test.yaml:3:18: error: metadata.name: Invalid value: "ccccccccccccccccccccccccccccccccccccccccccccccccccccc": must be no more than 52 characters`},
		good: cronJob(strings.Repeat("c", 52), ""),
	}, {
		name: "job selector without manualSelector",
		bad:  job("j", "  selector: {matchLabels: {app: j}}\n"),
		want: []string{"test.yaml:5:13: error: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"j\"}}: `selector` not auto-generated"},
		good: job("j", "  manualSelector: true\n  selector: {matchLabels: {app: j}}\n"),
	}, {
		name: "job manualSelector without selector",
		bad:  job("j", "  manualSelector: true\n"),
		want: []string{`test.yaml:5:3: error: spec.selector: Required value`},
		good: job("j", "  manualSelector: false\n"),
	}, {
		name: "cronjob selector",
		bad:  cronJob("c", "      selector: {matchLabels: {app: j}}\n"),
		want: []string{"test.yaml:8:17: error: spec.jobTemplate.spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"j\"}}: `selector` will be auto-generated"},
		good: cronJob("c", ""),
	}, {
		name: "cronjob manualSelector",
		bad:  cronJob("c", "      manualSelector: true\n"),
		want: []string{`test.yaml:8:23: error: spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"`},
		good: cronJob("c", "      manualSelector: false\n"),
	}})
}

func secret(typ, data string) string {
	return "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: " + typ + "\n" + data
}

func limitRange(item string) string {
	return "apiVersion: v1\nkind: LimitRange\nmetadata: {name: l}\nspec:\n  limits:\n  - " + item + "\n"
}

func TestCoreRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "configmap key in data and binaryData",
		bad:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {logo: x}\nbinaryData: {logo: eA==}\n",
		want: []string{`test.yaml:4:14: error: data[logo]: Invalid value: "logo": duplicate of key present in binaryData`},
		good: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {logo.txt: x}\nbinaryData: {logo: eA==}\n",
	}, {
		name: "configmap over 1 MiB",
		bad:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: " + strings.Repeat("x", 1<<20) + ", b: x}\n",
		want: []string{`test.yaml:1:1: error: Too long: may not be more than 1048576 bytes`},
		good: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: " + strings.Repeat("x", 1<<20) + "}\n",
	}, {
		name: "secret over 1 MiB",
		bad:  secret("Opaque", "stringData: {a: "+strings.Repeat("x", 1<<20)+", b: x}\n"),
		want: []string{`test.yaml:5:13: error: stringData: Too long: may not be more than 1048576 bytes`},
		good: secret("Opaque", "stringData: {a: "+strings.Repeat("x", 1<<20)+"}\n"),
	}, {
		name: "tls secret keys",
		bad:  secret("kubernetes.io/tls", "stringData: {tls.crt: c}\n"),
		want: []string{`test.yaml:5:13: error: stringData[tls.key]: Required value`},
		good: secret("kubernetes.io/tls", "stringData: {tls.crt: c, tls.key: k}\n"),
	}, {
		name: "dockerconfigjson key",
		bad:  secret("kubernetes.io/dockerconfigjson", "data: {}\n"),
		want: []string{`test.yaml:5:7: error: data[.dockerconfigjson]: Required value`},
		good: secret("kubernetes.io/dockerconfigjson", "stringData: {.dockerconfigjson: '{\"auths\": {}}'}\n"),
	}, {
		name: "dockerconfigjson content",
		bad:  secret("kubernetes.io/dockerconfigjson", "stringData: {.dockerconfigjson: 'hunter2'}\n"),
		want: []string{`test.yaml:5:33: error: stringData[.dockerconfigjson]: Invalid value: "<secret contents redacted>": must be valid JSON (syntax error at byte 1)`},
		good: secret("kubernetes.io/dockerconfigjson", "stringData: {.dockerconfigjson: '{\"auths\": {\"r.io\": {\"auth\": \"dTpw\"}}}'}\n"),
	}, {
		name: "dockerconfigjson auth that the node cannot use",
		bad:  secret("kubernetes.io/dockerconfigjson", "stringData: {.dockerconfigjson: '{\"auths\": {\"r.io\": {\"auth\": \"hunter2\"}}}'}\n"),
		want: []string{`test.yaml:5:33: error: stringData[.dockerconfigjson]: Invalid value: "<secret contents redacted>": auths["r.io"].auth is not base64`},
		good: secret("kubernetes.io/dockerconfigjson", "stringData: {.dockerconfigjson: '{\"auths\": {\"r.io\": {\"username\": \"u\", \"password\": \"hunter2\"}}}'}\n"),
	}, {
		name: "dockercfg content",
		bad:  secret("kubernetes.io/dockercfg", "data: {.dockercfg: "+b64("[1]")+"}\n"),
		want: []string{`test.yaml:5:20: error: data[.dockercfg]: Invalid value: "<secret contents redacted>": must be valid JSON of the expected shape ( at byte 1 is a JSON array)`},
		good: secret("kubernetes.io/dockercfg", "data: {.dockercfg: "+b64("{}")+"}\n"),
	}, {
		name: "basic-auth keys",
		bad:  secret("kubernetes.io/basic-auth", "stringData: {user: u}\n"),
		want: []string{`test.yaml:5:13: error: stringData[password]: Required value`, `test.yaml:5:13: error: stringData[username]: Required value`},
		good: secret("kubernetes.io/basic-auth", "stringData: {password: \"\"}\n"),
	}, {
		name: "ssh-auth key",
		bad:  secret("kubernetes.io/ssh-auth", "stringData: {ssh-privatekey: \"\"}\n"),
		want: []string{`test.yaml:5:30: error: stringData[ssh-privatekey]: Required value`},
		good: secret("kubernetes.io/ssh-auth", "stringData: {ssh-privatekey: key}\n"),
	}, {
		name: "service-account-token annotation",
		bad:  secret("kubernetes.io/service-account-token", ""),
		want: []string{`test.yaml:3:11: error: metadata.annotations[kubernetes.io/service-account.name]: Required value`},
		good: "apiVersion: v1\nkind: Secret\nmetadata: {name: s, annotations: {kubernetes.io/service-account.name: default}}\ntype: kubernetes.io/service-account-token\n",
	}, {
		name: "any other secret type is opaque",
		bad:  secret("example.com/anything", "stringData: {\"bad key\": x}\n"),
		want: []string{`test.yaml:5:14: error: stringData["bad key"]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`},
		good: secret("example.com/anything", "stringData: {key: x}\n") + "---\n" + strings.Replace(secret("bootstrap.kubernetes.io/token", ""), "name: s", "name: bootstrap-token-abcdef", 1),
	}, {
		name: "limitrange default above max",
		bad:  limitRange("{type: Container, max: {cpu: \"1\"}, default: {cpu: \"2\"}}"),
		want: []string{`test.yaml:6:55: error: spec.limits[0].default[cpu]: Invalid value: "1": default value 2 is greater than max value 1`},
		good: limitRange("{type: Container, max: {cpu: \"2\"}, default: {cpu: \"2\"}}"),
	}, {
		name: "limitrange defaultRequest below min",
		bad:  limitRange("{type: Container, min: {memory: 64Mi}, defaultRequest: {memory: 32Mi}}"),
		want: []string{`test.yaml:6:69: error: spec.limits[0].defaultRequest[memory]: Invalid value: "32Mi": min value 64Mi is greater than default request value 32Mi`},
		good: limitRange("{type: Container, min: {memory: 64Mi}, defaultRequest: {memory: 64Mi}}"),
	}, {
		name: "limitrange defaultRequest above default",
		bad:  limitRange("{type: Container, default: {cpu: 100m}, defaultRequest: {cpu: 200m}}"),
		want: []string{`test.yaml:6:67: error: spec.limits[0].defaultRequest[cpu]: Invalid value: "200m": default request value 200m is greater than default limit value 100m`},
		good: limitRange("{type: Container, default: {cpu: 200m}, defaultRequest: {cpu: 200m}}"),
	}, {
		name: "limitrange min above max",
		bad:  limitRange("{type: Pod, min: {cpu: \"2\"}, max: {cpu: \"1\"}}"),
		want: []string{`test.yaml:6:28: error: spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1`},
		good: limitRange("{type: Pod, min: {cpu: \"1\"}, max: {cpu: \"1\"}}"),
	}, {
		name: "limitrange type twice",
		bad:  limitRange("{type: Container, max: {cpu: \"1\"}}\n  - {type: Container, max: {memory: 1Gi}}"),
		want: []string{`test.yaml:7:12: error: spec.limits[1].type: Duplicate value: "Container"`},
		good: limitRange("{type: Container, max: {cpu: \"1\", memory: 1Gi}}"),
	}, {
		name: "limitrange Pod default",
		bad:  limitRange("{type: Pod, default: {cpu: \"1\"}}"),
		want: []string{`test.yaml:6:26: error: spec.limits[0].default: Forbidden: may not be specified when ` + "`type`" + ` is 'Pod'`},
		good: limitRange("{type: Pod, max: {cpu: \"1\"}}"),
	}, {
		name: "limitrange maxLimitRequestRatio below 1",
		bad:  limitRange("{type: Container, maxLimitRequestRatio: {cpu: 500m}}"),
		want: []string{`test.yaml:6:51: error: spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1`},
		good: limitRange("{type: Container, maxLimitRequestRatio: {cpu: \"1\"}}"),
	}, {
		name: "quota count is an integer",
		bad:  "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec: {hard: {pods: 1500m}}\n",
		want: []string{`test.yaml:4:21: error: spec.hard[pods]: Invalid value: "1500m": must be an integer`},
		good: "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec: {hard: {pods: \"2\", requests.cpu: 1500m}}\n",
	}, {
		name: "local volume without node affinity",
		bad:  "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], local: {path: /srv}}\n",
		want: []string{`test.yaml:4:7: error: spec.nodeAffinity: Required value: Local volume requires node affinity`},
		good: "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], local: {path: /srv}, nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [n1]}]}]}}}\n",
	}, {
		name: "ReadWriteOncePod with another mode",
		bad:  "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOncePod, ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
		want: []string{`test.yaml:4:21: error: spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes`},
		good: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOncePod], resources: {requests: {storage: 1Gi}}}\n",
	}, {
		name: "claim of zero bytes",
		bad:  "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: \"0\"}}}\n",
		want: []string{`test.yaml:4:49: error: spec.resources[storage]: Invalid value: "0": must be greater than zero`},
		good: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: \"1\"}}}\n",
	}, {
		name: "selector operator In without values",
		bad:  deployment("", "") + "---\n" + "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, selector: {matchExpressions: [{key: tier, operator: In}]}}\n",
		want: []string{"test.yaml:16:107: error: spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"},
		good: deployment("", "") + "---\n" + "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, selector: {matchExpressions: [{key: tier, operator: Exists}]}}\n",
	}})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestValidKubernetesAccepted pins manifests that the API server accepts
// and that berth once refused.
func TestValidKubernetesAccepted(t *testing.T) {
	for name, src := range map[string]string{
		"capabilities in any case":                  pod("  containers:\n  - name: c\n    image: c:1\n    securityContext: {capabilities: {drop: [all], add: [net_admin, CAP_SYS_TIME, Chown]}}\n"),
		"service port names of 16 to 63 characters": service("  ports: [{name: metrics-endpoint-for-prometheus, port: 9090}]\n"),
		"probe timings of 0 are the defaults":       pod("  containers:\n  - name: c\n    image: c:1\n    livenessProbe: {exec: {command: [check]}, periodSeconds: 0, timeoutSeconds: 0, successThreshold: 0, failureThreshold: 0}\n"),
		"empty enums are the defaults":              pod("  restartPolicy: \"\"\n  containers:\n  - name: c\n    image: c:1\n    imagePullPolicy: \"\"\n    ports: [{containerPort: 80, protocol: \"\"}]\n"),
		"any secret type": secret("example.com/custom", "stringData: {k: v}\n") + "---\n" + strings.Replace(secret("\"\"", ""), "name: s", "name: t", 1) + "---\n" +
			strings.Replace(secret("kubernetes.io/basic-auth", "stringData: {username: u, password: p}\n"), "name: s", "name: u", 1),
		"quantities the API server reads":      pod("  containers:\n  - name: c\n    image: c:1\n    resources: {requests: {cpu: \"1e3\", memory: 1e9}, limits: {cpu: 1e31, memory: 2Gi}}\n"),
		"environment names of printable ASCII": pod("  containers:\n  - name: c\n    image: c:1\n    env: [{name: \"my var\", value: x}]\n"),
	} {
		t.Run(name, func(t *testing.T) {
			objtest.Expect(t, src, front(t, src), nil)
		})
	}
}
