package validate_test

import "testing"

// pdb renders a PodDisruptionBudget with spec (indented two spaces).
func pdb(spec string) string {
	return "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: b}\nspec:\n" + spec
}

func TestPodDisruptionBudgetRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "both minAvailable and maxUnavailable",
		bad:  pdb("  minAvailable: 1\n  maxUnavailable: 1\n  selector: {matchLabels: {app: web}}\n"),
		want: []string{`test.yaml:5:3: error: spec: Invalid value: {"minAvailable":1,"maxUnavailable":1,"selector":{"matchLabels":{"app":"web"}}}: minAvailable and maxUnavailable cannot be both set`},
		good: pdb("  maxUnavailable: 1\n  selector: {matchLabels: {app: web}}\n"),
	}, {
		name: "minAvailable over 100%",
		bad:  pdb("  minAvailable: 150%\n  selector: {}\n"),
		want: []string{`test.yaml:5:17: error: spec.minAvailable: Invalid value: "150%": must not be greater than 100%`},
		good: pdb("  minAvailable: 100%\n  selector: {}\n"),
	}, {
		name: "maxUnavailable over 100%",
		bad:  pdb("  maxUnavailable: 101%\n"),
		want: []string{`test.yaml:5:19: error: spec.maxUnavailable: Invalid value: "101%": must not be greater than 100%`},
		good: pdb("  maxUnavailable: 0%\n"),
	}, {
		name: "selector values",
		bad:  pdb("  maxUnavailable: 1\n  selector: {matchExpressions: [{key: app, operator: In}]}\n"),
		want: []string{"test.yaml:6:33: error: spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"},
		good: pdb("  maxUnavailable: 1\n  selector: {matchExpressions: [{key: app, operator: In, values: [web]}]}\n"),
	}})
}
