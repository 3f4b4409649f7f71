package check

import "testing"

// workload renders a controller whose selector is sel (a flow mapping)
// and whose template labels are labels.
func workload(apiVersion, kind, sel, labels string) string {
	s := "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata: {name: w}\nspec:\n"
	if kind == "Rollout" {
		s += "  strategy: {canary: {steps: [{setWeight: 50}]}}\n"
	}
	if sel != "" {
		s += "  selector: " + sel + "\n"
	}
	return s + `  template:
    metadata: {labels: ` + labels + `}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "img:1"}]
`
}

func TestSelectorMismatch(t *testing.T) {
	runCases(t, RuleSelectorMismatch, []checkCase{
		{"deployment matches", workload("apps/v1", "Deployment", "{matchLabels: {app: web}}", "{app: web, tier: front}"), nil},
		{"deployment mismatch", workload("apps/v1", "Deployment", "{matchLabels: {app: web}}", "{app: webb}"),
			[]string{`test.yaml:5:13: error: spec.selector: selector app=web does not match the pod template's labels (app=webb): make spec.template.metadata.labels match the selector`}},
		{"expressions", workload("apps/v1", "ReplicaSet", "{matchExpressions: [{key: tier, operator: NotIn, values: [back]}], matchLabels: {app: web}}", "{app: web, tier: back}"),
			[]string{`test.yaml:5:13: error: spec.selector: selector app=web,tier notin (back) does not match the pod template's labels (app=web,tier=back): make spec.template.metadata.labels match the selector`}},
		{"daemonset without labels", workload("apps/v1", "DaemonSet", "{matchLabels: {app: agent}}", "{}"),
			[]string{`test.yaml:5:13: error: spec.selector: selector app=agent does not match the pod template's labels (none): make spec.template.metadata.labels match the selector`}},
		{"rollout", workload("argoproj.io/v1alpha1", "Rollout", "{matchLabels: {app: a}}", "{app: b}"),
			[]string{`test.yaml:6:13: error: spec.selector: selector app=a does not match the pod template's labels (app=b): make spec.template.metadata.labels match the selector`}},
		{"empty selector", workload("apps/v1", "Deployment", "{}", "{app: web}"),
			[]string{`test.yaml:5:13: error: spec.selector: the selector is empty and would select every pod in namespace default: add matchLabels that match spec.template.metadata.labels`}},
		{"bad operator", workload("apps/v1", "Deployment", "{matchExpressions: [{key: app, operator: Equals, values: [web]}]}", "{app: web}"),
			[]string{`test.yaml:5:13: error: spec.selector: invalid selector: matchExpressions[0]: unknown operator "Equals" (want In, NotIn, Exists or DoesNotExist)`}},
		{"job without selector", workload("batch/v1", "Job", "", "{app: j}"), nil},
		// A Job's selector is the user's only with manualSelector: true;
		// without it the API server refuses one written (compiler/validate).
		{"job manual selector mismatch", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: w}\nspec:\n  manualSelector: true\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: j}}\n    spec: {restartPolicy: Never, containers: [{name: c, image: \"img:1\"}]}\n",
			[]string{`test.yaml:6:13: error: spec.selector: selector app=x does not match the pod template's labels (app=j): make spec.template.metadata.labels match the selector`}},
		{"job generated selector", workload("batch/v1", "Job", "{matchLabels: {app: x}}", "{app: j}"), nil},
	})
}

func TestNamespaces(t *testing.T) {
	runCases(t, RuleUndeclaredNamespace, []checkCase{
		{"default", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", nil},
		{"explicit default", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n", nil},
		{"declared", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n", nil},
		{"undeclared", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: shop\n",
			[]string{`test.yaml:5:14: error: metadata.namespace: namespace "shop" is not declared: add a Namespace object named "shop" to the repository, or move ConfigMap c to a declared namespace`}},
		{"cluster-scoped", "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /srv}}\n", nil},
	})
}

func TestRolloutServices(t *testing.T) {
	rollout := func(strategy string) string {
		return `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  strategy:
    ` + strategy + `
  selector: {matchLabels: {app: r}}
  template:
    metadata: {labels: {app: r}}
    spec:
      containers: [{name: c, image: "img:1"}]
---
apiVersion: v1
kind: Service
metadata: {name: active}
spec: {selector: {app: r}, ports: [{port: 80}]}
`
	}
	runCases(t, RuleMissingReference, []checkCase{
		{"bluegreen present", rollout("blueGreen: {activeService: active}"), nil},
		{"bluegreen missing preview", rollout("blueGreen: {activeService: active, previewService: preview}"),
			[]string{`test.yaml:6:56: error: spec.strategy.blueGreen.previewService: Service "preview" does not exist in namespace default: add it to the repository (selecting the Rollout's pods) or fix the name`}},
		{"canary missing both", rollout("canary: {stableService: stable, canaryService: canary}"),
			[]string{
				`test.yaml:6:29: error: spec.strategy.canary.stableService: Service "stable" does not exist in namespace default: add it to the repository (selecting the Rollout's pods) or fix the name`,
				`test.yaml:6:52: error: spec.strategy.canary.canaryService: Service "canary" does not exist in namespace default: add it to the repository (selecting the Rollout's pods) or fix the name`,
			}},
	})
	runCases(t, RuleRolloutService, []checkCase{
		{"same service twice", rollout("blueGreen: {activeService: active, previewService: active}"),
			[]string{`test.yaml:6:56: error: spec.strategy.blueGreen.previewService: previewService and activeService are both "active": the preview needs its own Service so the new revision can be tested before promotion`}},
	})
}
