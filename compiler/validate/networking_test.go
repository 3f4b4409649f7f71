package validate_test

import "testing"

// netpol renders a NetworkPolicy with spec (indented two spaces).
func netpol(spec string) string {
	return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n" + spec
}

// rc renders a ReplicationController with selector and template labels.
func rc(selector, labels, extra string) string {
	return `apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec:
` + selector + `  template:
    metadata: {labels: ` + labels + `}
    spec:
` + extra + `      containers: [{name: c, image: "c:1"}]
`
}

func TestNetworkPolicyRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "endPort below port",
		bad:  netpol("  ingress: [{ports: [{port: 8000, endPort: 7000}]}]\n"),
		want: []string{"test.yaml:5:44: error: spec.ingress[0].ports[0].endPort: Invalid value: 7000: must be greater than or equal to `port`"},
		good: netpol("  ingress: [{ports: [{port: 8000, endPort: 8000}]}]\n"),
	}, {
		name: "endPort with a named port",
		bad:  netpol("  egress: [{ports: [{port: http, endPort: 90}]}]\n  policyTypes: [Egress]\n"),
		want: []string{"test.yaml:5:43: error: spec.egress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric"},
		good: netpol("  egress: [{ports: [{port: 80, endPort: 90}]}]\n  policyTypes: [Egress]\n"),
	}, {
		name: "endPort without port",
		bad:  netpol("  ingress: [{ports: [{protocol: UDP, endPort: 90}]}]\n"),
		want: []string{"test.yaml:5:47: error: spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified"},
		good: netpol("  ingress: [{ports: [{protocol: UDP}]}]\n"),
	}, {
		name: "empty peer",
		bad:  netpol("  ingress: [{from: [{}]}]\n"),
		want: []string{"test.yaml:5:21: error: spec.ingress[0].from[0]: Required value: must specify a peer"},
		good: netpol("  ingress: [{from: [{podSelector: {}}]}]\n"),
	}, {
		name: "ipBlock with another peer",
		bad:  netpol("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}]\n"),
		want: []string{"test.yaml:5:21: error: spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"},
		good: netpol("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}, {namespaceSelector: {}}]}]\n"),
	}, {
		name: "except outside cidr",
		bad:  netpol("  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, 10.1.0.0/24, 10.0.0.0/16]}}]}]\n"),
		want: []string{
			"test.yaml:5:70: error: spec.egress[0].to[0].ipBlock.except[1]: Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`",
			"test.yaml:5:83: error: spec.egress[0].to[0].ipBlock.except[2]: Invalid value: \"10.0.0.0/16\": must be a strict subset of `cidr`",
		},
		good: netpol("  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, 10.0.0.0/17]}}]}]\n"),
	}, {
		name: "selector values",
		bad:  netpol("  podSelector: {matchExpressions: [{key: app, operator: Exists, values: [x]}]}\n"),
		want: []string{"test.yaml:5:73: error: spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"},
		good: netpol("  podSelector: {matchExpressions: [{key: app, operator: Exists}]}\n"),
	}, {
		name: "peer selector values",
		bad:  netpol("  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: In}]}}]}]\n"),
		want: []string{"test.yaml:5:61: error: spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"},
		good: netpol("  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [a]}]}}]}]\n"),
	}, {
		name: "three policyTypes",
		bad:  netpol("  policyTypes: [Ingress, Egress, Ingress]\n"),
		want: []string{`test.yaml:5:16: error: spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes`},
		good: netpol("  policyTypes: [Ingress, Egress]\n"),
	}, {
		name: "policyType",
		bad:  netpol("  policyTypes: [Ingres]\n"),
		want: []string{`test.yaml:5:17: error: spec.policyTypes[0]: Unsupported value: "Ingres": supported values: "Ingress", "Egress"`},
		good: netpol("  policyTypes: [Ingress]\n"),
	}, {
		name: "SCTP is valid but not supported",
		bad:  netpol("  ingress: [{ports: [{protocol: SCTP, port: 9}]}]\n"),
		want: []string{`test.yaml:5:33: error: spec.ingress[0].ports[0].protocol: value "SCTP" is valid Kubernetes but not supported by berth (supported: "TCP", "UDP")`},
		good: netpol("  ingress: [{ports: [{protocol: UDP, port: 9}]}]\n"),
	}, {
		name: "cidr",
		bad:  netpol("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0}}]}]\n"),
		want: []string{`test.yaml:5:38: error: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`},
		good: netpol("  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/24}}]}]\n"),
	}, {
		name: "port name",
		bad:  netpol("  ingress: [{ports: [{port: HTTP}]}]\n"),
		want: []string{`test.yaml:5:29: error: spec.ingress[0].ports[0].port: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-); must contain at least one letter (a-z)`},
		good: netpol("  ingress: [{ports: [{port: http}]}]\n"),
	}})
}

func TestReplicationControllerRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "selector does not match the template",
		bad:  rc("  selector: {app: web}\n", "{app: api}", ""),
		want: []string{"test.yaml:7:24: error: spec.template.metadata.labels: Invalid value: {\"app\":\"api\"}: `selector` does not match template `labels`"},
		good: rc("  selector: {app: web}\n", "{app: web, tier: front}", ""),
	}, {
		name: "no selector and no labels",
		bad:  rc("", "{}", ""),
		want: []string{"test.yaml:5:3: error: spec.selector: Required value"},
		good: rc("", "{app: web}", ""),
	}, {
		name: "template restartPolicy",
		bad:  rc("", "{app: web}", "      restartPolicy: Never\n"),
		want: []string{`test.yaml:8:22: error: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		good: rc("", "{app: web}", "      restartPolicy: Always\n"),
	}})
}
