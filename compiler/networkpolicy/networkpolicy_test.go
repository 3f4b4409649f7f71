package networkpolicy

import (
	"encoding/json"
	"testing"

	"berth.dev/berth/compiler/internal/objtest"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{{
		name: "no spec: deny ingress to every pod of the namespace",
		want: `{"namespace":"shop","name":"np","podSelector":{},"ingress":true}`,
	}, {
		name: "egress rules imply Egress",
		spec: "egress: [{to: [{podSelector: {}}]}]",
		want: `{"namespace":"shop","name":"np","podSelector":{},"ingress":true,"egress":true,"egressRules":[{"peers":[{"podSelector":{}}]}]}`,
	}, {
		name: "explicit Egress only: ingress rules allow nothing more",
		spec: "policyTypes: [Egress]\n  ingress: [{}]",
		want: `{"namespace":"shop","name":"np","podSelector":{},"egress":true}`,
	}, {
		name: "ports: protocol defaults to TCP; named ports and ranges",
		spec: "podSelector: {matchLabels: {app: db}}\n  ingress: [{ports: [{port: 5432}, {protocol: UDP, port: 1000, endPort: 2000}, {port: metrics}, {protocol: UDP}], from: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: web}}}, {ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}, {}]",
		want: `{"namespace":"shop","name":"np","podSelector":{"matchLabels":{"app":"db"}},"ingress":true,"ingressRules":[{"ports":[{"protocol":"TCP","port":5432},{"protocol":"UDP","port":1000,"endPort":2000},{"protocol":"TCP","name":"metrics"},{"protocol":"UDP"}],"peers":[{"podSelector":{"matchLabels":{"app":"web"}},"namespaceSelector":{"matchLabels":{"team":"a"}}},{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}]},{}]}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: shop}\n"
			if tt.spec != "" {
				src += "spec:\n  " + tt.spec + "\n"
			}
			pols, _ := Resolve(objtest.Set(t, src))
			if len(pols) != 1 {
				t.Fatalf("got %d policies", len(pols))
			}
			b, _ := json.Marshal(pols[0])
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

// Namespace labels come with the policies, sorted, and only with them.
func TestNamespaces(t *testing.T) {
	const nss = `apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
`
	if pols, got := Resolve(objtest.Set(t, nss)); pols != nil || got != nil {
		t.Errorf("without policies: %v %v", pols, got)
	}
	_, got := Resolve(objtest.Set(t, nss+"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\n"))
	b, _ := json.Marshal(got)
	if want := `[{"name":"a"},{"name":"b","labels":{"team":"x"}}]`; string(b) != want {
		t.Errorf("namespaces %s, want %s", b, want)
	}
}
