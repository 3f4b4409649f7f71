package iptables

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"berth.dev/berth/nodes"
)

// model applies iptables-restore --noflush input to an in-memory ruleset,
// the way the kernel does, and fails on what iptables would reject.
type model struct {
	t  *testing.T
	rs Ruleset
}

func (m *model) exec(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	if !strings.HasSuffix(name, "-restore") {
		return nil, fmt.Errorf("unexpected exec %s", name)
	}
	sc := bufio.NewScanner(bytes.NewReader(stdin))
	sc.Buffer(nil, 1<<24)
	var table string
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "*"):
			table = l[1:]
			if m.rs[table] == nil {
				m.rs[table] = map[string]string{}
			}
		case l == "COMMIT":
		case strings.HasPrefix(l, ":"):
			name, _, _ := strings.Cut(l[1:], " ")
			m.rs[table][name] = ""
		case strings.HasPrefix(l, "-A "):
			name, _, _ := strings.Cut(l[3:], " ")
			if _, ok := m.rs[table][name]; !ok {
				return nil, fmt.Errorf("append to missing chain %s", name)
			}
			for _, flag := range []string{" -j ", " -g "} {
				if i := strings.Index(l, flag); i >= 0 {
					target, _, _ := strings.Cut(l[i+4:], " ")
					if strings.HasPrefix(target, "BERTH-") {
						if _, ok := m.rs[table][target]; !ok {
							return nil, fmt.Errorf("jump to missing chain %s", target)
						}
					}
				}
			}
			m.rs[table][name] += l + "\n"
		case strings.HasPrefix(l, "-X "):
			name := l[3:]
			for other, rules := range m.rs[table] {
				if strings.Contains(rules, "-j "+name+"\n") || strings.Contains(rules, "-j "+name+" ") || strings.Contains(rules, "-g "+name+"\n") {
					return nil, fmt.Errorf("delete chain %s still referenced by %s", name, other)
				}
			}
			delete(m.rs[table], name)
		default:
			return nil, fmt.Errorf("unexpected restore line %q", l)
		}
	}
	return nil, nil
}

// syncedRouter is a Router that believes the model holds its last sync,
// so it takes the partial path without touching iptables.
func syncedRouter(t *testing.T, routes []nodes.ServiceRoute, maxRules int) (*Router, *model, *SyncStats) {
	rr := newRenderer(Config{Prefix: "BERTH"})
	m := &model{t: t, rs: Ruleset{TableNAT: {}, TableFilter: {}}}
	st := &SyncStats{}
	r := &Router{cfg: rr.cfg, names: rr.n, rr: rr, exec: m.exec, restoreBin: "iptables-restore", saveBin: "iptables-save", log: slog.New(slog.NewTextHandler(t.Output(), nil)),
		maxRules: maxRules, onSync: func(s SyncStats) { *st = s }}
	r.order, _ = rr.fragments(routes, nil)
	r.shared = rr.dispatch(r.order)
	rr.policy(&r.fw, r.shared)
	d := Diff(rr.ruleset(r.order, r.shared), nil)
	for _, text := range RestoreTexts(d, rr.ruleset(r.order, r.shared), nil, maxRules) {
		if _, err := m.exec(context.Background(), text, "iptables-restore"); err != nil {
			t.Fatal(err)
		}
	}
	r.synced = true
	return r, m, st
}

func randomRoutes(rng *rand.Rand, n int) []nodes.ServiceRoute {
	routes := make([]nodes.ServiceRoute, n)
	for i := range routes {
		var bes []nodes.Backend
		for k := range rng.IntN(4) {
			bes = append(bes, nodes.Backend{IP: fmt.Sprintf("10.244.%d.%d", rng.IntN(3), 2+rng.IntN(5)), Port: 8080, Weight: uint32(1 + k)})
		}
		p := nodes.RoutePort{Protocol: []string{"TCP", "UDP"}[rng.IntN(2)], Port: int32(80 + rng.IntN(2)), Backends: bes}
		if rng.IntN(3) == 0 {
			p.NodePort = int32(30000 + rng.IntN(300))
		}
		r := nodes.ServiceRoute{Namespace: "ns", Name: fmt.Sprintf("svc%d", rng.IntN(n*2)),
			ClusterIP: fmt.Sprintf("10.96.%d.%d", rng.IntN(3), 1+i), Ports: []nodes.RoutePort{p}}
		if rng.IntN(4) == 0 {
			r.ExternalIPs = []string{fmt.Sprintf("192.168.60.%d", 1+rng.IntN(50))}
		}
		if rng.IntN(5) == 0 {
			r.AffinitySeconds = 60
		}
		routes[i] = r
	}
	return routes
}

// TestPartialSyncConverges checks the partial path against a model of
// iptables: after any sequence of changes, what the restores left equals
// a fresh render, no restore jumps to a missing chain or deletes a
// referenced one, and an unchanged sync writes nothing.
func TestPartialSyncConverges(t *testing.T) {
	for _, maxRules := range []int{1 << 30, 7} {
		t.Run(fmt.Sprintf("maxRules=%d", maxRules), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(maxRules)))
			routes := randomRoutes(rng, 30)
			r, m, st := syncedRouter(t, routes, maxRules)
			ctx := context.Background()
			var fw nodes.Firewall
			for step := range 40 {
				if step%2 == 0 {
					routes = mutate(rng, routes)
				} else {
					fw = randomFirewall(rng)
				}
				if err := r.sync(ctx, routes, fw); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				want, _ := RenderAll(r.cfg, routes, fw)
				if d := Diff(want, m.rs); !d.Empty() {
					t.Fatalf("step %d: model differs from a fresh render: %+v", step, d)
				}
				if st.Full {
					t.Fatalf("step %d: full sync, want partial", step)
				}
				if err := r.sync(ctx, routes, fw); err != nil || !st.RestoreSkipped {
					t.Fatalf("step %d: unchanged sync wrote something (%v, %+v)", step, err, *st)
				}
			}
		})
	}
}

func mutate(rng *rand.Rand, routes []nodes.ServiceRoute) []nodes.ServiceRoute {
	out := make([]nodes.ServiceRoute, len(routes))
	for i := range routes {
		out[i] = cloneRoute(&routes[i])
	}
	switch rng.IntN(4) {
	case 0: // drop a service
		i := rng.IntN(len(out))
		out = append(out[:i], out[i+1:]...)
	case 1: // add services
		out = append(out, randomRoutes(rng, 3)...)
	default: // change backends of one
		i := rng.IntN(len(out))
		out[i].Ports[0].Backends = randomRoutes(rng, 1)[0].Ports[0].Backends
	}
	return out
}

func TestRestoreTextsSplitsInDependencyOrder(t *testing.T) {
	rs, _ := Render(Config{Prefix: "BERTH"}, benchRoutes(50))
	texts := RestoreTexts(Diff(rs, nil), rs, nil, 20)
	if len(texts) < 5 {
		t.Fatalf("%d restores, want the delta split", len(texts))
	}
	m := &model{t: t, rs: Ruleset{}}
	for i, text := range texts {
		if _, err := m.exec(context.Background(), text, "iptables-restore"); err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
	}
	if d := Diff(rs, m.rs); !d.Empty() {
		t.Fatalf("split restores do not add up to the ruleset: %+v", d)
	}
	for i, text := range DeleteTexts(m.rs, 20) {
		if _, err := m.exec(context.Background(), text, "iptables-restore"); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	if n := m.rs.Chains(); n != 0 {
		t.Errorf("%d chains left after DeleteTexts", n)
	}
}

func TestFragmentRuleCount(t *testing.T) {
	rr := newRenderer(Config{Prefix: "BERTH"})
	rng := rand.New(rand.NewPCG(2, 2))
	frags, _ := rr.fragments(randomRoutes(rng, 40), nil)
	for _, f := range frags {
		n := 0
		for _, c := range f.chains {
			n += strings.Count(c.rules, "\n")
		}
		if n != f.rules {
			t.Errorf("%s: counted %d rules, chains hold %d", f.key, f.rules, n)
		}
	}
}

// randomFirewall is a few pods of this node (10.244.0.0/24) and of two
// others under random policies: profiles and peer sets shared, blocks
// with exceptions, unknown sources dropped or not.
func randomFirewall(rng *rand.Rand) nodes.Firewall {
	sets := []*nodes.PeerSet{
		{Blocks: []nodes.Block{{CIDR: "10.244.0.3/32"}}},
		{Blocks: []nodes.Block{{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16", "10.2.0.0/16"}}, {CIDR: "10.244.1.4/32"}}},
		{Blocks: []nodes.Block{{CIDR: "10.244.0.2/32"}, {CIDR: "10.244.0.3/32"}, {CIDR: "10.244.0.4/32"}, {CIDR: "10.244.1.2/32"}, {CIDR: "10.244.2.9/32"}}},
		{Blocks: []nodes.Block{{CIDR: "0.0.0.0/0", Except: []string{"169.254.0.0/16"}}}},
	}
	ports := [][]nodes.PortRange{nil, {{Protocol: "TCP", From: 80, To: 80}}, {{Protocol: "UDP", From: 53, To: 53}, {Protocol: "TCP", From: 8000, To: 8100}}, {{Protocol: "UDP"}}}
	var profiles []*nodes.Allowed
	for range 4 {
		a := &nodes.Allowed{}
		for range rng.IntN(3) {
			r := nodes.AllowRule{Ports: ports[rng.IntN(len(ports))]}
			if k := rng.IntN(len(sets) + 1); k < len(sets) {
				r.Peers = sets[k]
			}
			a.Rules = append(a.Rules, r)
		}
		profiles = append(profiles, a)
	}
	pick := func() *nodes.Allowed {
		if k := rng.IntN(len(profiles) + 1); k < len(profiles) {
			return profiles[k]
		}
		return nil
	}
	var fw nodes.Firewall
	for i := 2; i < 6; i++ {
		if p := (nodes.GuardedPod{Pod: fmt.Sprint("ns/p", i), IP: fmt.Sprint("10.244.0.", i), Ingress: pick(), Egress: pick()}); p.Ingress != nil || p.Egress != nil {
			fw.Pods = append(fw.Pods, p)
		}
	}
	for n := 1; n < 3; n++ {
		pn := nodes.PeerNode{Name: fmt.Sprint("node", n), Address: fmt.Sprint("192.168.0.", n), PodCIDR: fmt.Sprintf("10.244.%d.0/24", n)}
		for i := 2; i < 2+rng.IntN(4); i++ {
			pn.Pods = append(pn.Pods, nodes.RemotePod{Pod: fmt.Sprint("ns/q", i), IP: fmt.Sprintf("10.244.%d.%d", n, i), Egress: pick()})
		}
		fw.Nodes = append(fw.Nodes, pn)
	}
	fw.DropUnknown = rng.IntN(2) == 0
	fw.TransitFrom, fw.TransitTo = 40000, 49999
	return fw
}
