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
