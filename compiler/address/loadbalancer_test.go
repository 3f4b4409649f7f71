package address

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"berth.dev/berth/compiler/internal/objtest"
)

func node(name, pool string) string {
	return fmt.Sprintf("---\napiVersion: berth.dev/v1\nkind: Node\nmetadata: {name: %s}\nspec: {address: 10.0.0.1, loadBalancerPool: [%s]}\n", name, pool)
}

func lb(name, ip string) string {
	extra := "  type: LoadBalancer\n"
	if ip != "" {
		extra += "  loadBalancerIP: " + ip + "\n"
	}
	return service(name, extra)
}

func TestLoadBalancerIPs(t *testing.T) {
	tests := []struct {
		name, src string
		extra     []string
		want      map[string]string // key -> address ("*/28": any in that prefix)
		diags     []string
	}{
		{"from a Node's pool", node("n1", "198.51.100.0/28") + lb("a", "") + service("plain", ""),
			nil, map[string]string{"default/a": "*198.51.100.0/28", "default/plain": ""}, nil},
		{"from the option, no inventory", lb("a", ""), []string{"203.0.113.7/32"},
			map[string]string{"default/a": "203.0.113.7"}, nil},
		{"explicit address reserved", node("n1", "198.51.100.0/30") + lb("a", "198.51.100.1") + lb("b", ""),
			nil, map[string]string{"default/a": "198.51.100.1", "default/b": "198.51.100.2"}, nil},
		{"explicit address outside the pool", node("n1", "198.51.100.5/32") + lb("a", "192.0.2.1") + lb("b", ""),
			nil, map[string]string{"default/a": "192.0.2.1", "default/b": "198.51.100.5"}, nil},
		{"pools of two nodes together", node("n1", "198.51.100.5/32") + node("n2", "198.51.100.9/32") + lb("a", "") + lb("b", ""),
			nil, map[string]string{"default/a": "*198.51.100.0/28", "default/b": "*198.51.100.0/28"}, nil},
		{"nested prefixes count once", node("n1", "198.51.100.4/31, 198.51.100.5/32") + lb("a", "") + lb("b", "") + lb("c", ""),
			nil, map[string]string{},
			[]string{"error: spec.type: no free address is left in the load-balancer pool (2 addresses)"}},
		{"no pool", lb("a", ""), nil, map[string]string{"default/a": ""},
			[]string{"warning: spec.type: LoadBalancer without spec.loadBalancerIP, and no Node has a spec.loadBalancerPool"}},
		{"IPv6 pool", node("n1", "2001:db8::/64") + lb("a", ""), nil, map[string]string{"default/a": ""},
			[]string{"error: spec.loadBalancerPool[0]: 2001:db8::/64: load-balancer addresses are IPv4 only",
				"warning: spec.type: LoadBalancer without spec.loadBalancerIP"}},
		{"bad option", lb("a", "198.51.100.3"), []string{"nonsense"}, map[string]string{"default/a": "198.51.100.3"},
			[]string{`error: --load-balancer-pool "nonsense" is not a CIDR prefix`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svcs, ds := Services(objtest.Set(t, tt.src), DefaultServiceCIDR, tt.extra)
			got := byKey(svcs)
			for k, want := range tt.want {
				g := got[k].LoadBalancerIP
				if p, ok := strings.CutPrefix(want, "*"); ok {
					a, err := netip.ParseAddr(g)
					if err != nil || !netip.MustParsePrefix(p).Contains(a) {
						t.Errorf("%s: loadBalancerIP %q, want one in %s", k, g, p)
					}
				} else if g != want {
					t.Errorf("%s: loadBalancerIP %q, want %q", k, g, want)
				}
			}
			if a, b := got["default/a"].LoadBalancerIP, got["default/b"].LoadBalancerIP; a != "" && a == b {
				t.Errorf("a and b share %s", a)
			}
			wantDiags(t, ds, tt.diags)
		})
	}
}

// TestPoolAddresses: network and broadcast addresses are not handed out
// (but both of a /31 and the one of a /32 are), and slot inverts addr.
func TestPoolAddresses(t *testing.T) {
	pl, ds := newPool(objtest.Set(t, node("n1", "10.1.0.0/30, 10.2.0.0/31, 10.3.0.9/32")), nil)
	if len(ds) != 0 {
		t.Fatal(ds)
	}
	var all []string
	for s := range pl.size {
		a := pl.addr(s)
		all = append(all, a.String())
		if back, ok := pl.slot(a); !ok || back != s {
			t.Errorf("slot(%s) = %d, %v; want %d", a, back, ok, s)
		}
	}
	if got := strings.Join(all, " "); got != "10.1.0.1 10.1.0.2 10.2.0.0 10.2.0.1 10.3.0.9" {
		t.Errorf("pool addresses %s", got)
	}
	for _, a := range []string{"10.1.0.0", "10.1.0.3", "10.3.0.8", "192.0.2.1"} {
		if _, ok := pl.slot(netip.MustParseAddr(a)); ok {
			t.Errorf("%s is in the pool", a)
		}
	}
}

// TestAddingLoadBalancerKeepsOthers: a new LoadBalancer Service moves no
// other's address unless it takes exactly that one's first choice.
func TestAddingLoadBalancerKeepsOthers(t *testing.T) {
	src := node("n1", "198.51.100.0/24")
	for i := range 40 {
		src += lb(fmt.Sprintf("s%d", i), "")
	}
	before := byKey(must(Services(objtest.Set(t, src), DefaultServiceCIDR, nil)))
	after := byKey(must(Services(objtest.Set(t, src+lb("added", "")), DefaultServiceCIDR, nil)))
	pl, _ := newPool(objtest.Set(t, node("n1", "198.51.100.0/24")), nil)
	first := pl.addr(slotHash("default/added", pl.size)).String()
	for k, s := range before {
		if a := after[k].LoadBalancerIP; a != s.LoadBalancerIP && s.LoadBalancerIP != first {
			t.Errorf("adding a service moved %s from %s to %s", k, s.LoadBalancerIP, a)
		}
	}
}
