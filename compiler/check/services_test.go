package check

import (
	"strings"
	"testing"
)

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: img:1
        ports: [{name: http, containerPort: 8080}, {containerPort: 9090}]
---
`

func service(spec string) string {
	return "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n" + spec + "\n---\n"
}

func TestServiceSelector(t *testing.T) {
	runCases(t, RuleServiceSelector, []checkCase{
		{"matches a deployment", webDeployment + service("  selector: {app: web}\n  ports: [{port: 80}]"), nil},
		{"no selector", service("  ports: [{port: 80}]"),
			[]string{`test.yaml:5:3: warning: spec: the Service has no selector, so it routes nowhere (connections are refused): berth has no Endpoints objects to fill it by hand; add spec.selector`}},
		{"matches nothing", webDeployment + service("  selector: {app: wbe}\n  ports: [{port: 80}]"),
			[]string{`test.yaml:18:13: warning: spec.selector: selector app=wbe matches no pod template in namespace default, so the Service has no endpoints: fix the selector or the labels of the workload it should route to`}},
		{"other namespace", webDeployment + "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\nspec:\n  selector: {app: web}\n",
			[]string{`test.yaml:22:13: warning: spec.selector: selector app=web matches no pod template in namespace x, so the Service has no endpoints: fix the selector or the labels of the workload it should route to`}},
		{"matches a cronjob", `apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: c}}
        spec:
          restartPolicy: Never
          containers: [{name: c, image: "img:1"}]
---
` + service("  selector: {app: c}"), nil},
	})
}

func TestTargetPort(t *testing.T) {
	runCases(t, RuleTargetPort, []checkCase{
		{"named and declared", webDeployment + service("  selector: {app: web}\n  ports: [{port: 80, targetPort: http}]"), nil},
		{"numeric", webDeployment + service("  selector: {app: web}\n  ports: [{port: 80, targetPort: 7777}]"), nil},
		{"named, not declared", webDeployment + service("  selector: {app: web}\n  ports:\n  - port: 80\n    targetPort: https"),
			[]string{`test.yaml:21:17: error: spec.ports[0].targetPort: targetPort "https" is not the name of a port of any selected container (Deployment web declares http=8080, 9090): name a declared containerPort or use a port number`}},
		{"named port of a sidecar (FindPort)", strings.Replace(webDeployment, "      containers:\n", "      initContainers:\n      - {name: side, image: img:1, restartPolicy: Always, ports: [{name: metrics, containerPort: 9100}]}\n      - {name: init, image: img:1, ports: [{name: setup, containerPort: 9200}]}\n      containers:\n", 1) +
			service("  selector: {app: web}\n  ports: [{port: 80, targetPort: metrics}, {port: 81, targetPort: setup}]"),
			[]string{`test.yaml:22:67: error: spec.ports[1].targetPort: targetPort "setup" is not the name of a port of any selected container (Deployment web declares http=8080, 9090, metrics=9100): name a declared containerPort or use a port number`}},
		{"selects nothing: only the selector warning", webDeployment + service("  selector: {app: x}\n  ports: [{port: 80, targetPort: https}]"), nil},
	})
}

func TestNodePort(t *testing.T) {
	np := func(name, ns, ports string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  type: NodePort\n  ports: " + ports + "\n---\n"
	}
	const nsB = "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\n"
	runCases(t, RuleNodePort, []checkCase{
		{"in range", np("a", "default", "[{port: 80, nodePort: 30080}]"), nil},
		{"below range", np("a", "default", "[{port: 80, nodePort: 8080}]"),
			[]string{`test.yaml:6:32: error: spec.ports[0].nodePort: nodePort 8080 is outside the range 30000-32767: pick a port in the range, or leave it empty to have one assigned`}},
		{"above range", np("a", "default", "[{port: 80, nodePort: 32768}]"),
			[]string{`test.yaml:6:32: error: spec.ports[0].nodePort: nodePort 32768 is outside the range 30000-32767: pick a port in the range, or leave it empty to have one assigned`}},
		{"clusterIP with nodePort", service("  ports: [{port: 80, nodePort: 30080}]"),
			[]string{`test.yaml:5:32: error: spec.ports[0].nodePort: nodePort is set but the Service type is ClusterIP: set type: NodePort, or remove nodePort`}},
		{"used twice across namespaces", nsB + np("a", "default", "[{port: 80, nodePort: 30080}]") + np("b", "b", "[{port: 81, nodePort: 30080}]"),
			// The second in file order is reported, though set order puts
			// namespace b first.
			[]string{`test.yaml:17:32: error: spec.ports[0].nodePort: nodePort 30080 is already used by Service default/a (test.yaml:10:32): pick another port in 30000-32767, or leave it empty to have one assigned`}},
		{"same port, other protocol", np("a", "default", "[{port: 53, nodePort: 30053, protocol: UDP}, {port: 53, nodePort: 30053}]"), nil},
		{"used twice in one service", np("a", "default", "[{port: 80, nodePort: 30080}, {port: 81, nodePort: 30080}]"),
			[]string{`test.yaml:6:61: error: spec.ports[1].nodePort: nodePort 30080 is already used by Service default/a (test.yaml:6:32): pick another port in 30000-32767, or leave it empty to have one assigned`}},
	})
}
