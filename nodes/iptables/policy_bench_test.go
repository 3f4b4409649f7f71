package iptables

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/networkpolicy"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
)

// The NetworkPolicy benchmarks: 1,000 policies over 5,000 pods, as one
// node of 20 sees them. 100 namespaces of 50 pods (apps a0..a4, ten
// replicas each), every namespace's pods spread over the 20 nodes (250
// pods a node, a /24 each); this node runs 250 of them and learned the
// other 4,750 from the other nodes. Each namespace has 10 policies:
//
//   - deny: every pod isolated for ingress and egress;
//   - dns: egress to port 53 (UDP and TCP) anywhere;
//   - a0..a4 ingress: a_i takes a_(i-1) of the namespace on 8080
//     (a0 takes the namespace's pods on a named port);
//   - monitoring: every pod takes namespaces labelled team=monitoring
//     (two namespaces: 100 pods) on 9090;
//   - egress: each pod may call its namespace's pods on 8080;
//   - office: a0 takes 10.0.0.0/8 but 10.244.0.0/16 on 443.
//
// The cluster-wide shape adds, per namespace, a rule taking every pod of
// the cluster labelled a0 (1,000 pods) on 7000: one large set, shared.

const (
	benchNamespaces = 100
	benchPerNS      = 50
	benchNodes      = 20
)

func benchIP(node, i int) string { return fmt.Sprintf("10.244.%d.%d", node, i+2) }

func selectorOf(kv ...string) *api.LabelSelector {
	s := &api.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func port(p int32) *api.IntOrString { v := api.FromInt(p); return &v }

// benchPolicy is one namespace's policy number k (0..9, 10 for the
// cluster-wide one); variant changes it the way a commit would.
func benchPolicy(ns string, k, variant int) plan.NetworkPolicy {
	var spec api.NetworkPolicySpec
	switch {
	case k == 0:
		spec = api.NetworkPolicySpec{PolicyTypes: []string{"Ingress", "Egress"}}
	case k == 1:
		spec = api.NetworkPolicySpec{PolicyTypes: []string{"Egress"}, Egress: []api.NetworkPolicyEgressRule{{Ports: []api.NetworkPolicyPort{
			{Protocol: "UDP", Port: port(53)}, {Protocol: "TCP", Port: port(53)}}}}}
	case k == 2:
		named := api.IntOrString{IsString: true, StrVal: "http"}
		spec = api.NetworkPolicySpec{PodSelector: *selectorOf("app", "a0"), Ingress: []api.NetworkPolicyIngressRule{{
			From: []api.NetworkPolicyPeer{{PodSelector: selectorOf()}}, Ports: []api.NetworkPolicyPort{{Port: &named}}}}}
	case k <= 6:
		i := k - 2
		spec = api.NetworkPolicySpec{PodSelector: *selectorOf("app", fmt.Sprint("a", i)), Ingress: []api.NetworkPolicyIngressRule{{
			From: []api.NetworkPolicyPeer{{PodSelector: selectorOf("app", fmt.Sprint("a", i-1))}}, Ports: []api.NetworkPolicyPort{{Port: port(8080 + int32(variant))}}}}}
	case k == 7:
		spec = api.NetworkPolicySpec{Ingress: []api.NetworkPolicyIngressRule{{
			From: []api.NetworkPolicyPeer{{NamespaceSelector: selectorOf("team", "monitoring")}}, Ports: []api.NetworkPolicyPort{{Port: port(9090)}}}}}
	case k == 8:
		spec = api.NetworkPolicySpec{PolicyTypes: []string{"Egress"}, Egress: []api.NetworkPolicyEgressRule{{
			To: []api.NetworkPolicyPeer{{PodSelector: selectorOf()}}, Ports: []api.NetworkPolicyPort{{Port: port(8080)}}}}}
	case k == 9:
		spec = api.NetworkPolicySpec{PodSelector: *selectorOf("app", "a0"), Ingress: []api.NetworkPolicyIngressRule{{
			From: []api.NetworkPolicyPeer{{IPBlock: &api.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.244.0.0/16"}}}}, Ports: []api.NetworkPolicyPort{{Port: port(443)}}}}}
	default:
		spec = api.NetworkPolicySpec{PodSelector: *selectorOf("app", "a1"), Ingress: []api.NetworkPolicyIngressRule{{
			From: []api.NetworkPolicyPeer{{NamespaceSelector: selectorOf(), PodSelector: selectorOf("app", "a0")}}, Ports: []api.NetworkPolicyPort{{Port: port(7000)}}}}}
	}
	return networkpolicy.Policy(ns, fmt.Sprint("p", k), &spec)
}

// benchCluster is node n00's view of the cluster with its policies.
func benchCluster(clusterWide bool) (reconciler.Desired, nodes.NodeState) {
	d := reconciler.Desired{Node: "n00", Peers: map[string]reconciler.PeerReadiness{}}
	for n := range benchNodes {
		d.Nodes = append(d.Nodes, plan.Node{Name: fmt.Sprintf("n%02d", n), Address: fmt.Sprintf("192.168.0.%d", n+1), PodCIDR: fmt.Sprintf("10.244.%d.0/24", n)})
	}
	var obs nodes.NodeState
	next := make([]int, benchNodes)
	for k := range benchNamespaces {
		ns := fmt.Sprintf("ns-%02d", k)
		if k < 2 {
			d.Namespaces = append(d.Namespaces, plan.Namespace{Name: ns, Labels: map[string]string{"team": "monitoring"}})
		}
		for i := range benchPerNS {
			node := (k + i) % benchNodes
			app := fmt.Sprint("a", i%5)
			name := fmt.Sprintf("%s-%d", app, i)
			ip := benchIP(node, next[node])
			next[node]++
			labels := map[string]string{"app": app}
			if node == 0 {
				obs.Pods = append(obs.Pods, nodes.PodStatus{Namespace: ns, Name: name, IP: ip, Labels: labels, Hash: "h"})
				d.Pods = append(d.Pods, plan.Pod{Namespace: ns, Name: name, Spec: plan.PodSpec{Containers: []plan.Container{
					{Name: "c", Ports: []plan.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}}}}}})
				continue
			}
			peer := d.Peers[d.Nodes[node].Name]
			peer.Reachable = true
			peer.Pods = append(peer.Pods, reconciler.PeerPod{Namespace: ns, Name: name, IP: ip, Labels: labels})
			d.Peers[d.Nodes[node].Name] = peer
		}
		policies := 10
		if clusterWide {
			policies = 11
		}
		for p := range policies {
			d.NetworkPolicies = append(d.NetworkPolicies, benchPolicy(ns, p, 0))
		}
	}
	return d, obs
}

var policyShapes = []struct {
	name string
	wide bool
}{{"namespaced", false}, {"cluster-wide", true}}

// BenchmarkPolicyRender5k is the Go side of enforcing 1,000 policies
// over 5,000 pods: the reconciler's Firewall and its rules (pure).
func BenchmarkPolicyRender5k(b *testing.B) {
	for _, shape := range policyShapes {
		b.Run(shape.name, func(b *testing.B) {
			d, obs := benchCluster(shape.wide)
			var rs Ruleset
			var fwTime time.Duration
			b.ReportAllocs()
			cpu := selfCPU()
			for b.Loop() {
				t0 := time.Now()
				fw := reconciler.Firewall(d, obs)
				fwTime += time.Since(t0)
				rs, _ = RenderAll(Config{Prefix: "BERTH", PodCIDR: netip.MustParsePrefix("10.244.0.0/24")}, nil, fw)
			}
			b.ReportMetric(float64((selfCPU()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms")
			b.ReportMetric(float64(fwTime.Microseconds())/1000/float64(b.N), "firewall-ms")
			b.ReportMetric(float64(rs.Chains()), "chains")
			b.ReportMetric(float64(rs.Rules()), "rules")
		})
	}
}

// BenchmarkOnePolicyChange5k changes one policy (the ingress port of
// one namespace's a3 pods, two of which run here) on a node enforcing 1,000 policies over 5,000 pods and
// routing 10,000 services: the reconciler's Firewall, render, diff and
// the partial restore, end to end.
func BenchmarkOnePolicyChange5k(b *testing.B) {
	for _, shape := range policyShapes {
		for _, bin := range backends(b) {
			b.Run(shape.name+"/"+bin, func(b *testing.B) {
				enterNode(b)
				benchOnePolicyChange(b, bin, shape.wide)
			})
		}
	}
}

func benchOnePolicyChange(b *testing.B, bin string, wide bool) {
	var st SyncStats
	var ce cpuExec
	r, err := New(Options{IPTables: bin, PodCIDR: "10.244.0.0/24", Exec: ce.exec, OnSync: func(s SyncStats) { st = s }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d, obs := benchCluster(wide)
	routes := benchRoutes(10000)
	if err := r.SyncAll(ctx, routes, reconciler.Firewall(d, obs)); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d rules (%d of them policy rules), %d chains", bin, st.Rules, st.PolicyRules, st.Chains)
	// ns-42's a3 ingress: its a3 pods run here (pods i ≡ 18 mod 20).
	per := 10
	if wide {
		per = 11
	}
	changed := 42*per + 5
	var fwTime, render, restore, total time.Duration
	ce.restoreCPU = 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu := selfCPU()
	for i := 0; i < b.N; i++ {
		d.NetworkPolicies[changed] = benchPolicy("ns-42", 5, (i+1)%2)
		t0 := time.Now()
		fw := reconciler.Firewall(d, obs)
		fwTime += time.Since(t0)
		if err := r.SyncAll(ctx, routes, fw); err != nil {
			b.Fatal(err)
		}
		if st.Full || st.RestoreSkipped {
			b.Fatalf("want a partial sync, got %+v", st)
		}
		render += st.Render
		restore += st.Restore
		total += time.Since(t0) // the firewall and the sync
	}
	n := float64(b.N)
	b.ReportMetric(float64((selfCPU()-cpu).Microseconds())/1000/n, "go-cpu-ms")
	b.ReportMetric(float64(fwTime.Microseconds())/1000/n, "firewall-ms")
	b.ReportMetric(float64(render.Microseconds())/1000/n, "render-ms")
	b.ReportMetric(float64(restore.Microseconds())/1000/n, "restore-ms")
	b.ReportMetric(float64(total.Microseconds())/1000/n, "change-ms")
	b.ReportMetric(float64(ce.restoreCPU.Microseconds())/1000/n, "restore-cpu-ms")
	b.ReportMetric(float64(st.PolicyRules), "policy-rules")
	b.ReportMetric(float64(st.Rules), "rules")
	b.ReportMetric(float64(st.Bytes), "restore-bytes")
}

// selfCPU is the CPU time (user+sys) berth's process used so far: unlike
// wall time, it does not grow with what else the machine runs.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
