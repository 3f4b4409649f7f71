package check

import (
	"testing"

	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/internal/objtest"
)

// podAs is a Pod whose spec is completed by spec (indented two spaces).
func podAs(name, spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: shop}\nspec:\n" + spec + "  containers: [{name: c, image: \"c:1\"}]\n"
}

const shopNS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"

func TestServiceAccountReferences(t *testing.T) {
	runCases(t, RuleMissingReference, []checkCase{{
		name: "default exists in every namespace",
		src:  shopNS + podAs("p", "  serviceAccountName: default\n") + "---\n" + podAs("q", ""),
	}, {
		name: "a ServiceAccount of the namespace",
		src:  shopNS + "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n---\n" + podAs("p", "  serviceAccountName: web\n"),
	}, {
		name: "a missing ServiceAccount",
		src:  shopNS + "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n---\n" + podAs("p", "  serviceAccountName: web\n") + "---\n" + podAs("q", "  serviceAccount: old\n"),
		want: []string{
			`test.yaml:13:23: error: spec.serviceAccountName: ServiceAccount "web" does not exist in namespace shop: add it to the repository, fix the name, or leave serviceAccountName out to run as "default"`,
			`test.yaml:20:19: error: spec.serviceAccount: ServiceAccount "old" does not exist in namespace shop: add it to the repository, fix the name, or leave serviceAccountName out to run as "default"`,
		},
	}, {
		name: "a missing PriorityClass",
		src:  shopNS + podAs("p", "  priorityClassName: high\n") + "---\n" + podAs("q", "  priorityClassName: system-node-critical\n"),
		want: []string{
			`test.yaml:9:22: error: spec.priorityClassName: no PriorityClass with name high was found: add it to the repository, fix the name, or use system-cluster-critical or system-node-critical`,
		},
	}, {
		name: "a ServiceAccount's pull secret, when its pods take it",
		src: shopNS + "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\nimagePullSecrets: [{name: regcred}]\n---\n" +
			"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: idle, namespace: shop}\nimagePullSecrets: [{name: nothing}]\n---\n" +
			podAs("p", "  serviceAccountName: web\n"),
		want: []string{
			`test.yaml:8:27: error: imagePullSecrets[0].name: Secret "regcred" does not exist in namespace shop: add the kubernetes.io/dockerconfigjson Secret to the repository or fix the name`,
		},
	}})
}

func TestStandaloneAccounts(t *testing.T) {
	src := podAs("p", "  serviceAccountName: web\n  priorityClassName: high\n")
	var got []diag.Diagnostic
	for _, d := range Run(objtest.Set(t, src), Options{Standalone: true}) {
		if d.Rule == RuleMissingReference {
			got = append(got, d)
		}
	}
	objtest.Expect(t, src, objtest.Strings(got), []string{
		`test.yaml:5:23: warning: spec.serviceAccountName: ServiceAccount "web" is not in the files checked; --standalone assumes it is made elsewhere`,
		`test.yaml:6:22: warning: spec.priorityClassName: PriorityClass "high" is not in the files checked; --standalone assumes it is made elsewhere`,
	})
}

func TestPriorityRules(t *testing.T) {
	const classes = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\npreemptionPolicy: Never\n---\n" +
		"apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: normal}\nvalue: 10\nglobalDefault: true\n---\n"
	runCases(t, RulePriority, []checkCase{{
		name: "priority as the class says",
		src:  shopNS + classes + podAs("p", "  priorityClassName: high\n  priority: 1000\n  preemptionPolicy: Never\n") + "---\n" + podAs("q", "  priority: 10\n"),
	}, {
		name: "priority unlike the class",
		src:  shopNS + classes + podAs("p", "  priorityClassName: high\n  priority: 5\n  preemptionPolicy: PreemptLowerPriority\n") + "---\n" + podAs("q", "  priority: 0\n"),
		want: []string{
			`test.yaml:22:13: error: spec.priority: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name: remove priority`,
			`test.yaml:23:21: error: spec.preemptionPolicy: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name: remove preemptionPolicy`,
			`test.yaml:30:13: error: spec.priority: the integer value of priority (0) must not be provided in pod spec; priority admission controller computed 10 from the given PriorityClass name: remove priority`,
		},
	}, {
		name: "one global default",
		src:  classes + "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: other}\nvalue: 20\nglobalDefault: true\n",
		want: []string{
			`test.yaml:17:16: error: globalDefault: PriorityClass normal is already marked as default. Only one default can exist (it is at test.yaml:11:16)`,
		},
	}})
}

func TestRoleRefs(t *testing.T) {
	const binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: shop}\n"
	runCases(t, RuleMissingReference, []checkCase{{
		name: "built-in and repository roles",
		src: shopNS + binding + "roleRef: {kind: ClusterRole, name: view}\n---\n" +
			binding + "roleRef: {kind: ClusterRole, name: \"system:auth-delegator\"}\n---\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader, namespace: shop}\n---\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: c, namespace: shop}\nroleRef: {kind: Role, name: reader}\n",
	}, {
		name: "a role that is nowhere",
		src:  shopNS + binding + "roleRef: {kind: Role, name: reader}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: ClusterRole, name: readers}\n",
		want: []string{
			`test.yaml:8:29: warning: roleRef.name: Role "reader" is not in namespace shop nor built into Kubernetes: the binding refers to nothing until it exists (and grants nothing on a berth node)`,
			`test.yaml:13:36: warning: roleRef.name: ClusterRole "readers" is not in the repository nor built into Kubernetes: the binding refers to nothing until it exists (and grants nothing on a berth node)`,
		},
	}})
}

func TestNoEffectNote(t *testing.T) {
	runCases(t, RuleNoEffect, []checkCase{{
		name: "none",
		src:  shopNS + podAs("p", "  serviceAccountName: default\n"),
	}, {
		name: "once per repository",
		src: shopNS + "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n---\n" +
			"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: shop}\n---\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\n" +
			podAs("p", "  serviceAccountName: web\n  automountServiceAccountToken: true\n"),
		want: []string{
			`test.yaml:7:18: note: metadata.name: berth has no API server, so these objects are checked (names, rules, references) and have no effect on a berth node: 2 ServiceAccounts, 1 ClusterRole. A ServiceAccount's imagePullSecrets are used by its pods; no pod gets a service account token`,
		},
	}, {
		name: "a token asked for",
		src:  shopNS + podAs("p", "  automountServiceAccountToken: true\n"),
		want: []string{
			`test.yaml:9:33: note: spec.automountServiceAccountToken: berth has no API server: no service account token is mounted in any pod (automountServiceAccountToken has no effect on a berth node)`,
		},
	}})
}

// Admission gives a pod without pull secrets its ServiceAccount's, and
// writes the priority of its class (or of the global default) into it.
func TestAccountAdmission(t *testing.T) {
	src := shopNS + "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\nimagePullSecrets: [{name: regcred}]\n---\n" +
		"apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: normal}\nvalue: 10\nglobalDefault: true\n---\n" +
		podAs("a", "  serviceAccountName: web\n") + "---\n" +
		podAs("b", "  serviceAccountName: web\n  imagePullSecrets: [{name: own}]\n  priorityClassName: system-cluster-critical\n")
	set := objtest.Set(t, src)
	admit.Admit(set, admit.Templates(set))
	a := set.Get("Pod", "shop", "a").Value.(*api.Pod).Spec
	b := set.Get("Pod", "shop", "b").Value.(*api.Pod).Spec
	if len(a.ImagePullSecrets) != 1 || a.ImagePullSecrets[0].Name != "regcred" || a.PriorityClassName != "normal" || *a.Priority != 10 || a.PreemptionPolicy != "PreemptLowerPriority" {
		t.Errorf("pod a: pull secrets %v, class %q, priority %v, policy %q", a.ImagePullSecrets, a.PriorityClassName, a.Priority, a.PreemptionPolicy)
	}
	if len(b.ImagePullSecrets) != 1 || b.ImagePullSecrets[0].Name != "own" || *b.Priority != 2000000000 {
		t.Errorf("pod b: pull secrets %v, priority %v", b.ImagePullSecrets, b.Priority)
	}
}
