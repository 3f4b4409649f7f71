package validate_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/load"
)

func rbac(kind, body string) string {
	return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\n" + body
}

func TestAccountRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "rule without verbs",
		bad:  rbac("Role", "metadata: {name: r}\nrules:\n- {apiGroups: [\"\"], resources: [pods]}\n"),
		want: []string{
			`test.yaml:5:3: error: rules[0].verbs: Required value: verbs must contain at least one value`,
		},
		good: rbac("Role", "metadata: {name: r}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: [get]}\n"),
	}, {
		name: "resource rule without groups or resources",
		bad:  rbac("ClusterRole", "metadata: {name: r}\nrules:\n- {verbs: [get]}\n"),
		want: []string{
			`test.yaml:5:3: error: rules[0].apiGroups: Required value: resource rules must supply at least one api group`,
			`test.yaml:5:3: error: rules[0].resources: Required value: resource rules must supply at least one resource`,
		},
		good: rbac("ClusterRole", "metadata: {name: r}\nrules:\n- {verbs: [get], apiGroups: [\"*\"], resources: [\"*\"]}\n"),
	}, {
		name: "namespaced non-resource URLs",
		bad:  rbac("Role", "metadata: {name: r}\nrules:\n- {verbs: [get], nonResourceURLs: [/metrics]}\n"),
		want: []string{
			`test.yaml:5:35: error: rules[0].nonResourceURLs: Invalid value: ["/metrics"]: namespaced rules cannot apply to non-resource URLs`,
		},
		good: rbac("ClusterRole", "metadata: {name: r}\nrules:\n- {verbs: [get], nonResourceURLs: [/metrics]}\n"),
	}, {
		name: "non-resource URLs with resources",
		bad:  rbac("ClusterRole", "metadata: {name: r}\nrules:\n- {verbs: [get], nonResourceURLs: [/metrics], resources: [pods]}\n"),
		want: []string{
			`test.yaml:5:35: error: rules[0].nonResourceURLs: Invalid value: ["/metrics"]: rules cannot apply to both regular resources and non-resource URLs`,
		},
		good: rbac("ClusterRole", "metadata: {name: r}\nrules:\n- {verbs: [get], nonResourceURLs: [/metrics]}\n- {verbs: [get], apiGroups: [\"\"], resources: [pods]}\n"),
	}, {
		name: "empty aggregation rule",
		bad:  rbac("ClusterRole", "metadata: {name: r}\naggregationRule: {}\n"),
		want: []string{
			`test.yaml:4:18: error: aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil`,
		},
		good: rbac("ClusterRole", "metadata: {name: r}\naggregationRule: {clusterRoleSelectors: [{matchLabels: {a: b}}]}\n"),
	}, {
		name: "RBAC names are path segments",
		bad:  rbac("ClusterRole", "metadata: {name: \"a/b\"}\n"),
		want: []string{
			`test.yaml:3:18: error: metadata.name: Invalid value: "a/b": may not contain '/'`,
		},
		good: rbac("ClusterRole", "metadata: {name: \"system:aggregate-to-view:Widgets\"}\n"),
	}, {
		name: "roleRef kind of a ClusterRoleBinding",
		bad:  rbac("ClusterRoleBinding", "metadata: {name: b}\nroleRef: {kind: Role, name: r}\n"),
		want: []string{
			`test.yaml:4:17: error: roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`,
		},
		good: rbac("ClusterRoleBinding", "metadata: {name: b}\nroleRef: {kind: ClusterRole, name: view}\n"),
	}, {
		name: "roleRef apiGroup",
		bad:  rbac("RoleBinding", "metadata: {name: b}\nroleRef: {apiGroup: example.com, kind: Role, name: r}\n---\n"+rbac("Role", "metadata: {name: r}\n")),
		want: []string{
			`test.yaml:4:21: error: roleRef.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`,
		},
		good: rbac("RoleBinding", "metadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n---\n"+rbac("Role", "metadata: {name: r}\n")),
	}, {
		name: "subjects",
		bad: rbac("ClusterRoleBinding", "metadata: {name: b}\nroleRef: {kind: ClusterRole, name: view}\nsubjects:\n"+
			"- {kind: ServiceAccount, name: web}\n- {kind: User, apiGroup: example.com, name: alice}\n- {kind: ServiceAccount, name: Web, namespace: a, apiGroup: rbac.authorization.k8s.io}\n- {kind: Group, name: \"\"}\n"),
		want: []string{
			`test.yaml:6:3: error: subjects[0].namespace: Required value`,
			`test.yaml:7:26: error: subjects[1].apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`,
			`test.yaml:8:32: error: subjects[2].name: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			`test.yaml:8:61: error: subjects[2].apiGroup: Unsupported value: "rbac.authorization.k8s.io": supported values: ""`,
			`test.yaml:9:23: error: subjects[3].name: Required value`,
		},
		good: rbac("ClusterRoleBinding", "metadata: {name: b}\nroleRef: {kind: ClusterRole, name: view}\nsubjects:\n"+
			"- {kind: ServiceAccount, name: web, namespace: default}\n- {kind: User, name: alice}\n- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: \"system:masters\"}\n"),
	}, {
		name: "system- priority classes are reserved",
		bad:  "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: system-high}\nvalue: 10\n",
		want: []string{
			`test.yaml:3:18: error: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-high is not a known system priority class`,
		},
		good: "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: system-node-critical}\nvalue: 2000001000\n",
	}, {
		name: "user priority above the highest",
		bad:  "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: top}\nvalue: 1000000001\n",
		want: []string{
			`test.yaml:4:8: error: value: Forbidden: maximum allowed value of a user defined priority is 1000000000`,
		},
		good: "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: top}\nvalue: 1000000000\n",
	}, {
		name: "deprecated serviceAccount is a name",
		bad:  pod("  serviceAccount: Web\n  containers: [{name: c, image: c:1}]\n"),
		want: []string{
			`test.yaml:5:19: error: spec.serviceAccount: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
		good: pod("  serviceAccount: default\n  containers: [{name: c, image: c:1}]\n"),
	}, {
		name: "serviceAccountName is a name",
		bad:  pod("  serviceAccountName: Web\n  containers: [{name: c, image: c:1}]\n"),
		want: []string{
			`test.yaml:5:23: error: spec.serviceAccountName: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
		good: pod("  serviceAccountName: \"\"\n  automountServiceAccountToken: false\n  containers: [{name: c, image: c:1}]\n"),
	}, {
		name: "subject kind",
		bad:  rbac("RoleBinding", "metadata: {name: b}\nroleRef: {kind: ClusterRole, name: view}\nsubjects: [{kind: Robot, name: r2}]\n"),
		want: []string{`test.yaml:5:19: error: subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`},
		good: rbac("RoleBinding", "metadata: {name: b}\nroleRef: {kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: r2}]\n"),
	}})
}

func TestServiceAccountWarnings(t *testing.T) {
	src := pod("  serviceAccountName: default\n  serviceAccount: other\n  containers: [{name: c, image: c:1}]\n")
	got := all(t, src)
	want := `test.yaml:6:19: warning: spec.serviceAccount: Invalid value: "other": deprecated name of serviceAccountName, which is "default": the API server keeps serviceAccountName and drops this value; remove serviceAccount`
	if !strings.Contains(strings.Join(got, "\n"), want) {
		t.Errorf("got:\n%s\nwant a line:\n%s", strings.Join(got, "\n"), want)
	}
}

// all runs the front end on src and returns every diagnostic as text.
func all(t testing.TB, src string) []string {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(src))
	var docs []load.Document
	for i := 0; ; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			break
		}
		docs = append(docs, load.Document{File: objtest.File, Index: i, Node: n.Content[0]})
	}
	_, ds := compiler.Front(docs, compiler.Options{Workers: 1})
	return objtest.Strings(ds)
}
