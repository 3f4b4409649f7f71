package iptables

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/networkpolicy"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
)

// The NetworkPolicy tests run the whole node side: policies in the
// plan's form, the reconciler's Firewall over the pods this node runs
// and the ones another node told it of, the Router's rules, and real
// connections between network namespaces:
//
//	p1 shop/web 10.244.0.11   p2 shop/db 10.244.0.12 (port "pg" 8080)   p3 other/tool 10.244.0.13
//	ext 192.168.50.2 (.3 too): the outside, and node n2 with pod CIDR
//	10.244.1.0/24: 10.244.1.5 is its shop/web pod, 10.244.1.7 its
//	other/api pod, 10.244.1.6 a pod this node was not told of.

// policyScene is the node and its pods for the policy tests.
type policyScene struct {
	n    *testNode
	pods map[string]string
	ext  string
	r    *Router
}

func newPolicyScene(t *testing.T, bin string) *policyScene {
	n := enterNode(t)
	pods, ext := n.buildNode(t, "p1", "p2", "p3")
	for _, p := range []string{"p1", "p2", "p3"} {
		n.serve(t, pods[p], p, 8080)
		n.serve(t, pods[p], p, 8081)
	}
	n.serve(t, ext, "ext", 9090)
	n.serve(t, ext, "dns", 53)
	n.echo(t, pods["p2"], 7000)
	// ext is node n2 too: its pods' addresses, and the route to them.
	n.sh(t, fmt.Sprintf(`ip -n %[1]s addr add 192.168.50.3/24 dev eth0
		ip -n %[1]s addr add 10.244.1.5/32 dev eth0
		ip -n %[1]s addr add 10.244.1.6/32 dev eth0
		ip -n %[1]s addr add 10.244.1.7/32 dev eth0
		ip route add 10.244.1.0/24 via %[2]s`, ext, extIP))
	r, err := New(Options{IPTables: bin, PodCIDR: "10.244.0.0/24",
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	return &policyScene{n: n, pods: pods, ext: ext, r: r}
}

// desired is this node (n1) with its three pods and n2's two known pods
// under the given policies ("ns/name", spec YAML, ...).
func policyDesired(t *testing.T, specs ...string) (reconciler.Desired, nodes.NodeState) {
	t.Helper()
	var pols []plan.NetworkPolicy
	for i := 0; i+1 < len(specs); i += 2 {
		var s api.NetworkPolicySpec
		if err := yaml.Unmarshal([]byte(specs[i+1]), &s); err != nil {
			t.Fatal(err)
		}
		ns, name, _ := strings.Cut(specs[i], "/")
		pols = append(pols, networkpolicy.Policy(ns, name, &s))
	}
	d := reconciler.Desired{
		Node: "n1",
		Nodes: []plan.Node{
			{Name: "n1", Address: nodeIP, PodCIDR: "10.244.0.0/24"},
			{Name: "n2", Address: extIP, PodCIDR: "10.244.1.0/24"},
		},
		Pods: []plan.Pod{{Namespace: "shop", Name: "db", Spec: plan.PodSpec{Containers: []plan.Container{
			{Name: "db", Ports: []plan.ContainerPort{{Name: "pg", ContainerPort: 8080, Protocol: "TCP"}}}}}}},
		Peers: map[string]reconciler.PeerReadiness{"n2": {Reachable: true, Pods: []reconciler.PeerPod{
			{Namespace: "shop", Name: "web-n2", IP: "10.244.1.5", Labels: map[string]string{"app": "web"}},
			{Namespace: "other", Name: "api-n2", IP: "10.244.1.7", Labels: map[string]string{"app": "api"}},
		}}},
		NetworkPolicies: pols,
	}
	pod := func(ns, name, ip, app string) nodes.PodStatus {
		return nodes.PodStatus{Namespace: ns, Name: name, IP: ip, Labels: map[string]string{"app": app}, Hash: "h", Phase: nodes.PhaseRunning}
	}
	obs := nodes.NodeState{Pods: []nodes.PodStatus{
		pod("shop", "web", "10.244.0.11", "web"), pod("shop", "db", "10.244.0.12", "db"), pod("other", "tool", "10.244.0.13", "tool"),
	}}
	return d, obs
}

// apply syncs the node to the policies and checks that iptables holds
// exactly what was rendered.
func (s *policyScene) apply(t *testing.T, specs ...string) {
	t.Helper()
	d, obs := policyDesired(t, specs...)
	if err := s.r.SyncAll(context.Background(), trafficRoutes(), reconciler.Firewall(d, obs)); err != nil {
		t.Fatal(err)
	}
	if drifted, err := s.r.Check(context.Background()); err != nil || drifted {
		t.Fatalf("Check after SyncAll = %v, %v; want no drift", drifted, err)
	}
}

// reach reports whether a TCP (or UDP) connection from namespace ns,
// from address src ("" for any), to addr gets through: an answer or a
// refusal (something was reached), not silence (dropped).
func (s *policyScene) reach(t *testing.T, ns, src, network, addr string) bool {
	t.Helper()
	var ok bool
	err := s.n.in(ns, func() error {
		d := net.Dialer{Timeout: 800 * time.Millisecond}
		if src != "" {
			if network == "udp4" {
				d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(src)}
			} else {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
			}
		}
		c, err := d.Dial(network, addr)
		switch {
		case err != nil && isRefused(err):
			ok = true
			return nil
		case err != nil && strings.Contains(err.Error(), "timeout"):
			return nil
		case err != nil:
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(800 * time.Millisecond))
		if network == "udp4" {
			if _, err := c.Write([]byte("hi")); err != nil {
				return err
			}
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		ok = (err == nil && line != "") || (err != nil && strings.Contains(err.Error(), "refused"))
		return nil
	})
	if err != nil {
		t.Fatalf("%s -> %s: %v", ns, addr, err)
	}
	return ok
}

type flow struct {
	what, ns, src, network, addr string
	want                         bool
}

func (s *policyScene) expect(t *testing.T, flows ...flow) {
	t.Helper()
	for _, f := range flows {
		ns := s.pods[f.ns]
		if f.ns == "ext" {
			ns = s.ext
		} else if f.ns == "node" {
			ns = ""
		}
		got := s.reach(t, ns, f.src, cmpOr(f.network, "tcp4"), f.addr)
		for try := 0; f.want && !got && try < 2; try++ {
			got = s.reach(t, ns, f.src, cmpOr(f.network, "tcp4"), f.addr) // a loaded machine may be slow
		}
		if got != f.want {
			t.Errorf("%s: got through %v, want %v", f.what, got, f.want)
		}
	}
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

const (
	p1 = "10.244.0.11"
	p2 = "10.244.0.12"
	p3 = "10.244.0.13"
)

// TestNetworkPolicyTraffic sends real connections through the policies'
// rules: default deny, allow from a label (here and on another node),
// from a namespace, an IP block with an exception, egress denied but
// DNS, a named port, another node's pods' egress, and a policy change
// that keeps established connections.
func TestNetworkPolicyTraffic(t *testing.T) {
	for _, bin := range []string{"iptables-nft", "iptables-legacy"} {
		t.Run(bin, func(t *testing.T) {
			requireBin(t, bin+"-restore")
			testNetworkPolicyTraffic(t, bin)
		})
	}
}

func testNetworkPolicyTraffic(t *testing.T, bin string) {
	s := newPolicyScene(t, bin)
	n := s.n
	n.run(t, "Open", func(t *testing.T) {
		s.apply(t)
		s.expect(t,
			flow{what: "web to db", ns: "p1", addr: p2 + ":8080", want: true},
			flow{what: "tool to db", ns: "p3", addr: p2 + ":8080", want: true},
			flow{what: "outside to db", ns: "ext", addr: p2 + ":8080", want: true})
	})
	n.run(t, "DefaultDeny", func(t *testing.T) {
		s.apply(t, "shop/deny", "{}")
		s.expect(t,
			flow{what: "web to db", ns: "p1", addr: p2 + ":8080"},
			flow{what: "tool to web", ns: "p3", addr: p1 + ":8080"},
			flow{what: "outside to db", ns: "ext", addr: p2 + ":8080"},
			flow{what: "UDP to db", ns: "p3", network: "udp4", addr: p2 + ":8080"},
			flow{what: "web to tool (not isolated)", ns: "p1", addr: p3 + ":8080", want: true},
			flow{what: "the node itself to db", ns: "node", addr: p2 + ":8080", want: true},
			flow{what: "web to a service whose pod is tool's", ns: "p1", network: "udp4", addr: "10.96.0.12:53", want: true})
	})
	n.run(t, "AllowFromLabel", func(t *testing.T) {
		s.apply(t, "shop/deny", "{}", "shop/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}")
		s.expect(t,
			flow{what: "web to db", ns: "p1", addr: p2 + ":8080", want: true},
			flow{what: "web on n2 to db", ns: "ext", src: "10.244.1.5", addr: p2 + ":8080", want: true},
			flow{what: "tool to db", ns: "p3", addr: p2 + ":8080"},
			flow{what: "api on n2 to db", ns: "ext", src: "10.244.1.7", addr: p2 + ":8080"},
			flow{what: "an unknown pod of n2 to db", ns: "ext", src: "10.244.1.6", addr: p2 + ":8080"},
			flow{what: "db to web (web isolated, no rule)", ns: "p2", addr: p1 + ":8080"})
	})
	n.run(t, "AllowFromNamespace", func(t *testing.T) {
		s.apply(t, "shop/deny", "{}", "shop/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]}]}")
		s.expect(t,
			flow{what: "tool to db", ns: "p3", addr: p2 + ":8080", want: true},
			flow{what: "api (namespace other) on n2 to db", ns: "ext", src: "10.244.1.7", addr: p2 + ":8080", want: true},
			flow{what: "web to db", ns: "p1", addr: p2 + ":8080"})
	})
	n.run(t, "IPBlockExcept", func(t *testing.T) {
		s.apply(t, "shop/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{ipBlock: {cidr: 192.168.50.0/24, except: [192.168.50.2/32]}}]}]}")
		s.expect(t,
			flow{what: "192.168.50.3 to db", ns: "ext", src: "192.168.50.3", addr: p2 + ":8080", want: true},
			flow{what: "192.168.50.2 (excepted) to db", ns: "ext", src: extIP, addr: p2 + ":8080"},
			flow{what: "web to db", ns: "p1", addr: p2 + ":8080"})
	})
	n.run(t, "EgressDenyDNSAllowed", func(t *testing.T) {
		s.apply(t, "shop/web-out", "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]}]}")
		s.expect(t,
			flow{what: "web asks DNS (UDP)", ns: "p1", network: "udp4", addr: extIP + ":53", want: true},
			flow{what: "web asks DNS (TCP)", ns: "p1", addr: extIP + ":53", want: true},
			flow{what: "web to the outside", ns: "p1", addr: extIP + ":9090"},
			flow{what: "web to tool", ns: "p1", addr: p3 + ":8080"},
			flow{what: "web to the node", ns: "p1", addr: bridgeIP + ":22"},
			flow{what: "web to a service", ns: "p1", addr: "10.96.0.10:80"},
			flow{what: "tool to the outside (not isolated)", ns: "p3", addr: extIP + ":9090", want: true},
			flow{what: "tool to web (ingress open)", ns: "p3", addr: p1 + ":8080", want: true})
	})
	n.run(t, "OtherNodesEgress", func(t *testing.T) {
		// web's egress is checked here for what n2's web pod sends to
		// this node's pods; n2's api pod is not isolated; a pod of n2
		// this node was not told of may be isolated: dropped.
		s.apply(t, "shop/web-out", "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: [{podSelector: {matchLabels: {app: db}}}], ports: [{port: pg}]}]}")
		s.expect(t,
			flow{what: "web on n2 to db:pg", ns: "ext", src: "10.244.1.5", addr: p2 + ":8080", want: true},
			flow{what: "web on n2 to db:8081", ns: "ext", src: "10.244.1.5", addr: p2 + ":8081"},
			flow{what: "web on n2 to tool", ns: "ext", src: "10.244.1.5", addr: p3 + ":8080"},
			flow{what: "api on n2 to tool", ns: "ext", src: "10.244.1.7", addr: p3 + ":8080", want: true},
			flow{what: "an unknown pod of n2 to tool", ns: "ext", src: "10.244.1.6", addr: p3 + ":8080"},
			flow{what: "n2 itself to tool", ns: "ext", src: extIP, addr: p3 + ":8080", want: true},
			flow{what: "web here to db:pg", ns: "p1", addr: p2 + ":8080", want: true},
			flow{what: "web here to db:8081", ns: "p1", addr: p2 + ":8081"},
			// n2 checks what reaches its pods.
			flow{what: "web here to a pod of n2 (n2 checks)", ns: "p1", addr: "10.244.1.5:9090", want: true})
	})
	n.run(t, "NamedPort", func(t *testing.T) {
		s.apply(t, "shop/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{ports: [{port: pg}]}]}")
		s.expect(t,
			flow{what: "tool to db:pg (8080)", ns: "p3", addr: p2 + ":8080", want: true},
			flow{what: "tool to db:8081", ns: "p3", addr: p2 + ":8081"},
			flow{what: "tool to db:pg over UDP", ns: "p3", network: "udp4", addr: p2 + ":8080"})
	})
	n.run(t, "ChangeKeepsEstablished", func(t *testing.T) {
		s.apply(t, "shop/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {}}]}]}")
		var c net.Conn
		if err := n.in(s.pods["p1"], func() (err error) { c, err = net.DialTimeout("tcp4", p2+":7000", time.Second); return err }); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rd := bufio.NewReader(c)
		say := func(msg string) error {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			if _, err := fmt.Fprintln(c, msg); err != nil {
				return err
			}
			got, err := rd.ReadString('\n')
			if err == nil && strings.TrimSpace(got) != msg {
				err = fmt.Errorf("echo %q, want %q", got, msg)
			}
			return err
		}
		if err := say("before"); err != nil {
			t.Fatal(err)
		}
		// Allowed from another namespace only now: the open connection
		// goes on, a new one does not get through.
		s.apply(t, "shop/db", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]}]}")
		if err := say("after"); err != nil {
			t.Errorf("established connection after the policy change: %v", err)
		}
		s.expect(t, flow{what: "new connection web to db", ns: "p1", addr: p2 + ":7000"})
		// And one that stays allowed across many changes never breaks.
		for i := range 5 {
			s.apply(t, "shop/db", fmt.Sprintf("{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: %d}, {port: 7000}]}]}", 9000+i))
			if err := say(fmt.Sprint("change ", i)); err != nil {
				t.Errorf("change %d: %v", i, err)
			}
		}
	})
	n.run(t, "Cleanup", func(t *testing.T) {
		if err := s.r.Cleanup(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := n.out(t, bin+"-save")
		if strings.Contains(out, "BERTH") {
			t.Errorf("berth rules left after Cleanup:\n%s", out)
		}
	})
}

// echo answers each line of every TCP connection on port in ns with the
// line.
func (n *testNode) echo(tb testing.TB, ns string, port int) {
	tb.Helper()
	var l net.Listener
	if err := n.in(ns, func() (err error) { l, err = net.Listen("tcp4", fmt.Sprintf(":%d", port)); return err }); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintln(c, sc.Text())
				}
			}()
		}
	}()
}
