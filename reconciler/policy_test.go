package reconciler

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/networkpolicy"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// np is the plan's form of a NetworkPolicy "ns/name" with spec (YAML).
func np(t *testing.T, key, spec string) plan.NetworkPolicy {
	t.Helper()
	var s api.NetworkPolicySpec
	if err := yaml.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatal(err)
	}
	ns, name, _ := strings.Cut(key, "/")
	return networkpolicy.Policy(ns, name, &s)
}

// fwPods are the pods of the firewall tests: on n1 (10.1.0.0/24) web,
// db (with a named port) and a host-network agent; on n2 (10.2.0.0/24)
// api in namespace shop and web.
func fwObserved() nodes.NodeState {
	pod := func(key, ip string, labels ...string) nodes.PodStatus {
		ns, name, _ := strings.Cut(key, "/")
		l := map[string]string{}
		for i := 0; i+1 < len(labels); i += 2 {
			l[labels[i]] = labels[i+1]
		}
		return nodes.PodStatus{Namespace: ns, Name: name, IP: ip, Labels: l, Hash: "h", Phase: nodes.PhaseRunning, Ready: true}
	}
	return nodes.NodeState{Pods: []nodes.PodStatus{
		pod("default/web-1", "10.1.0.5", "app", "web"),
		pod("default/db-1", "10.1.0.6", "app", "db"),
		pod("default/agent", "192.168.1.1", "app", "agent"),
	}}
}

func fwDesired(pols ...plan.NetworkPolicy) Desired {
	return Desired{
		Node: "n1",
		Nodes: []plan.Node{
			{Name: "n1", Address: "192.168.1.1", PodCIDR: "10.1.0.0/24"},
			{Name: "n2", Address: "192.168.1.2", PodCIDR: "10.2.0.0/24"},
		},
		Pods: []plan.Pod{{Namespace: "default", Name: "db-1", Spec: plan.PodSpec{Containers: []plan.Container{
			{Name: "db", Ports: []plan.ContainerPort{{Name: "pg", ContainerPort: 5432, Protocol: "TCP"}, {Name: "dns", ContainerPort: 53, Protocol: "UDP"}}},
		}}}},
		Peers: map[string]PeerReadiness{"n2": {Reachable: true, Pods: []PeerPod{
			{Namespace: "shop", Name: "api-1", IP: "10.2.0.7", Labels: map[string]string{"app": "api"}},
			{Namespace: "default", Name: "web-2", IP: "10.2.0.8", Labels: map[string]string{"app": "web"}},
			{Namespace: "default", Name: "liar", IP: "10.1.0.99", Labels: map[string]string{"app": "web"}},
		}}},
		Namespaces:      []plan.Namespace{{Name: "shop", Labels: map[string]string{"team": "shop"}}},
		NetworkPolicies: pols,
	}
}

// fwJSON is fw as JSON without the profiles' and sets' IDs (names,
// TestFirewallIDs checks them).
func fwJSON(t *testing.T, fw nodes.Firewall) string {
	t.Helper()
	b, err := json.Marshal(fw)
	if err != nil {
		t.Fatal(err)
	}
	return idField.ReplaceAllString(string(b), "")
}

var idField = regexp.MustCompile(`"id":"(?:[^"\\]|\\.)*",?`)

func TestFirewall(t *testing.T) {
	const n2open = `"nodes":[{"name":"n2","address":"192.168.1.2","podCIDR":"10.2.0.0/24","pods":[{"pod":"shop/api-1","ip":"10.2.0.7"},{"pod":"default/web-2","ip":"10.2.0.8"}]}],"transitFrom":40000,"transitTo":49999`
	tests := []struct {
		name string
		pols []string // "ns/name" then spec
		want string
	}{{
		name: "no policy: nothing",
		want: `{}`,
	}, {
		name: "default deny ingress isolates every pod of the namespace, host network excluded",
		pols: []string{"default/deny", "{}"},
		want: `{"pods":[{"pod":"default/web-1","ip":"10.1.0.5","ingress":{}},{"pod":"default/db-1","ip":"10.1.0.6","ingress":{}}],` + n2open + `}`,
	}, {
		name: "allow from a label: the namespace's pods here and on n2",
		pols: []string{"default/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}"},
		want: `{"pods":[{"pod":"default/db-1","ip":"10.1.0.6","ingress":{"rules":[{"peers":{"blocks":[{"cidr":"10.1.0.5/32"},{"cidr":"10.2.0.8/32"}]}}]}}],` + n2open + `}`,
	}, {
		name: "allow from a namespace, by its label and by the implicit name label",
		pols: []string{"default/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: shop}}}]}, {from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}, podSelector: {matchLabels: {app: web}}}]}]}"},
		want: `{"pods":[{"pod":"default/db-1","ip":"10.1.0.6","ingress":{"rules":[{"peers":{"blocks":[{"cidr":"10.2.0.7/32"}]}}]}}],` + n2open + `}`,
	}, {
		name: "ipBlock except; an IPv6 block matches nothing",
		pols: []string{"default/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.2.0.0/16, 10.1.0.0/16]}}]}, {from: [{ipBlock: {cidr: 'fd00::/8'}}]}]}"},
		want: `{"pods":[{"pod":"default/db-1","ip":"10.1.0.6","ingress":{"rules":[{"peers":{"blocks":[{"cidr":"10.0.0.0/8","except":["10.1.0.0/16","10.2.0.0/16"]}]}}]}}],` + n2open + `}`,
	}, {
		name: "named ports resolve on the destination; a pod without the name allows nothing by that rule",
		pols: []string{"default/all", "{ingress: [{ports: [{port: pg}, {port: dns, protocol: UDP}, {port: pg, protocol: UDP}]}, {ports: [{port: 80, endPort: 90}, {protocol: UDP}]}]}"},
		want: `{"pods":[{"pod":"default/web-1","ip":"10.1.0.5","ingress":{"rules":[{"ports":[{"protocol":"TCP","from":80,"to":90},{"protocol":"UDP"}]}]}},` +
			`{"pod":"default/db-1","ip":"10.1.0.6","ingress":{"rules":[{"ports":[{"protocol":"TCP","from":5432,"to":5432},{"protocol":"UDP","from":53,"to":53}]},{"ports":[{"protocol":"TCP","from":80,"to":90},{"protocol":"UDP"}]}]}}],` + n2open + `}`,
	}, {
		name: "egress: destinations here, named ports per destination; unknown sources of other nodes dropped",
		pols: []string{"default/out", "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{podSelector: {}}], ports: [{port: pg}, {port: 8080}]}]}"},
		want: `{"pods":[{"pod":"default/web-1","ip":"10.1.0.5","egress":{"rules":[{"ports":[{"protocol":"TCP","from":8080,"to":8080}],"peers":{"blocks":[{"cidr":"10.1.0.5/32"},{"cidr":"10.1.0.6/32"}]}},{"ports":[{"protocol":"TCP","from":5432,"to":5432}],"peers":{"blocks":[{"cidr":"10.1.0.6/32"}]}}]}}],` +
			`"nodes":[{"name":"n2","address":"192.168.1.2","podCIDR":"10.2.0.0/24","pods":[{"pod":"shop/api-1","ip":"10.2.0.7"},{"pod":"default/web-2","ip":"10.2.0.8","egress":{"rules":[{"ports":[{"protocol":"TCP","from":8080,"to":8080}],"peers":{"blocks":[{"cidr":"10.1.0.5/32"},{"cidr":"10.1.0.6/32"}]}},{"ports":[{"protocol":"TCP","from":5432,"to":5432}],"peers":{"blocks":[{"cidr":"10.1.0.6/32"}]}}]}}]}],"dropUnknown":true,"transitFrom":40000,"transitTo":49999}`,
	}, {
		name: "an Egress-only policy leaves ingress open; peers that select nothing allow nothing",
		pols: []string{"default/out", "{podSelector: {matchLabels: {app: db}}, policyTypes: [Egress], egress: [{to: [{podSelector: {matchLabels: {app: nobody}}}]}]}"},
		want: `{"pods":[{"pod":"default/db-1","ip":"10.1.0.6","egress":{}}],` + strings.Replace(n2open, `"transitFrom"`, `"dropUnknown":true,"transitFrom"`, 1) + `}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pols []plan.NetworkPolicy
			for i := 0; i+1 < len(tt.pols); i += 2 {
				pols = append(pols, np(t, tt.pols[i], tt.pols[i+1]))
			}
			fw := Firewall(fwDesired(pols...), fwObserved())
			// Local pods in IP order as observed (web .5, db .6).
			if got := fwJSON(t, fw); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// A node that does not answer says nothing: its pods match no peer.
func TestFirewallUnreachablePeer(t *testing.T) {
	d := fwDesired(np(t, "default/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}"))
	p := d.Peers["n2"]
	p.Reachable = false
	d.Peers["n2"] = p
	fw := Firewall(d, fwObserved())
	want := `{"pods":[{"pod":"default/db-1","ip":"10.1.0.6","ingress":{"rules":[{"peers":{"blocks":[{"cidr":"10.1.0.5/32"}]}}]}}],"nodes":[{"name":"n2","address":"192.168.1.2","podCIDR":"10.2.0.0/24"}],"transitFrom":40000,"transitTo":49999}`
	if got := fwJSON(t, fw); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Pods under the same policies share one Allowed value (the router
// renders it once).
func TestFirewallSharesProfiles(t *testing.T) {
	obs := fwObserved()
	obs.Pods = append(obs.Pods, nodes.PodStatus{Namespace: "default", Name: "web-3", IP: "10.1.0.9", Labels: map[string]string{"app": "web"}, Hash: "h"})
	fw := Firewall(fwDesired(np(t, "default/deny", "{podSelector: {matchLabels: {app: web}}}")), obs)
	if len(fw.Pods) != 2 || fw.Pods[0].Ingress != fw.Pods[1].Ingress {
		t.Errorf("pods %+v do not share their profile", fw.Pods)
	}
}

// A profile and a set keep their IDs (chain names) when a policy's rules
// change, so the dispatch chain is not rewritten; other policies get
// other IDs.
func TestFirewallIDs(t *testing.T) {
	a := Firewall(fwDesired(np(t, "default/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]}]}")), fwObserved())
	b := Firewall(fwDesired(np(t, "default/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 81}]}]}")), fwObserved())
	c := Firewall(fwDesired(np(t, "default/db2", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]}]}")), fwObserved())
	ia, ib, ic := a.Pods[0].Ingress, b.Pods[0].Ingress, c.Pods[0].Ingress
	if ia.ID == "" || ia.ID != ib.ID || ia.ID == ic.ID {
		t.Errorf("profile IDs %q, %q (changed rule), %q (other policy): want the first two equal, the third different", ia.ID, ib.ID, ic.ID)
	}
	if sa, sc := ia.Rules[0].Peers.ID, ic.Rules[0].Peers.ID; sa == "" || sa != sc {
		t.Errorf("set IDs %q, %q: the same peers of two policies, want one ID", sa, sc)
	}
}

// A pass hands the router the firewall of the plan's policies with the
// pods this node runs, and the others' pods it learned (LocalPods is
// what this node tells them).
func TestPassSyncsFirewall(t *testing.T) {
	e := newEnv(t)
	d := mkDeploy("Deployment", "web", "a", 2, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
	p := mkPlan("r1", []deploy{d})
	p.Nodes[0].Node.PodCIDR = "10.88.0.0/16"
	e.pass(p)
	if fw := e.router.Firewall(); len(fw.Pods) != 0 || e.rec.LocalPods() != nil {
		t.Fatalf("no policy: firewall %+v, local pods %v", fw, e.rec.LocalPods())
	}
	p.Revision = "r2"
	p.NetworkPolicies = []plan.NetworkPolicy{np(t, "default/deny", "{podSelector: {matchLabels: {app: web}}}")}
	e.pass(p)
	fw := e.router.Firewall()
	if len(fw.Pods) != 2 || fw.Pods[0].Ingress == nil || len(fw.Pods[0].Ingress.Rules) != 0 || fw.Pods[0].Egress != nil {
		t.Fatalf("firewall %s, want both web pods isolated for ingress", fwJSON(t, fw))
	}
	local := e.rec.LocalPods()
	if len(local) != 2 || local[0].Labels["app"] != "web" || local[0].IP == "" {
		t.Errorf("local pods %+v", local)
	}
}
