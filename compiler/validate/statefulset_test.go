package validate_test

import "testing"

// sts renders a StatefulSet with extra spec lines (indented two spaces).
func sts(extra string) string {
	return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: "c:1"}]
` + extra
}

func TestStatefulSetRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "maxUnavailable 0",
		bad:  sts("  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0}}\n"),
		want: []string{"test.yaml:11:73: error: spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: cannot be 0"},
		good: sts("  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 2}}\n"),
	}, {
		name: "maxUnavailable over 100%",
		bad:  sts("  updateStrategy: {rollingUpdate: {maxUnavailable: \"120%\"}}\n"),
		want: []string{"test.yaml:11:52: error: spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"120%\": must not be greater than 100%"},
		good: sts("  updateStrategy: {rollingUpdate: {maxUnavailable: \"50%\", partition: 1}}\n"),
	}, {
		name: "claim template of size 0",
		bad:  sts("  volumeClaimTemplates: [{metadata: {name: d}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 0}}}}]\n"),
		want: []string{"test.yaml:11:96: error: spec.volumeClaimTemplates[0].spec.resources[storage]: Invalid value: \"0\": must be greater than zero"},
		good: sts("  volumeClaimTemplates: [{metadata: {name: d}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}]\n"),
	}})
}
