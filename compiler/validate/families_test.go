package validate_test

import "testing"

func TestServiceFamilyRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "IPv4 once",
		bad:  service("  ipFamilies: [IPv4, IPv4]\n  ports: [{port: 80}]\n"),
		want: []string{
			`test.yaml:6:22: error: spec.ipFamilies[1]: Duplicate value: "IPv4"`,
		},
		good: service("  ipFamilies: [IPv4]\n  ipFamilyPolicy: SingleStack\n  ports: [{port: 80}]\n"),
	}, {
		name: "ClusterIP of the family",
		bad:  service("  ipFamilies: [IPv4]\n  clusterIP: fd00::10\n  ports: [{port: 80}]\n"),
		want: []string{
			"test.yaml:7:14: error: spec.clusterIP: Invalid value: \"fd00::10\": expected an IPv4 value as indicated by `ipFamilies[0]`",
		},
		good: service("  ipFamilies: [IPv4]\n  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n"),
	}, {
		name: "dual-stack is not supported",
		bad:  service("  ipFamilyPolicy: RequireDualStack\n  ports: [{port: 80}]\n"),
		want: []string{
			`test.yaml:6:19: error: spec.ipFamilyPolicy: value "RequireDualStack" is valid Kubernetes but not supported by berth (supported: "SingleStack")`,
		},
		good: service("  ipFamilyPolicy: SingleStack\n  ports: [{port: 80}]\n"),
	}})
}
