package iptables

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/nodes"
)

func trafficRoutes() []nodes.ServiceRoute {
	pod := func(i int, port int32, w uint32) nodes.Backend {
		return nodes.Backend{IP: fmt.Sprintf("10.244.0.%d", 10+i), Port: port, Weight: w}
	}
	return []nodes.ServiceRoute{
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", ExternalIPs: []string{"192.168.60.100"},
			Ports: []nodes.RoutePort{{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30080,
				Backends: []nodes.Backend{pod(1, 8080, 1), pod(2, 8080, 1), pod(3, 8080, 1)}}}},
		{Namespace: "default", Name: "canary", ClusterIP: "10.96.0.11",
			Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, Backends: []nodes.Backend{pod(1, 8080, 90), pod(2, 8080, 10)}}}},
		{Namespace: "default", Name: "dns", ClusterIP: "10.96.0.12",
			Ports: []nodes.RoutePort{{Protocol: "UDP", Port: 53, Backends: []nodes.Backend{pod(3, 8080, 1)}}}},
		{Namespace: "default", Name: "self", ClusterIP: "10.96.0.13",
			Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, Backends: []nodes.Backend{pod(1, 8080, 1)}}}},
		{Namespace: "default", Name: "down", ClusterIP: "10.96.0.14",
			Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, NodePort: 30081}}},
		{Namespace: "default", Name: "elsewhere", ClusterIP: "10.96.0.16",
			Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, Backends: []nodes.Backend{{IP: extIP, Port: 9090, Weight: 1, Remote: true}}}}},
		{Namespace: "default", Name: "sticky", ClusterIP: "10.96.0.15", AffinitySeconds: 60,
			Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, Backends: []nodes.Backend{pod(1, 8080, 1), pod(2, 8080, 1), pod(3, 8080, 1)}}}},
		{Namespace: "default", Name: "sticky-short", ClusterIP: "10.96.0.17", AffinitySeconds: 1,
			Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, Backends: []nodes.Backend{pod(1, 8080, 1), pod(2, 8080, 1), pod(3, 8080, 1)}}}},
	}
}

func counts(answers []string) map[string]int {
	c := map[string]int{}
	for _, a := range answers {
		name, _, _ := strings.Cut(a, " ")
		c[name]++
	}
	return c
}

func within(t *testing.T, what string, got, want, tol int) {
	t.Helper()
	if got < want-tol || got > want+tol {
		t.Errorf("%s: %d connections, want %d ± %d", what, got, want, tol)
	} else {
		t.Logf("%s: %d connections (want %d ± %d)", what, got, want, tol)
	}
}

// TestTraffic sends real connections through the router's rules: cluster
// IP from a pod and from the node, NodePort and external IP from outside,
// the spread, weights, UDP, hairpin, affinity and refusals.
func TestTraffic(t *testing.T) {
	for _, bin := range []string{"iptables-nft", "iptables-legacy"} {
		t.Run(bin, func(t *testing.T) {
			requireBin(t, bin+"-restore")
			testTraffic(t, bin)
		})
	}
}

func testTraffic(t *testing.T, bin string) {
	n := enterNode(t)
	pods, ext := n.buildNode(t, "p1", "p2", "p3")
	for _, p := range []string{"p1", "p2", "p3"} {
		n.serve(t, pods[p], p, 8080)
	}
	n.serve(t, ext, "remote", 9090)
	ctx := context.Background()
	r, err := New(Options{IPTables: bin, LocalhostNodePorts: true, PodCIDR: "10.244.0.0/24",
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	routes := trafficRoutes()
	if err := r.Sync(ctx, routes); err != nil {
		t.Fatal(err)
	}
	if drifted, err := r.Check(ctx); err != nil || drifted {
		t.Fatalf("Check right after Sync = %v, %v; want no drift (rendered rules must match iptables-save)", drifted, err)
	}

	one := func(t *testing.T, ns, network, addr string) string {
		t.Helper()
		a, err := n.ask(ns, network, addr, 1)
		if err != nil {
			t.Fatal(err)
		}
		return a[0]
	}
	n.run(t, "ClusterIPFromPod", func(t *testing.T) {
		got := counts(must(n.ask(pods["p2"], "tcp4", "10.96.0.10:80", 30))(t))
		if got["p1"]+got["p2"]+got["p3"] != 30 {
			t.Errorf("answers %v", got)
		}
	})
	n.run(t, "ClusterIPFromNode", func(t *testing.T) {
		if a := one(t, "", "tcp4", "10.96.0.10:80"); !strings.HasPrefix(a, "p") {
			t.Errorf("answer %q", a)
		}
	})
	n.run(t, "NodePortFromOutside", func(t *testing.T) {
		a := one(t, ext, "tcp4", nodeIP+":30080")
		// Masqueraded: the backend sees the node, so replies return
		// through it and are un-DNATed.
		if _, peer, _ := strings.Cut(a, " "); peer != bridgeIP {
			t.Errorf("backend saw client %q, want the node's bridge address %s (masquerade)", peer, bridgeIP)
		}
	})
	n.run(t, "NodePortOnLocalhost", func(t *testing.T) {
		if a := one(t, "", "tcp4", "127.0.0.1:30080"); !strings.HasPrefix(a, "p") {
			t.Errorf("answer %q", a)
		}
	})
	n.run(t, "ExternalIPFromOutside", func(t *testing.T) {
		if a := one(t, ext, "tcp4", "192.168.60.100:80"); !strings.HasPrefix(a, "p") {
			t.Errorf("answer %q", a)
		}
	})
	n.run(t, "UDP", func(t *testing.T) {
		if a := one(t, pods["p1"], "udp4", "10.96.0.12:53"); !strings.HasPrefix(a, "p3 ") {
			t.Errorf("answer %q, want p3", a)
		}
	})
	n.run(t, "UDPEndpointChange", func(t *testing.T) {
		// One client socket, so one conntrack flow: after p3 leaves the
		// service, the flow must not keep going to p3.
		var c net.Conn
		if err := n.in(pods["p1"], func() (err error) { c, err = net.Dial("udp4", "10.96.0.12:53"); return err }); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		say := func() string {
			t.Helper()
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write([]byte("hi")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			k, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			return string(buf[:k])
		}
		if a := say(); !strings.HasPrefix(a, "p3 ") {
			t.Fatalf("before: %q, want p3", a)
		}
		changed := trafficRoutes()
		changed[2].Ports[0].Backends = []nodes.Backend{{IP: "10.244.0.12", Port: 8080, Weight: 1}}
		var st SyncStats
		r.onSync = func(s SyncStats) { st = s }
		defer func() { r.onSync = nil }()
		if err := r.Sync(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if st.ConntrackDeleted == 0 {
			t.Errorf("no stale conntrack entry deleted: %+v", st)
		}
		if a := say(); !strings.HasPrefix(a, "p2 ") {
			t.Errorf("after p3 left: %q, want p2", a)
		}
		if err := r.Sync(ctx, routes); err != nil {
			t.Fatal(err)
		}
	})
	n.run(t, "SpreadOver3000", func(t *testing.T) {
		got := counts(must(n.ask("", "tcp4", "10.96.0.10:80", 3000))(t))
		for _, p := range []string{"p1", "p2", "p3"} {
			within(t, p, got[p], 1000, 100) // ±3.3% of all, ~4σ
		}
	})
	n.run(t, "Weighted90to10", func(t *testing.T) {
		got := counts(must(n.ask("", "tcp4", "10.96.0.11:80", 3000))(t))
		within(t, "p1 (90%)", got["p1"], 2700, 75) // ~4.5σ
		within(t, "p2 (10%)", got["p2"], 300, 75)
	})
	n.run(t, "RemoteBackend", func(t *testing.T) {
		// The outside namespace plays another node: its endpoint is
		// reached through its address. A pod keeps its address (the
		// other node routes the reply to this node's pod CIDR, here by
		// its default route, and its NetworkPolicies see the pod); the
		// node itself is masqueraded so that the reply comes back
		// through it to be un-DNATed.
		if a := one(t, pods["p1"], "tcp4", "10.96.0.16:80"); a != "remote 10.244.0.11" {
			t.Errorf("from a pod got %q, want %q", a, "remote 10.244.0.11")
		}
		if a := one(t, "", "tcp4", "10.96.0.16:80"); a != "remote "+nodeIP {
			t.Errorf("from the node got %q, want %q", a, "remote "+nodeIP)
		}
	})
	n.run(t, "Hairpin", func(t *testing.T) {
		a := one(t, pods["p1"], "tcp4", "10.96.0.13:80")
		if a != "p1 "+bridgeIP {
			t.Errorf("p1 through its own service got %q, want %q (answered by itself, masqueraded)", a, "p1 "+bridgeIP)
		}
		// Only a pod reaching itself is masqueraded: another pod keeps
		// its address, as with kube-proxy.
		if a := one(t, pods["p2"], "tcp4", "10.96.0.13:80"); a != "p1 10.244.0.12" {
			t.Errorf("p2 through p1's service got %q, want %q (not masqueraded)", a, "p1 10.244.0.12")
		}
	})
	n.run(t, "Affinity", func(t *testing.T) {
		got := counts(must(n.ask(pods["p2"], "tcp4", "10.96.0.15:80", 50))(t))
		if len(got) != 1 {
			t.Errorf("ClientIP affinity: answers from %v, want one backend", got)
		}
	})
	n.run(t, "AffinityRenewed", func(t *testing.T) {
		// A timeout of 1 s and a connection every 0.4 s for 3 s: each new
		// connection renews the client's affinity, so it never moves.
		var got []string
		for range 8 {
			got = append(got, must(n.ask(pods["p2"], "tcp4", "10.96.0.17:80", 1))(t)...)
			time.Sleep(400 * time.Millisecond)
		}
		if c := counts(got); len(c) != 1 {
			t.Errorf("answers from %v over 3 s with a 1 s affinity renewed by every connection, want one backend", c)
		}
	})
	n.run(t, "NoEndpointsRefused", func(t *testing.T) {
		for _, c := range []struct{ ns, addr string }{{pods["p1"], "10.96.0.14:80"}, {"", "10.96.0.14:80"}, {ext, nodeIP + ":30081"}} {
			took, err := n.refused(c.ns, c.addr)
			if err != nil {
				t.Errorf("from %q: %v", c.ns, err)
			} else if took > 500*time.Millisecond {
				t.Errorf("from %q to %s: refused after %v, want at once", c.ns, c.addr, took)
			}
		}
	})
	n.run(t, "ForwardPolicyDrop", func(t *testing.T) {
		// A host that drops what nobody accepts (Docker sets this): pods,
		// services to pods and to other nodes, and node ports still work.
		n.sh(t, bin+" -P FORWARD DROP")
		defer n.sh(t, bin+" -P FORWARD ACCEPT")
		if a := one(t, pods["p2"], "tcp4", "10.96.0.10:80"); !strings.HasPrefix(a, "p") {
			t.Errorf("cluster IP from a pod: %q", a)
		}
		if a := one(t, pods["p1"], "tcp4", "10.96.0.16:80"); a != "remote 10.244.0.11" {
			t.Errorf("remote backend from a pod: %q", a)
		}
		if a := one(t, pods["p1"], "tcp4", "10.96.0.13:80"); a != "p1 "+bridgeIP {
			t.Errorf("hairpin: %q", a)
		}
		if a := one(t, ext, "tcp4", nodeIP+":30080"); !strings.HasPrefix(a, "p") {
			t.Errorf("node port from outside: %q", a)
		}
	})
	n.run(t, "RemoveOnlyEndpoint", func(t *testing.T) {
		if a := one(t, pods["p2"], "tcp4", "10.96.0.13:80"); !strings.HasPrefix(a, "p1") {
			t.Fatalf("before: %q", a)
		}
		changed := trafficRoutes()
		changed[3].Ports[0].Backends = nil
		if err := r.Sync(ctx, changed); err != nil {
			t.Fatal(err)
		}
		took, err := n.refused(pods["p2"], "10.96.0.13:80")
		if err != nil {
			t.Fatal(err)
		}
		if took > 500*time.Millisecond {
			t.Errorf("refused after %v, want at once", took)
		}
		if err := r.Sync(ctx, routes); err != nil {
			t.Fatal(err)
		}
		if a := one(t, pods["p2"], "tcp4", "10.96.0.13:80"); !strings.HasPrefix(a, "p1") {
			t.Errorf("after the endpoint came back: %q", a)
		}
	})
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestSyncWritesOnlyChanges counts iptables-restore calls and repairs
// rules deleted by hand.
func TestSyncWritesOnlyChanges(t *testing.T) {
	n := enterNode(t)
	pods, _ := n.buildNode(t, "p1", "p2")
	n.serve(t, pods["p1"], "p1", 8080)
	n.serve(t, pods["p2"], "p2", 8080)
	ctx := context.Background()
	var ce countingExec
	var last SyncStats
	r, err := New(Options{Exec: ce.exec, OnSync: func(s SyncStats) { last = s }})
	if err != nil {
		t.Fatal(err)
	}
	routes := trafficRoutes()[:4]
	if err := r.Sync(ctx, routes); err != nil {
		t.Fatal(err)
	}
	if got := ce.restores.Load(); got != 1 {
		t.Fatalf("first sync: %d restores, want 1", got)
	}
	if err := r.Sync(ctx, trafficRoutes()[:4]); err != nil {
		t.Fatal(err)
	}
	if got := ce.restores.Load(); got != 1 || !last.RestoreSkipped {
		t.Fatalf("sync without change: %d restores (want still 1), stats %+v", got, last)
	}

	// One backend more: only that service's chains are written.
	routes[0].Ports[0].Backends = routes[0].Ports[0].Backends[:2]
	if err := r.Sync(ctx, routes); err != nil {
		t.Fatal(err)
	}
	// (The backend left stays another service's, so its hairpin rule
	// stays too.)
	if got := ce.restores.Load(); got != 2 || last.Full || last.Written != 1 || last.Deleted != 0 {
		t.Errorf("one-service change: %d restores, stats %+v; want a partial sync writing only the SVC chain", got, last)
	}

	// Hand edits: a SVC chain flushed, a jump rule deleted.
	save := n.out(t, "iptables-save -t nat")
	var svc string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, ":BERTH-SVC-") {
			svc, _, _ = strings.Cut(l[1:], " ")
			break
		}
	}
	if svc == "" {
		t.Fatalf("no SVC chain in\n%s", save)
	}
	n.sh(t, "iptables -t nat -F "+svc+"\niptables -t nat -D OUTPUT 1")
	drifted, err := r.Check(ctx)
	if err != nil || !drifted {
		t.Fatalf("Check after hand edits = %v, %v; want drift", drifted, err)
	}
	if err := r.Sync(ctx, routes); err != nil {
		t.Fatal(err)
	}
	if got := ce.restores.Load(); got != 3 || !last.Full || last.Written != 1 {
		t.Errorf("repair: %d restores, stats %+v; want one full sync rewriting the flushed chain", got, last)
	}
	if drifted, err := r.Check(ctx); err != nil || drifted {
		t.Errorf("Check after repair = %v, %v; want clean", drifted, err)
	}
	if a, err := n.ask("", "tcp4", "10.96.0.13:80", 1); err != nil || !strings.HasPrefix(a[0], "p1") {
		t.Errorf("after repair: %v %v", a, err)
	}

	// A restarted daemon (a new Router) finds its rules intact and
	// rewrites nothing.
	restarted, err := New(Options{Exec: ce.exec, OnSync: func(s SyncStats) { last = s }})
	if err != nil {
		t.Fatal(err)
	}
	before := ce.restores.Load()
	if err := restarted.Sync(ctx, routes); err != nil {
		t.Fatal(err)
	}
	if got := ce.restores.Load(); got != before || !last.Full || !last.RestoreSkipped {
		t.Errorf("restart: %d restores, stats %+v; want a full sync that writes nothing", got-before, last)
	}

	// Repair (the periodic check) does the same without a Sync.
	n.sh(t, "iptables -t nat -F "+svc)
	if repaired, err := r.Repair(ctx); err != nil || !repaired {
		t.Fatalf("Repair = %v, %v", repaired, err)
	}
	if drifted, err := r.Check(ctx); err != nil || drifted {
		t.Errorf("Check after Repair = %v, %v", drifted, err)
	}
}

// TestOtherInstancesUntouched runs berth next to another berth (other
// prefix, same namespace), foreign rules, and a berth in another network
// namespace; Sync and Cleanup touch only their own chains.
func TestOtherInstancesUntouched(t *testing.T) {
	n := enterNode(t)
	ctx := context.Background()
	other := n.peer(t, "other", "vother", "10.99.0.2/24", "10.99.0.1")
	n.sh(t, `iptables -t nat -N KUBE-SERVICES
		iptables -t nat -A KUBE-SERVICES -d 10.0.0.1/32 -j RETURN
		iptables -t nat -A PREROUTING -j KUBE-SERVICES
		iptables -t filter -A INPUT -p tcp --dport 22 -j ACCEPT`)
	n.sh(t, "ip netns exec "+other+" iptables -t nat -N BERTH-SERVICES\nip netns exec "+other+" iptables -t nat -A BERTH-SERVICES -d 10.96.0.1/32 -j RETURN")
	otherNSBefore := n.out(t, "ip netns exec "+other+" iptables-save")

	second, err := New(Options{ChainPrefix: "OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Sync(ctx, trafficRoutes()[1:3]); err != nil {
		t.Fatal(err)
	}
	stripBerth := func(save string) string {
		var keep []string
		for _, l := range strings.Split(save, "\n") {
			if strings.HasPrefix(l, "#") || strings.Contains(l, "BERTH-") {
				continue
			}
			keep = append(keep, l)
		}
		return strings.Join(keep, "\n")
	}
	before := stripBerth(n.out(t, "iptables-save"))

	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx, trafficRoutes()); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx, trafficRoutes()[:2]); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.out(t, "iptables-save -t nat"), ":BERTH-SERVICES ") {
		t.Fatal("berth's chains missing after Sync")
	}
	if err := r.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	after := n.out(t, "iptables-save")
	if strings.Contains(after, "BERTH-") {
		t.Errorf("Cleanup left berth rules:\n%s", after)
	}
	if got := stripBerth(after); got != before {
		t.Errorf("other rules changed:\nbefore:\n%s\nafter:\n%s", before, got)
	}
	if got := n.out(t, "ip netns exec "+other+" iptables-save"); stripComments(got) != stripComments(otherNSBefore) {
		t.Errorf("the other namespace's rules changed:\nbefore:\n%s\nafter:\n%s", otherNSBefore, got)
	}
	if drifted, err := second.Check(ctx); err != nil || drifted {
		t.Errorf("the OTHER instance drifted: %v, %v", drifted, err)
	}
	// Cleanup twice is fine.
	if err := r.Cleanup(ctx); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
}

func stripComments(save string) string {
	var keep []string
	for _, l := range strings.Split(save, "\n") {
		if !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestLargeSyncInSteps writes a ruleset larger than one transaction in
// several restores (as a first sync of a big node on iptables-nft does),
// then checks it reads back identical and cleans up in steps too.
func TestLargeSyncInSteps(t *testing.T) {
	n := enterNode(t)
	ctx := context.Background()
	var ce countingExec
	var last SyncStats
	r, err := New(Options{Exec: ce.exec, OnSync: func(s SyncStats) { last = s }})
	if err != nil {
		t.Fatal(err)
	}
	r.maxRules = 100
	routes := benchRoutes(300)
	if err := r.Sync(ctx, routes); err != nil {
		t.Fatal(err)
	}
	if last.Restores < 10 {
		t.Errorf("%d restores for %d rules, want steps of at most %d", last.Restores, last.Rules, r.maxRules)
	}
	if drifted, err := r.Check(ctx); err != nil || drifted {
		t.Fatalf("Check after a stepped sync = %v, %v", drifted, err)
	}
	routes[7].Ports[0].Backends = routes[7].Ports[0].Backends[:1]
	if err := r.Sync(ctx, routes); err != nil || last.Full || last.Restores != 1 {
		t.Fatalf("partial sync: %v, %+v", err, last)
	}
	if err := r.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if out := n.out(t, "iptables-save"); strings.Contains(out, "BERTH-") {
		t.Errorf("left after Cleanup:\n%s", out)
	}
}

// TestUpgradeFromSEPLayout starts from the rules an older berth wrote (a
// chain per endpoint, per-service dispatch comments) with traffic hooked
// in: the first Sync of this version replaces them, and leaves no SEP
// chain behind.
func TestUpgradeFromSEPLayout(t *testing.T) {
	for _, bin := range []string{"iptables-nft", "iptables-legacy"} {
		t.Run(bin, func(t *testing.T) {
			requireBin(t, bin+"-restore")
			n := enterNode(t)
			old, err := os.ReadFile("testdata/sep-layout.rules")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin+"-restore", "-w", "--noflush")
			cmd.Stdin = bytes.NewReader(old)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("restore the old layout: %v: %s", err, out)
			}
			n.sh(t, bin+" -t nat -I PREROUTING -j BERTH-SERVICES\n"+bin+" -t nat -I OUTPUT -j BERTH-SERVICES\n"+
				bin+" -t nat -I POSTROUTING -j BERTH-POSTROUTING")
			r, err := New(Options{IPTables: bin})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			sticky := []nodes.ServiceRoute{{Namespace: "default", Name: "sticky", ClusterIP: "10.96.0.20", AffinitySeconds: 10800,
				Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, Backends: []nodes.Backend{
					{IP: "10.244.0.11", Port: 80, Weight: 1}, {IP: "10.244.0.12", Port: 80, Weight: 1}}}}}}
			if err := r.Sync(ctx, sticky); err != nil {
				t.Fatal(err)
			}
			if drifted, err := r.Check(ctx); err != nil || drifted {
				t.Errorf("Check after the upgrade = %v, %v; want clean", drifted, err)
			}
			save := n.out(t, bin+"-save -t nat")
			// (BERTH-SEP-<hash> stays as the name of an affinity list.)
			if strings.Contains(save, ":BERTH-SEP-") || strings.Contains(save, ":BERTH-SVC-") {
				t.Errorf("old chains left behind:\n%s", save)
			}
			if !strings.Contains(save, "-A BERTH-SERVICES-0A600000 -d 10.96.0.20/32") {
				t.Errorf("new dispatch leaf missing:\n%s", save)
			}
		})
	}
}
