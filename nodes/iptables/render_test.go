package iptables

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/nodes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func tcp(port int32, bes ...nodes.Backend) nodes.RoutePort {
	return nodes.RoutePort{Protocol: "TCP", Port: port, Backends: bes}
}

func be(ip string, port int32, w uint32) nodes.Backend {
	return nodes.Backend{IP: ip, Port: port, Weight: w}
}

func TestRenderGolden(t *testing.T) {
	web := nodes.ServiceRoute{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
		Ports: []nodes.RoutePort{tcp(80, be("10.244.0.11", 8080, 1), be("10.244.0.12", 8080, 1), be("10.244.0.13", 8080, 1))}}
	cases := []struct {
		name   string
		cfg    Config
		routes []nodes.ServiceRoute
		fw     nodes.Firewall
	}{
		{name: "empty"},
		{name: "clusterip", routes: []nodes.ServiceRoute{web}},
		{name: "weighted", routes: []nodes.ServiceRoute{{Namespace: "shop", Name: "api", ClusterIP: "10.96.1.5",
			Ports: []nodes.RoutePort{tcp(443, be("10.244.0.21", 8443, 90), be("10.244.0.22", 8443, 10))}}}},
		{name: "affinity", routes: []nodes.ServiceRoute{{Namespace: "default", Name: "sticky", ClusterIP: "10.96.0.20",
			AffinitySeconds: 10800, Ports: []nodes.RoutePort{tcp(80, be("10.244.0.11", 80, 1), be("10.244.0.12", 80, 1))}}}},
		{name: "nodeport-external", routes: []nodes.ServiceRoute{{Namespace: "default", Name: "edge", ClusterIP: "10.96.0.30",
			ExternalIPs: []string{"192.168.60.100"},
			Ports: []nodes.RoutePort{
				{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30080, Backends: []nodes.Backend{be("10.244.0.11", 8080, 1)}},
				{Name: "dns", Protocol: "UDP", Port: 53, NodePort: 30053, Backends: []nodes.Backend{be("10.244.0.11", 5353, 1)}},
			}}}},
		{name: "no-endpoints", routes: []nodes.ServiceRoute{{Namespace: "default", Name: "down", ClusterIP: "10.96.0.40",
			ExternalIPs: []string{"192.168.60.101"},
			Ports: []nodes.RoutePort{
				{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30081},
				{Name: "dns", Protocol: "UDP", Port: 53},
			}}}},
		{name: "remote", routes: []nodes.ServiceRoute{{Namespace: "default", Name: "spread", ClusterIP: "10.96.0.50",
			Ports: []nodes.RoutePort{tcp(80, be("10.244.0.11", 80, 1), nodes.Backend{IP: "192.168.50.7", Port: 80, Weight: 2, Remote: true})}}}},
		{name: "node-ips-localhost", cfg: Config{NodeIPs: []netip.Addr{netip.MustParseAddr("192.168.50.1")}, LocalhostNodePorts: true},
			routes: []nodes.ServiceRoute{{Namespace: "default", Name: "np", ClusterIP: "10.96.0.60",
				Ports: []nodes.RoutePort{
					{Protocol: "TCP", Port: 80, NodePort: 30090, Backends: []nodes.Backend{be("10.244.0.11", 80, 1)}},
					{Name: "other", Protocol: "TCP", Port: 81, NodePort: 30091},
				}}}},
		{name: "prefix-and-mark", cfg: Config{Prefix: "TEST1", MasqMark: 0x8000}, routes: []nodes.ServiceRoute{web}},
		{name: "pod-cidr", cfg: Config{PodCIDR: netip.MustParsePrefix("10.244.0.0/24")}, routes: []nodes.ServiceRoute{web}},
		{name: "skipped", routes: []nodes.ServiceRoute{{Namespace: "default", Name: "bad", ClusterIP: "fd00::1",
			ExternalIPs: []string{"not-an-ip"},
			Ports: []nodes.RoutePort{
				{Protocol: "SCTP", Port: 9},
				tcp(80, be("fd00::2", 80, 1), be("10.244.0.9", 0, 1)),
			}}, {Namespace: "default", Name: "headless", ClusterIP: "None", Ports: []nodes.RoutePort{tcp(80, be("10.244.0.11", 80, 1))}}}},
		{name: "remote-pod-cidr", cfg: Config{PodCIDR: netip.MustParsePrefix("10.244.0.0/24")}, routes: []nodes.ServiceRoute{{Namespace: "default", Name: "spread", ClusterIP: "10.96.0.50",
			Ports: []nodes.RoutePort{tcp(80, be("10.244.0.11", 80, 1), nodes.Backend{IP: "192.168.50.7", Port: 40123, Weight: 2, Remote: true})}}}},
		{name: "policy", cfg: Config{PodCIDR: netip.MustParsePrefix("10.244.0.0/24")}, routes: []nodes.ServiceRoute{web}, fw: policyFirewall()},
		{name: "zero-weights", routes: []nodes.ServiceRoute{{Namespace: "default", Name: "canary", ClusterIP: "10.96.0.70",
			Ports: []nodes.RoutePort{
				tcp(80, be("10.244.0.11", 80, 3), be("10.244.0.12", 80, 0)),
				tcp(81, be("10.244.0.11", 81, 0), be("10.244.0.12", 81, 0)),
			}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Prefix == "" {
				tc.cfg.Prefix = "BERTH"
			}
			rs, warns := RenderAll(tc.cfg, tc.routes, tc.fw)
			got := string(RestoreText(Diff(rs, nil), rs))
			for _, w := range warns {
				got += "# warning: " + w + "\n"
			}
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRenderGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("render differs from %s (go test -run TestRenderGolden -update to accept):\n%s", path, lineDiff(string(want), got))
			}
			for _, ch := range []map[string]string{rs[TableNAT], rs[TableFilter]} {
				for name := range ch {
					if len(name) > maxChainName {
						t.Errorf("chain name %s is %d characters, iptables takes %d", name, len(name), maxChainName)
					}
				}
			}
		})
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestRenderIsOrderIndependent(t *testing.T) {
	a := nodes.ServiceRoute{Namespace: "a", Name: "a", ClusterIP: "10.96.0.1", Ports: []nodes.RoutePort{tcp(80, be("10.244.0.2", 80, 1), be("10.244.0.3", 80, 1))}}
	b := nodes.ServiceRoute{Namespace: "b", Name: "b", ClusterIP: "10.96.0.2", Ports: []nodes.RoutePort{tcp(80, be("10.244.0.3", 80, 1), be("10.244.0.2", 80, 1))}}
	cfg := Config{Prefix: "BERTH"}
	x, _ := Render(cfg, []nodes.ServiceRoute{a, b})
	y, _ := Render(cfg, []nodes.ServiceRoute{b, a})
	if d := Diff(x, y); !d.Empty() {
		t.Fatalf("route order changed the rules: %+v", d)
	}
}

func TestProbability(t *testing.T) {
	cases := []struct {
		p    float64
		want string
	}{
		{1.0 / 3, "0.33333333349"},
		{0.5, "0.50000000000"},
		{0.9, "0.89999999991"},
		{0.1, "0.10000000009"},
		{1.0 / 10000, "0.00009999983"},
	}
	for _, tc := range cases {
		if got := Probability(tc.p); got != tc.want {
			t.Errorf("Probability(%v) = %s, want %s", tc.p, got, tc.want)
		}
	}
}

func TestDiffWritesOnlyChangedChains(t *testing.T) {
	cfg := Config{Prefix: "BERTH"}
	routes := []nodes.ServiceRoute{
		{Namespace: "a", Name: "a", ClusterIP: "10.96.0.1", Ports: []nodes.RoutePort{tcp(80, be("10.244.0.2", 80, 1))}},
		{Namespace: "b", Name: "b", ClusterIP: "10.96.9.1", Ports: []nodes.RoutePort{tcp(80, be("10.244.0.3", 80, 1))}},
	}
	old, _ := Render(cfg, routes)
	routes[1].Ports[0].Backends = append(routes[1].Ports[0].Backends, be("10.244.0.4", 80, 1))
	cur, _ := Render(cfg, routes)
	d := Diff(cur, old)
	// b (a cluster IP only) has its rules in the 10.96.9.0/27 leaf, and
	// the new pod gets its hairpin rule in the 10.244.0.0/27 masquerade
	// bucket; nothing else changes.
	if got := d.Write[TableNAT]; !slices.Equal(got, []string{"BERTH-MASQ-0AF40000", "BERTH-SERVICES-0A600900"}) {
		t.Errorf("wrote nat chains %v, want b's leaf and the masquerade bucket", got)
	}
	if len(d.Delete[TableNAT])+len(d.Write[TableFilter])+len(d.Delete[TableFilter]) != 0 {
		t.Errorf("unexpected changes: %+v", d)
	}
	if !Diff(cur, cur).Empty() {
		t.Error("diff of a ruleset with itself is not empty")
	}
	// Removing b removes its chains and rewrites its /24 dispatch.
	gone, _ := Render(cfg, routes[:1])
	d = Diff(gone, cur)
	if got := d.Delete[TableNAT]; !slices.Equal(got, []string{"BERTH-SERVICES-0A6009", "BERTH-SERVICES-0A600900"}) {
		t.Errorf("deleted %v, want b's /24 and /27 dispatch chains", got)
	}
	text := string(RestoreText(d, gone))
	if !strings.Contains(text, "-X BERTH-SERVICES-0A6009\n") || !strings.HasSuffix(text, "COMMIT\n") {
		t.Errorf("restore text:\n%s", text)
	}
}

func TestParseSaveKeepsOwnChainsOnly(t *testing.T) {
	out := `# Generated by iptables-save v1.8.9 (nf_tables)
*nat
:PREROUTING ACCEPT [0:0]
:BERTH-SERVICES - [0:0]
:BERTH-EMPTY - [0:0]
:BERTH2-SERVICES - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "berth service portals" -j BERTH-SERVICES
-A BERTH-SERVICES -d 10.96.0.0/24 -j BERTH-SERVICES-0A6000
-A BERTH2-SERVICES -j RETURN
-A KUBE-SERVICES -j RETURN
COMMIT
`
	got := ParseSave([]byte(out), "BERTH")
	want := map[string]string{
		"BERTH-SERVICES": "-A BERTH-SERVICES -d 10.96.0.0/24 -j BERTH-SERVICES-0A6000\n",
		"BERTH-EMPTY":    "",
	}
	if len(got) != len(want) {
		t.Fatalf("got chains %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for p, want := range map[string]bool{"BERTH": true, "T1": true, "": false, "berth": false, "B-X": false, "1AB": false, "ABCDEFGHIJK": false, "ABCDEFGHIJ": true} {
		if ValidPrefix(p) != want {
			t.Errorf("ValidPrefix(%q) = %v, want %v", p, !want, want)
		}
	}
}

func FuzzParseSave(f *testing.F) {
	f.Add([]byte("*nat\n:BERTH-X - [0:0]\n-A BERTH-X -j RETURN\nCOMMIT\n"), "BERTH")
	f.Fuzz(func(t *testing.T, data []byte, prefix string) {
		for name, rules := range ParseSave(data, prefix) {
			if !strings.HasPrefix(name, prefix+"-") {
				t.Fatalf("foreign chain %q returned", name)
			}
			for _, l := range strings.Split(strings.TrimSuffix(rules, "\n"), "\n") {
				if l != "" && l != "-A "+name && !strings.HasPrefix(l, "-A "+name+" ") {
					t.Fatalf("rule %q filed under %q", l, name)
				}
			}
		}
	})
}

// TestBridgeKeepsRejectAcrossTables pins the order of a sync that changes
// both tables: filter gets the union of old and new rules before nat
// commits, then its final rules.
func TestBridgeKeepsRejectAcrossTables(t *testing.T) {
	current := Ruleset{
		TableNAT:    {"BERTH-SVC-A": "-A BERTH-SVC-A -j DNAT\n"},
		TableFilter: {"BERTH-SERVICES": "-A BERTH-SERVICES -d 10.96.0.2/32 -j REJECT\n"},
	}
	desired := Ruleset{
		TableNAT:    {},
		TableFilter: {"BERTH-SERVICES": "-A BERTH-SERVICES -d 10.96.0.1/32 -j REJECT\n"},
	}
	steps := RestoreTexts(Diff(desired, current), desired, current, 1000)
	if len(steps) != 1 {
		t.Fatalf("%d steps, want 1", len(steps))
	}
	got := string(steps[0])
	want := "*filter\n:BERTH-SERVICES - [0:0]\n" +
		"-A BERTH-SERVICES -d 10.96.0.2/32 -j REJECT\n-A BERTH-SERVICES -d 10.96.0.1/32 -j REJECT\nCOMMIT\n" +
		"*nat\n:BERTH-SVC-A - [0:0]\n-X BERTH-SVC-A\nCOMMIT\n" +
		"*filter\n:BERTH-SERVICES - [0:0]\n-A BERTH-SERVICES -d 10.96.0.1/32 -j REJECT\nCOMMIT\n"
	if got != want {
		t.Fatalf("restore text:\n%s\nwant:\n%s", got, want)
	}
	// Only one table changing needs no bridge.
	if b := bridgeText(Diff(Ruleset{TableFilter: desired[TableFilter]}, Ruleset{TableFilter: current[TableFilter]}), desired, current); b != nil {
		t.Fatalf("bridge for a filter-only change: %q", b)
	}
}

// policyFirewall is the firewall of the policy golden file: db takes
// web's pods (here and on node2) on 5432 and a named port resolved to
// 9187, and everything from an IP block with exceptions; web may send
// to db and DNS anywhere; node2's web pod is isolated for egress too,
// its api pod is not, and unknown sources from node2 are dropped.
func policyFirewall() nodes.Firewall {
	webs := &nodes.PeerSet{Blocks: []nodes.Block{{CIDR: "10.244.0.11/32"}, {CIDR: "10.244.0.12/32"}, {CIDR: "10.244.0.13/32"}, {CIDR: "10.244.1.5/32"}, {CIDR: "10.244.1.6/32"}}}
	office := &nodes.PeerSet{Blocks: []nodes.Block{{CIDR: "192.168.0.0/16", Except: []string{"192.168.50.0/24"}}}}
	dbIn := &nodes.Allowed{Rules: []nodes.AllowRule{
		{Ports: []nodes.PortRange{{Protocol: "TCP", From: 5432, To: 5432}, {Protocol: "TCP", From: 9187, To: 9187}}, Peers: webs},
		{Peers: office},
	}}
	webOut := &nodes.Allowed{Rules: []nodes.AllowRule{
		{Ports: []nodes.PortRange{{Protocol: "TCP", From: 5432, To: 5432}}, Peers: &nodes.PeerSet{Blocks: []nodes.Block{{CIDR: "10.244.0.20/32"}}}},
		{Ports: []nodes.PortRange{{Protocol: "UDP", From: 53, To: 53}, {Protocol: "TCP", From: 53, To: 53}}},
	}}
	return nodes.Firewall{
		Pods: []nodes.GuardedPod{
			{Pod: "shop/web-1", IP: "10.244.0.11", Egress: webOut},
			{Pod: "shop/web-2", IP: "10.244.0.12", Egress: webOut},
			{Pod: "shop/db-0", IP: "10.244.0.20", Ingress: dbIn, Egress: &nodes.Allowed{}},
		},
		Nodes: []nodes.PeerNode{{Name: "node2", Address: "192.168.50.7", PodCIDR: "10.244.1.0/24", Pods: []nodes.RemotePod{
			{Pod: "shop/web-3", IP: "10.244.1.5", Egress: webOut},
			{Pod: "shop/api-1", IP: "10.244.1.9"},
		}}},
		DropUnknown: true,
		TransitFrom: 40000, TransitTo: 49999,
	}
}
