package validate_test

import "testing"

func TestSchedulingRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "node affinity without terms",
		bad:  ctr("  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}}}\n", ""),
		want: []string{
			"test.yaml:5:97: error: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term",
		},
		good: ctr("  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: a, operator: Exists}]}]}}}\n", ""),
	}, {
		name: "node selector values by operator",
		bad:  ctr("  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: a, operator: Gt, values: [\"1\", \"2\"]}, {key: b, operator: In}], matchFields: [{key: metadata.uid, operator: Exists}]}]}}}\n", ""),
		want: []string{
			"test.yaml:5:149: error: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
			"test.yaml:5:162: error: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
			"test.yaml:5:207: error: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key: Invalid value: \"metadata.uid\": not a valid field selector key",
			"test.yaml:5:231: error: spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].operator: Invalid value: \"Exists\": not a valid selector operator",
		},
		good: ctr("  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: a, operator: Lt, values: [\"1\"]}], matchFields: [{key: metadata.name, operator: NotIn, values: [n1]}]}]}}}\n", ""),
	}, {
		name: "preferred weight",
		bad:  ctr("  affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 0, preference: {}}]}, podAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 101, podAffinityTerm: {topologyKey: zone}}]}}\n", ""),
		want: []string{
			"test.yaml:5:88: error: spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100",
			"test.yaml:5:183: error: spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 101: must be in the range 1-100",
		},
		good: ctr("  affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 1, preference: {}}]}, podAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 100, podAffinityTerm: {topologyKey: zone}}]}}\n", ""),
	}, {
		name: "pod affinity term",
		bad:  ctr("  affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: \"\", matchLabelKeys: [app]}, {topologyKey: \"a b\", labelSelector: {matchLabels: {app: x}}, matchLabelKeys: [app], mismatchLabelKeys: [app]}]}}\n", ""),
		want: []string{
			"test.yaml:5:95: error: spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: \"\": name part must be non-empty",
			"test.yaml:5:95: error: spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
			"test.yaml:5:95: error: spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty",
			"test.yaml:5:115: error: spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set",
			"test.yaml:5:137: error: spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].topologyKey: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
			"test.yaml:5:201: error: spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].matchLabelKeys[0]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector",
			"test.yaml:5:201: error: spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].matchLabelKeys[0]: Invalid value: \"app\": exists in both matchLabelKeys and mismatchLabelKeys",
		},
		good: ctr("  affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: x}}, matchLabelKeys: [pod-template-hash]}]}}\n", ""),
	}, {
		name: "tolerations",
		bad:  ctr("  tolerations: [{operator: Equal}, {key: a, operator: Exists, value: b}, {key: a, effect: NoSchedule, tolerationSeconds: 5}, {key: a, operator: Like, effect: Never}]\n", ""),
		want: []string{
			"test.yaml:5:28: error: spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
			"test.yaml:5:55: error: spec.tolerations[1].operator: Invalid value: \"Exists\": value must be empty when `operator` is 'Exists'",
			"test.yaml:5:91: error: spec.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
			"test.yaml:5:145: error: spec.tolerations[3].operator: Unsupported value: \"Like\": supported values: \"Equal\", \"Exists\"",
			"test.yaml:5:159: error: spec.tolerations[3].effect: Unsupported value: \"Never\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
		},
		good: ctr("  tolerations: [{operator: Exists}, {key: a, operator: Exists}, {key: a, effect: NoExecute, tolerationSeconds: 5}, {key: a, value: b, effect: PreferNoSchedule}]\n", ""),
	}, {
		name: "topology spread",
		bad:  ctr("  topologySpreadConstraints: [{maxSkew: 0, topologyKey: \"\", whenUnsatisfiable: Maybe, matchLabelKeys: [app]}, {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, minDomains: 0, nodeTaintsPolicy: Always, labelSelector: {matchLabels: {app: a}}, matchLabelKeys: [app]}, {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]\n", ""),
		want: []string{
			"test.yaml:5:41: error: spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
			"test.yaml:5:57: error: spec.topologySpreadConstraints[0].topologyKey: Required value: can not be empty",
			"test.yaml:5:80: error: spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: \"Maybe\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
			"test.yaml:5:103: error: spec.topologySpreadConstraints[0].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set",
			"test.yaml:5:111: error: spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}: Duplicate value: \"{zone, ScheduleAnyway}\"",
			"test.yaml:5:190: error: spec.topologySpreadConstraints[1].minDomains: Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
			"test.yaml:5:190: error: spec.topologySpreadConstraints[1].minDomains: Invalid value: 0: must be greater than zero",
			"test.yaml:5:211: error: spec.topologySpreadConstraints[1].nodeTaintsPolicy: Unsupported value: \"Always\": supported values: \"Honor\", \"Ignore\"",
			"test.yaml:5:276: error: spec.topologySpreadConstraints[1].matchLabelKeys[0]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector",
		},
		good: ctr("  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule, minDomains: 2, nodeTaintsPolicy: Honor, labelSelector: {matchLabels: {app: a}}, matchLabelKeys: [pod-template-hash]}, {maxSkew: 2, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]\n", ""),
	}, {
		name: "extended resources",
		bad:  ctr("", "    resources: {requests: {nvidia.com/gpu: 1, example.com/foo: 500m}, limits: {nvidia.com/gpu: 2}}\n"),
		want: []string{
			"test.yaml:8:44: error: spec.containers[0].resources.requests[nvidia.com/gpu]: Invalid value: \"1\": must be equal to nvidia.com/gpu limit of 2",
			"test.yaml:8:64: error: spec.containers[0].resources.requests[example.com/foo]: Invalid value: \"500m\": must be an integer",
			"test.yaml:8:79: error: spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
		},
		good: ctr("", "    resources: {requests: {nvidia.com/gpu: 2}, limits: {nvidia.com/gpu: 2, example.com/foo: 1}}\n"),
	}, {
		name: "duplicate taints",
		bad:  "apiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: n1}\nspec:\n  address: 10.0.0.1\n  taints: [{key: a, effect: NoSchedule}, {key: a, value: b, effect: NoSchedule}]\n",
		want: []string{
			"test.yaml:6:42: error: spec.taints[1]: Duplicate value: {\"key\":\"a\",\"value\":\"b\",\"effect\":\"NoSchedule\"}: taints must be unique by key and effect pair",
		},
		good: "apiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: n1}\nspec:\n  address: 10.0.0.1\n  taints: [{key: a, effect: NoSchedule}, {key: a, value: b, effect: NoExecute}]\n",
	}})
}
