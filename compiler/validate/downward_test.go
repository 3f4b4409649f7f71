package validate_test

import "testing"

func TestDownwardRules(t *testing.T) {
	env := func(src string) string { return ctr("", "    env:\n    - name: V\n      valueFrom: "+src+"\n") }
	runRules(t, []ruleCase{{
		name: "fieldPath Kubernetes does not know",
		bad:  env("{fieldRef: {fieldPath: spec.nodename}}"),
		want: []string{`test.yaml:10:41: error: spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.nodename": error converting fieldPath: field label not supported: spec.nodename`},
		good: env("{fieldRef: {fieldPath: spec.nodeName}}"),
	}, {
		name: "whole labels in env",
		bad:  env("{fieldRef: {fieldPath: metadata.labels}}"),
		want: []string{`test.yaml:10:41: error: spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`},
		good: env("{fieldRef: {fieldPath: \"metadata.labels['app.kubernetes.io/name']\"}}"),
	}, {
		name: "subscript of another field",
		bad:  env("{fieldRef: {fieldPath: \"metadata.name['x']\"}}"),
		want: []string{`test.yaml:10:41: error: spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name['x']": error converting fieldPath: field label does not support subscript: metadata.name['x']`},
		good: env("{fieldRef: {fieldPath: \"metadata.annotations['Example.com/Key']\"}}"),
	}, {
		name: "label key not a qualified name",
		bad:  env("{fieldRef: {fieldPath: \"metadata.labels['a b']\"}}"),
		want: []string{`test.yaml:10:29: error: spec.containers[0].env[0].valueFrom.fieldRef: Invalid value: "a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		good: env("{fieldRef: {fieldPath: spec.host}}"),
	}, {
		name: "resource Kubernetes does not know",
		bad:  env("{resourceFieldRef: {resource: limits.gpu}}"),
		want: []string{`test.yaml:10:48: error: spec.containers[0].env[0].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.gpu": supported values: "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"`},
		good: env("{resourceFieldRef: {resource: limits.ephemeral-storage, divisor: 1Mi}}"),
	}, {
		name: "cpu divisor",
		bad:  env("{resourceFieldRef: {resource: requests.cpu, divisor: 1Mi}}"),
		want: []string{`test.yaml:10:71: error: spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor: Invalid value: "requests.cpu": only divisor's values 1m and 1 are supported with the cpu resource`},
		good: env("{resourceFieldRef: {resource: requests.cpu, divisor: 1000m}}"),
	}, {
		name: "memory divisor",
		bad:  env("{resourceFieldRef: {resource: limits.memory, divisor: 2Mi}}"),
		want: []string{`test.yaml:10:72: error: spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor: Invalid value: "limits.memory": only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource`},
		good: env("{resourceFieldRef: {resource: limits.memory, divisor: 1}}"),
	}})
}

func TestDownwardVolumeRules(t *testing.T) {
	vol := func(src string) string { return ctr("  volumes:\n  - name: v\n    "+src+"\n", "") }
	runRules(t, []ruleCase{{
		name: "a file without a source",
		bad:  vol("downwardAPI: {items: [{path: a}]}"),
		want: []string{`test.yaml:7:18: error: spec.volumes[0].downwardAPI: Required value: one of fieldRef and resourceFieldRef is required`},
		good: vol("downwardAPI: {items: [{path: a, fieldRef: {fieldPath: metadata.labels}}]}"),
	}, {
		name: "both sources",
		bad:  vol("downwardAPI: {items: [{path: a, fieldRef: {fieldPath: metadata.name}, resourceFieldRef: {containerName: c, resource: limits.cpu}}]}"),
		want: []string{`test.yaml:7:18: error: spec.volumes[0].downwardAPI: Invalid value: "resource": fieldRef and resourceFieldRef can not be specified simultaneously`},
		good: vol("downwardAPI: {items: [{path: a, resourceFieldRef: {containerName: c, resource: limits.cpu, divisor: 1m}}]}"),
	}, {
		name: "a file's resource names its container",
		bad:  vol("downwardAPI: {items: [{path: a, resourceFieldRef: {resource: limits.cpu}}]}"),
		want: []string{`test.yaml:7:18: error: spec.volumes[0].downwardAPI.resourceFieldRef.containerName: Required value`},
		good: vol("downwardAPI: {items: [{path: a, fieldRef: {fieldPath: \"metadata.annotations['x']\"}}]}"),
	}, {
		name: "node fields are not files",
		bad:  vol("downwardAPI: {items: [{path: a, fieldRef: {fieldPath: spec.nodeName}}]}"),
		want: []string{`test.yaml:7:18: error: spec.volumes[0].downwardAPI.fieldRef.fieldPath: Unsupported value: "spec.nodeName": supported values: "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"`},
		good: vol("downwardAPI: {items: [{path: a, fieldRef: {fieldPath: metadata.uid}}]}"),
	}, {
		name: "projected paths collide",
		bad:  vol("projected: {sources: [{configMap: {name: a, items: [{key: k, path: p}]}}, {secret: {name: b, items: [{key: k, path: p}]}}]}"),
		want: []string{`test.yaml:7:16: error: spec.volumes[0].projected: Invalid value: "b": conflicting duplicate paths`},
		good: vol("projected: {sources: [{configMap: {name: a, items: [{key: k, path: p}]}}, {secret: {name: b, items: [{key: k, path: q}]}}, {downwardAPI: {items: [{path: r, fieldRef: {fieldPath: metadata.name}}]}}]}"),
	}, {
		name: "serviceAccountToken has no token to project",
		bad:  vol("projected: {sources: [{serviceAccountToken: {path: token}}]}"),
		want: []string{`test.yaml:7:28: error: spec.volumes[0].projected.sources[0].serviceAccountToken: field "serviceAccountToken" is not supported by berth: berth has no API server, so there is no service account token to mount (the pod's serviceAccountName is checked, but no token is mounted)`},
		good: vol("projected: {sources: []}"),
	}, {
		name: "two types in one source",
		bad:  vol("projected: {sources: [{configMap: {name: a}, secret: {name: b}}]}"),
		want: []string{`test.yaml:7:27: error: spec.volumes[0].projected.sources[0]: Forbidden: may not specify more than 1 volume type per source`},
		good: vol("projected: {sources: [{configMap: {name: a}}, {secret: {name: b}}]}"),
	}})
}
