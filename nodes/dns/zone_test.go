package dns

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// testZone: web (ClusterIP, named port http), db (headless, two ready
// pods here and one on node n2, named port sql), v6 (an IPv6 ClusterIP) in namespace
// default; api in namespace shop.
func testZone() *zone {
	svcs := []plan.Service{
		{Namespace: "default", Name: "db", ClusterIP: "None", Ports: []plan.ServicePort{{Name: "sql", Protocol: "TCP", Port: 5432}}},
		{Namespace: "default", Name: "v6", ClusterIP: "fd00::a", Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80}}},
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", Ports: []plan.ServicePort{{Name: "http", Protocol: "TCP", Port: 80}, {Protocol: "UDP", Port: 53}}},
		{Namespace: "shop", Name: "api", ClusterIP: "10.96.3.4", Ports: []plan.ServicePort{{Name: "grpc", Protocol: "TCP", Port: 9000}}},
	}
	routes := []nodes.ServiceRoute{
		{Namespace: "default", Name: "db", ClusterIP: "None",
			Ready: []nodes.ReadyPod{{Pod: "default/db-b", IP: "10.88.0.7", Ports: []int32{5433}}, {Pod: "default/db-a", IP: "10.88.0.5", Ports: []int32{5433}},
				{Pod: "default/db-c", IP: "10.88.1.4", Ports: []int32{5434}, Node: "n2"}},
			Ports: []nodes.RoutePort{{Name: "sql", Protocol: "TCP", Port: 5432, Backends: []nodes.Backend{
				{IP: "10.88.0.5", Port: 5433, Weight: 1}, {IP: "10.88.0.7", Port: 5433, Weight: 1}, {IP: "192.168.1.2", Port: 31000, Weight: 1, Remote: true}}}}},
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10"},
	}
	return newZone("cluster.local").withServices(svcs).withRoutes(routes)
}

func TestLookup(t *testing.T) {
	z := testZone()
	tests := []struct {
		name  string
		qtype uint16
		// want: "" for not in the zone, "NXDOMAIN", or the answer records'
		// values and the extra records' (after "|"), in order.
		want string
	}{
		{"web.default.svc.cluster.local.", dns.TypeA, "10.96.0.10"},
		{"WEB.Default.SVC.cluster.local.", dns.TypeA, "10.96.0.10"},
		{"web.default.svc.cluster.local.", dns.TypeAAAA, ""},
		{"v6.default.svc.cluster.local.", dns.TypeAAAA, "fd00::a"},
		{"v6.default.svc.cluster.local.", dns.TypeA, ""},
		{"db.default.svc.cluster.local.", dns.TypeA, "10.88.0.5 10.88.0.7 10.88.1.4"},
		{"10-88-1-4.db.default.svc.cluster.local.", dns.TypeA, "10.88.1.4"},
		{"10-88-0-7.db.default.svc.cluster.local.", dns.TypeA, "10.88.0.7"},
		{"10-88-0-9.db.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"10-96-0-10.web.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV, "0 100 80 web.default.svc.cluster.local.|10.96.0.10"},
		{"_HTTP._TCP.web.default.svc.cluster.local.", dns.TypeSRV, "0 100 80 web.default.svc.cluster.local.|10.96.0.10"},
		{"_http._udp.web.default.svc.cluster.local.", dns.TypeSRV, "NXDOMAIN"},
		{"_http._tcp.web.default.svc.cluster.local.", dns.TypeA, ""},
		{"web.default.svc.cluster.local.", dns.TypeSRV, "0 100 80 web.default.svc.cluster.local.|10.96.0.10"},
		{"_sql._tcp.db.default.svc.cluster.local.", dns.TypeSRV,
			"0 100 5433 10-88-0-5.db.default.svc.cluster.local. 0 100 5433 10-88-0-7.db.default.svc.cluster.local. 0 100 5434 10-88-1-4.db.default.svc.cluster.local.|10.88.0.5 10.88.0.7 10.88.1.4"},
		{"api.shop.svc.cluster.local.", dns.TypeA, "10.96.3.4"},
		{"api.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"nope.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"default.svc.cluster.local.", dns.TypeA, ""},
		{"nothere.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"svc.cluster.local.", dns.TypeA, ""},
		{"cluster.local.", dns.TypeA, ""},
		{"web.default.pod.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"a.b.c.d.e.f.svc.cluster.local.", dns.TypeA, "NXDOMAIN"},
		{"10.0.96.10.in-addr.arpa.", dns.TypePTR, "web.default.svc.cluster.local."},
	}
	for _, tt := range tests {
		a, ok := z.lookup(dns.Question{Name: tt.name, Qtype: tt.qtype, Qclass: dns.ClassINET}, 5)
		if !ok {
			t.Errorf("%s %s: not in the zone", tt.name, dns.TypeToString[tt.qtype])
			continue
		}
		got := records(a.answer)
		if len(a.extra) > 0 {
			got += "|" + records(a.extra)
		}
		if a.rcode == dns.RcodeNameError {
			got = "NXDOMAIN"
		}
		if got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.name, dns.TypeToString[tt.qtype], got, tt.want)
		}
	}
	for _, name := range []string{"example.com.", "web.default.svc.cluster.local.example.com.", "1.1.168.192.in-addr.arpa.", "local."} {
		if _, ok := z.lookup(dns.Question{Name: name, Qtype: dns.TypeA}, 5); ok {
			t.Errorf("%s is answered by the cluster zone; it must be forwarded", name)
		}
	}
}

// records are the values of rrs, space separated.
func records(rrs []dns.RR) string {
	var out []string
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, r.A.String())
		case *dns.AAAA:
			out = append(out, r.AAAA.String())
		case *dns.SRV:
			out = append(out, strings.Join([]string{u(r.Priority), u(r.Weight), u(r.Port), r.Target}, " "))
		case *dns.PTR:
			out = append(out, r.Ptr)
		default:
			out = append(out, rr.String())
		}
	}
	return strings.Join(out, " ")
}

func u(n uint16) string { return strconv.Itoa(int(n)) }

func writeFile(p, content string) error { return os.WriteFile(p, []byte(content), 0o644) }

// TestNewPlanReplacesServices: a new plan's table answers at once, and
// the headless endpoints stay until the next routes.
func TestNewPlanReplacesServices(t *testing.T) {
	z := testZone()
	z2 := z.withServices([]plan.Service{
		{Namespace: "default", Name: "db", ClusterIP: "None"},
		{Namespace: "default", Name: "new", ClusterIP: "10.96.9.9"},
	})
	q := func(z *zone, name string) string {
		a, _ := z.lookup(dns.Question{Name: name, Qtype: dns.TypeA}, 5)
		if a.rcode == dns.RcodeNameError {
			return "NXDOMAIN"
		}
		return records(a.answer)
	}
	if got := q(z2, "new.default.svc.cluster.local."); got != "10.96.9.9" {
		t.Errorf("new service = %q", got)
	}
	if got := q(z2, "web.default.svc.cluster.local."); got != "NXDOMAIN" {
		t.Errorf("removed service = %q", got)
	}
	if got := q(z2, "db.default.svc.cluster.local."); got != "10.88.0.5 10.88.0.7 10.88.1.4" {
		t.Errorf("headless endpoints lost with the new plan: %q", got)
	}
	if got := q(z, "web.default.svc.cluster.local."); got != "10.96.0.10" {
		t.Errorf("the old zone changed: %q", got)
	}
}

func TestHostResolvers(t *testing.T) {
	f := t.TempDir() + "/resolv.conf"
	if err := writeFile(f, "# host\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch corp example.com\noptions edns0\n"); err != nil {
		t.Fatal(err)
	}
	up, search, err := HostResolvers(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(up, []string{"192.0.2.53:53", "[2001:db8::53]:53"}) || !slices.Equal(search, []string{"corp", "example.com"}) {
		t.Errorf("upstreams %v search %v", up, search)
	}
	if err := writeFile(f, "search corp\n"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := HostResolvers(f); err == nil || !strings.Contains(err.Error(), "no nameserver") {
		t.Errorf("a resolv.conf without nameserver: %v", err)
	}
}

// FuzzLookup: any question name, of any type, gets an answer without a
// panic, and a name outside the cluster domain is never answered here.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"web.default.svc.cluster.local.", "_http._tcp.web.default.svc.cluster.local.", "10-88-0-5.db.default.svc.cluster.local.",
		"..svc.cluster.local.", "_._.svc.cluster.local.", "example.com.", "10.0.96.10.in-addr.arpa.", ".cluster.local.", "cluster.local."} {
		f.Add(s, uint16(dns.TypeA))
	}
	z := testZone()
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		a, ok := z.lookup(dns.Question{Name: name, Qtype: qtype, Qclass: dns.ClassINET}, 5)
		lower := strings.ToLower(name)
		if ok && lower != "cluster.local." && !strings.HasSuffix(lower, ".cluster.local.") && !strings.HasSuffix(lower, ".arpa.") {
			t.Fatalf("%q answered by the cluster zone: %+v", name, a)
		}
	})
}

// A StatefulSet's ready ordinal is <hostname>.<service>.<ns>.svc; a host
// name the route does not list is unknown.
func TestSubdomainHosts(t *testing.T) {
	z := newZone("cluster.local").withServices([]plan.Service{{Namespace: "default", Name: "db", ClusterIP: "None"}}).
		withRoutes([]nodes.ServiceRoute{{Namespace: "default", Name: "db", ClusterIP: "None", Ready: []nodes.ReadyPod{{Pod: "default/db-1", IP: "10.88.0.5"}, {Pod: "default/db-0", IP: "10.88.0.7"}},
			Hosts: []nodes.HostAddr{{Host: "db-0", IP: "10.88.0.7"}, {Host: "db-1", IP: "10.88.0.5"}}}})
	for name, want := range map[string]string{"db-0.db.default.svc.cluster.local.": "10.88.0.7", "DB-1.db.default.svc.cluster.local.": "10.88.0.5",
		"10-88-0-5.db.default.svc.cluster.local.": "10.88.0.5", "db-2.db.default.svc.cluster.local.": ""} {
		a, ok := z.lookup(dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}, 5)
		got := ""
		if len(a.answer) == 1 {
			got = a.answer[0].(*dns.A).A.String()
		}
		if !ok || got != want || (want == "" && a.rcode != dns.RcodeNameError) {
			t.Errorf("%s: %v %+v, want %q", name, ok, a, want)
		}
	}
}

// Pods of one Deployment with the same hostname and subdomain share one
// name: it answers every ready pod's address, as CoreDNS answers from
// endpoints with one hostname.
func TestSharedHostname(t *testing.T) {
	z := newZone("cluster.local").withServices([]plan.Service{{Namespace: "default", Name: "grp", ClusterIP: "None"}}).
		withRoutes([]nodes.ServiceRoute{{Namespace: "default", Name: "grp", ClusterIP: "None",
			Ready: []nodes.ReadyPod{{Pod: "default/w-1", IP: "10.88.0.5"}, {Pod: "default/w-2", IP: "10.88.1.6", Node: "n2"}},
			Hosts: []nodes.HostAddr{{Host: "leader", IP: "10.88.0.5"}, {Host: "leader", IP: "10.88.1.6"}}}})
	a, ok := z.lookup(dns.Question{Name: "leader.grp.default.svc.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, 5)
	var got []string
	for _, rr := range a.answer {
		got = append(got, rr.(*dns.A).A.String())
	}
	if !ok || !slices.Equal(got, []string{"10.88.0.5", "10.88.1.6"}) {
		t.Errorf("leader.grp: %v %v, want both pods", ok, got)
	}
}
