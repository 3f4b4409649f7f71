package check

import "testing"

// podWith renders a Pod whose spec is spec (indented by two spaces).
func podWith(spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + spec + "\n---\n"
}

func TestDuplicateNames(t *testing.T) {
	runCases(t, RuleDuplicateName, []checkCase{
		{"unique", podWith("  initContainers: [{name: init, image: img:1}]\n  containers: [{name: app, image: img:1}]"), nil},
		{"container twice", podWith("  containers:\n  - {name: app, image: img:1}\n  - {name: app, image: img:2}"),
			[]string{`test.yaml:7:12: error: spec.containers[1].name: container name "app" is already used by spec.containers[0]: give each container of a pod its own name`}},
		{"init and app share a name", podWith("  initContainers: [{name: app, image: img:1}]\n  containers: [{name: app, image: img:1}]"),
			[]string{`test.yaml:6:23: error: spec.containers[0].name: container name "app" is already used by spec.initContainers[0]: give each container of a pod its own name`}},
		{"volume twice", podWith("  containers: [{name: app, image: img:1}]\n  volumes:\n  - {name: data, emptyDir: {}}\n  - {name: data, emptyDir: {}}"),
			[]string{`test.yaml:8:12: error: spec.volumes[1].name: volume name "data" is already used by volumes[0]: give each volume its own name`}},
	})
}

func TestDuplicateEnv(t *testing.T) {
	runCases(t, RuleDuplicateEnv, []checkCase{
		{"unique", podWith("  containers:\n  - name: app\n    image: img:1\n    env: [{name: A, value: a}, {name: B, value: b}]"), nil},
		{"twice", podWith("  containers:\n  - name: app\n    image: img:1\n    env:\n    - {name: A, value: a}\n    - {name: B, value: b}\n    - {name: A, value: c}"),
			[]string{`test.yaml:11:14: warning: spec.containers[0].env[2].name: env "A" is already set at env[0] and this value replaces it: remove one of them`}},
		{"same name in two containers is fine", podWith("  containers:\n  - {name: a, image: img:1, env: [{name: A, value: a}]}\n  - {name: b, image: img:1, env: [{name: A, value: a}]}"), nil},
	})
}

func TestDuplicatePorts(t *testing.T) {
	runCases(t, RuleDuplicatePort, []checkCase{
		{"unique", podWith("  containers:\n  - name: app\n    image: img:1\n    ports: [{containerPort: 80}, {containerPort: 81}]"), nil},
		{"same port, other protocol", podWith("  containers:\n  - name: app\n    image: img:1\n    ports: [{containerPort: 53}, {containerPort: 53, protocol: UDP}]"), nil},
		{"same port twice", podWith("  containers:\n  - name: app\n    image: img:1\n    ports:\n    - containerPort: 80\n    - containerPort: 80\n      protocol: TCP"),
			[]string{`test.yaml:10:22: warning: spec.containers[0].ports[1].containerPort: containerPort 80/TCP is already declared at ports[0]: remove the duplicate`}},
		{"same name twice", podWith("  containers:\n  - name: app\n    image: img:1\n    ports:\n    - {name: http, containerPort: 80}\n    - {name: http, containerPort: 81}"),
			[]string{`test.yaml:10:14: error: spec.containers[0].ports[1].name: port name "http" is already used at ports[0]: give each port of a container its own name`}},
	})
}

func TestImageTag(t *testing.T) {
	img := func(image string) string {
		return podWith("  containers:\n  - name: app\n    image: " + image)
	}
	runCases(t, RuleImageTag, []checkCase{
		{"tagged", img("127.0.0.1:5000/berth/hello:v1"), nil},
		{"digest", img("busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000"), nil},
		{"no tag", img("busybox"),
			[]string{`test.yaml:7:12: warning: spec.containers[0].image: image "busybox" has no tag, which means :latest and can change under you: pin a version (for example busybox:1.0) or a digest`}},
		{"registry port, no tag", img("127.0.0.1:5000/berth/hello"),
			[]string{`test.yaml:7:12: warning: spec.containers[0].image: image "127.0.0.1:5000/berth/hello" has no tag, which means :latest and can change under you: pin a version (for example 127.0.0.1:5000/berth/hello:1.0) or a digest`}},
		{"latest", img("nginx:latest"),
			[]string{`test.yaml:7:12: warning: spec.containers[0].image: image "nginx:latest" uses the tag latest, which can change under you: pin a version tag or a digest`}},
		{"init container too", podWith("  initContainers: [{name: i, image: busybox}]\n  containers: [{name: app, image: img:1}]"),
			[]string{`test.yaml:5:37: warning: spec.initContainers[0].image: image "busybox" has no tag, which means :latest and can change under you: pin a version (for example busybox:1.0) or a digest`}},
	})
}

func TestProbePort(t *testing.T) {
	probe := func(probe string) string {
		return podWith("  containers:\n  - name: app\n    image: img:1\n    ports: [{name: http, containerPort: 8080}]\n    " + probe)
	}
	runCases(t, RuleProbePort, []checkCase{
		{"named", probe("livenessProbe: {httpGet: {path: /, port: http}}"), nil},
		{"numeric", probe("readinessProbe: {tcpSocket: {port: 8080}}"), nil},
		{"exec", probe("startupProbe: {exec: {command: [true]}}"), nil},
		{"unknown name", probe("livenessProbe: {httpGet: {path: /, port: health}}"),
			[]string{`test.yaml:9:46: error: spec.containers[0].livenessProbe.httpGet.port: livenessProbe port "health" is not the name of a port of container "app" (ports: http=8080): name one of its ports or use a number`}},
		{"undeclared number", probe("readinessProbe: {tcpSocket: {port: 9090}}"),
			[]string{`test.yaml:9:40: warning: spec.containers[0].readinessProbe.tcpSocket.port: readinessProbe port 9090 is not a containerPort of container "app" (ports: http=8080): declare it in ports, or probe a port the container exposes`}},
		{"no ports at all", podWith("  containers:\n  - name: app\n    image: img:1\n    startupProbe: {httpGet: {port: 80}}"),
			[]string{`test.yaml:8:36: warning: spec.containers[0].startupProbe.httpGet.port: startupProbe port 80 is not a containerPort of container "app" (it declares no ports): declare it in ports, or probe a port the container exposes`}},
	})
}

func TestVolumeMounts(t *testing.T) {
	runCases(t, RuleMissingReference, []checkCase{
		{"mounted", podWith("  containers:\n  - name: app\n    image: img:1\n    volumeMounts: [{name: data, mountPath: /data}]\n  volumes: [{name: data, emptyDir: {}}]"), nil},
		{"no such volume", podWith("  containers:\n  - name: app\n    image: img:1\n    volumeMounts: [{name: dta, mountPath: /data}]\n  volumes: [{name: data, emptyDir: {}}]"),
			[]string{`test.yaml:8:27: error: spec.containers[0].volumeMounts[0].name: volumeMount "dta" names no volume of the pod (volumes: data): add it to spec.volumes or fix the name`}},
	})
}

func TestSubPathExprExclusive(t *testing.T) {
	mount := func(m string) string {
		return podWith("  containers:\n  - name: app\n    image: img:1\n    volumeMounts: [{name: data, mountPath: /data, " + m + "}]\n  volumes: [{name: data, emptyDir: {}}]")
	}
	runCases(t, RuleVolumeMount, []checkCase{
		{"subPath", mount("subPath: a/b"), nil},
		{"subPathExpr", mount("subPathExpr: $(POD_NAME)"), nil},
		{"both", mount("subPath: a, subPathExpr: $(POD_NAME)"),
			[]string{`test.yaml:8:76: error: spec.containers[0].volumeMounts[0].subPathExpr: subPathExpr and subPath are mutually exclusive: keep one of them`}},
	})
}
