package validate_test

import (
	"strings"
	"testing"
)

// batchJob renders a Job whose spec is completed by spec (indented two
// spaces); its pod restarts Never and runs container c.
func batchJob(name, spec string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata: {" + name + "}\nspec:\n" + spec +
		"  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: \"c:1\"}]\n"
}

func TestJobRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "name or generateName",
		bad:  batchJob("labels: {a: b}", ""),
		want: []string{
			`test.yaml:3:11: error: metadata.name: Required value: name or generateName is required`,
		},
		good: batchJob("generateName: migrate-", ""),
	}, {
		name: "generateName is a name prefix",
		bad:  batchJob("generateName: Migrate-", ""),
		want: []string{
			`test.yaml:3:26: error: metadata.generateName: Invalid value: "Migrate-": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
		good: batchJob("generateName: db.migrate-", ""),
	}, {
		name: "indexed needs completions",
		bad:  batchJob("name: j", "  completionMode: Indexed\n"),
		want: []string{
			`test.yaml:5:3: error: spec.completions: Required value: when completion mode is Indexed`,
		},
		good: batchJob("name: j", "  completionMode: Indexed\n  completions: 3\n"),
	}, {
		name: "indexed hostname is a DNS label",
		bad:  batchJob("name: "+repeat("j", 61), "  completionMode: Indexed\n  completions: 11\n"),
		want: []string{
			`test.yaml:3:18: error: metadata.name: Invalid value: "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj": will not able to create pod with invalid DNS label: jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj-10`,
		},
		good: batchJob("name: "+repeat("j", 61), "  completionMode: Indexed\n  completions: 10\n"),
	}, {
		name: "per-index limits need Indexed",
		bad:  batchJob("name: j", "  backoffLimitPerIndex: 1\n  maxFailedIndexes: 1\n"),
		want: []string{
			`test.yaml:5:25: error: spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode`,
			`test.yaml:6:21: error: spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode`,
		},
		good: batchJob("name: j", "  completionMode: Indexed\n  completions: 2\n  backoffLimitPerIndex: 1\n  maxFailedIndexes: 1\n"),
	}, {
		name: "maxFailedIndexes needs backoffLimitPerIndex and at most completions",
		bad:  batchJob("name: j", "  completionMode: Indexed\n  completions: 2\n  maxFailedIndexes: 3\n"),
		want: []string{
			`test.yaml:5:3: error: spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified`,
			`test.yaml:7:21: error: spec.maxFailedIndexes: Invalid value: 3: must be less than or equal to completions`,
		},
		good: batchJob("name: j", "  completionMode: Indexed\n  completions: 2\n  backoffLimitPerIndex: 0\n  maxFailedIndexes: 2\n"),
	}, {
		name: "indexed parallelism",
		bad:  batchJob("name: j", "  completionMode: Indexed\n  completions: 2\n  parallelism: 100001\n"),
		want: []string{
			`test.yaml:7:16: error: spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed`,
		},
		good: batchJob("name: j", "  completionMode: Indexed\n  completions: 2\n  parallelism: 100000\n"),
	}, {
		name: "podFailurePolicy needs restartPolicy Never",
		bad:  strings.Replace(batchJob("name: j", "  podFailurePolicy: {rules: [{action: FailJob, onExitCodes: {operator: In, values: [1]}}]}\n"), "Never", "OnFailure", 1),
		want: []string{
			`test.yaml:8:22: error: spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`,
		},
		good: batchJob("name: j", "  podFailurePolicy: {rules: [{action: FailJob, onExitCodes: {operator: In, values: [1]}}]}\n"),
	}, {
		name: "podFailurePolicy rules",
		bad: batchJob("name: j", "  podFailurePolicy:\n    rules:\n"+
			"    - {action: FailIndex, onExitCodes: {containerName: d, operator: In, values: [0, 3, 2, 3]}}\n"+
			"    - {action: Ignore}\n"+
			"    - {action: Count, onExitCodes: {operator: NotIn, values: []}, onPodConditions: [{type: DisruptionTarget}]}\n"),
		want: []string{
			`test.yaml:7:16: error: spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set`,
			`test.yaml:7:56: error: spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "d": must be one of the container or initContainer names in the pod template`,
			`test.yaml:7:81: error: spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [0,3,2,3]: must be ordered`,
			`test.yaml:7:82: error: spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator`,
			`test.yaml:7:91: error: spec.podFailurePolicy.rules[0].onExitCodes.values[3]: Duplicate value: 3`,
			`test.yaml:8:7: error: spec.podFailurePolicy.rules[1]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required`,
			`test.yaml:9:7: error: spec.podFailurePolicy.rules[2]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported`,
			`test.yaml:9:62: error: spec.podFailurePolicy.rules[2].onExitCodes.values: Invalid value: []: at least one value is required`,
		},
		good: batchJob("name: j", "  podFailurePolicy:\n    rules:\n"+
			"    - {action: FailJob, onExitCodes: {containerName: c, operator: In, values: [2, 3]}}\n"+
			"    - {action: Ignore, onPodConditions: [{type: DisruptionTarget}]}\n"+
			"    - {action: Count, onExitCodes: {operator: NotIn, values: [0]}}\n"),
	}, {
		name: "successPolicy needs Indexed",
		bad:  batchJob("name: j", "  successPolicy: {rules: [{succeededCount: 1}]}\n"),
		want: []string{
			`test.yaml:5:18: error: spec.successPolicy: Invalid value: requires indexed completion mode`,
		},
		good: batchJob("name: j", "  completionMode: Indexed\n  completions: 3\n  successPolicy: {rules: [{succeededCount: 1}]}\n"),
	}, {
		name: "successPolicy rules",
		bad: batchJob("name: j", "  completionMode: Indexed\n  completions: 3\n  successPolicy:\n    rules:\n"+
			"    - {}\n    - {succeededIndexes: \"0-1,1\"}\n    - {succeededIndexes: \"3\"}\n    - {succeededIndexes: \"0-1\", succeededCount: 3}\n"),
		want: []string{
			`test.yaml:9:7: error: spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified`,
			`test.yaml:10:26: error: spec.successPolicy.rules[1].succeededIndexes: Invalid value: "0-1,1": error parsing succeededIndexes: non-increasing order, previous: 1, current: 1`,
			`test.yaml:11:26: error: spec.successPolicy.rules[2].succeededIndexes: Invalid value: "3": error parsing succeededIndexes: too large index: "3"`,
			`test.yaml:12:49: error: spec.successPolicy.rules[3].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)`,
		},
		good: batchJob("name: j", "  completionMode: Indexed\n  completions: 3\n  successPolicy:\n    rules:\n"+
			"    - {succeededIndexes: \"0-1,2\"}\n    - {succeededIndexes: \"0-1\", succeededCount: 2}\n"),
	}})
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
