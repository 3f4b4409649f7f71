package expand

import (
	"encoding/json"
	"testing"
)

// TestPodDNSInPlan: the DNS and naming fields reach the plan as written;
// the default ClusterFirst is left out, and a change of them restarts
// the pod (its hash).
func TestPodDNSInPlan(t *testing.T) {
	const src = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostname: web-1
  subdomain: web
  dnsPolicy: None
  dnsConfig: {nameservers: [1.1.1.1], searches: [a.example], options: [{name: ndots, value: "2"}, {name: edns0}]}
  hostAliases: [{ip: 10.1.2.3, hostnames: [foo.local]}]
  containers: [{name: c, image: "c:1"}]
`
	res := expandSrc(t, src)
	if len(res.Pods) != 1 {
		t.Fatalf("pods %+v, diags %v", res.Pods, res.Diags)
	}
	s := res.Pods[0].Pod.Spec
	b, _ := json.Marshal(struct{ A, B, C, D, E any }{s.Hostname, s.Subdomain, s.DNSPolicy, s.DNSConfig, s.HostAliases})
	want := `{"A":"web-1","B":"web","C":"None","D":{"nameservers":["1.1.1.1"],"searches":["a.example"],"options":[{"name":"ndots","value":"2"},{"name":"edns0"}]},"E":[{"ip":"10.1.2.3","hostnames":["foo.local"]}]}`
	if string(b) != want {
		t.Errorf("plan\n%s\nwant\n%s", b, want)
	}
	plain := expandSrc(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  dnsPolicy: ClusterFirst\n  containers: [{name: c, image: \"c:1\"}]\n")
	if p := plain.Pods[0].Pod; p.Spec.DNSPolicy != "" || p.Spec.DNS() != "ClusterFirst" || p.Hash == res.Pods[0].Pod.Hash {
		t.Errorf("ClusterFirst: policy %q (DNS() %q), hash %s vs %s", p.Spec.DNSPolicy, p.Spec.DNS(), p.Hash, res.Pods[0].Pod.Hash)
	}
}
