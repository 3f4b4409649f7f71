package address

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/plan"
)

func service(name, extra string) string {
	return fmt.Sprintf("---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {app: %s}\n  ports: [{port: 80}]\n%s", name, name, extra)
}

func byKey(svcs []plan.Service) map[string]plan.Service {
	out := map[string]plan.Service{}
	for _, s := range svcs {
		out[s.Key()] = s
	}
	return out
}

func TestClusterIPs(t *testing.T) {
	tests := []struct {
		name, src string
		want      map[string]string // key -> IP ("" any IP in range)
		diags     []string
	}{
		{"explicit honoured", service("a", "  clusterIP: 10.96.0.10\n") + service("b", ""), map[string]string{"default/a": "10.96.0.10", "default/b": ""}, nil},
		{"headless", service("a", "  clusterIP: None\n"), map[string]string{"default/a": "None"}, nil},
		{"clash", service("a", "  clusterIP: 10.96.0.10\n") + service("b", "  clusterIP: 10.96.0.10\n"), map[string]string{"default/a": "10.96.0.10"},
			[]string{"test.yaml:16:14: error: spec.clusterIP: clusterIP 10.96.0.10 is already used by Service default/a; pick another, or omit clusterIP"}},
		{"outside", service("a", "  clusterIP: 192.168.0.1\n"), nil,
			[]string{"test.yaml:8:14: error: spec.clusterIP: 192.168.0.1 is outside the service CIDR 10.96.0.0/12 (or reserved); pick an address inside it, or omit clusterIP"}},
		{"reserved first address", service("a", "  clusterIP: 10.96.0.1\n"), nil,
			[]string{"is outside the service CIDR 10.96.0.0/12 (or reserved)"}},
	}
	cidr := netip.MustParsePrefix(DefaultServiceCIDR)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svcs, ds := Services(objtest.Set(t, tt.src), DefaultServiceCIDR, nil)
			got := byKey(svcs)
			for k, ip := range tt.want {
				g := got[k].ClusterIP
				if ip == "" {
					a, err := netip.ParseAddr(g)
					if err != nil || !cidr.Contains(a) {
						t.Errorf("%s: clusterIP %q is not in %s", k, g, cidr)
					}
				} else if g != ip {
					t.Errorf("%s: clusterIP %q, want %q", k, g, ip)
				}
			}
			wantDiags(t, ds, tt.diags)
		})
	}
}

// TestAddingServiceKeepsOthers is the property: for random sets of
// services, adding one never changes another's ClusterIP or NodePort,
// unless the new one's first choice is exactly an address another holds
// (documented; with a /12 that is about n/2^20 per addition).
func TestAddingServiceKeepsOthers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	c, _ := parseCIDR(DefaultServiceCIDR)
	collisions := 0
	for trial := range 200 {
		var src strings.Builder
		n := 1 + r.IntN(60)
		for i := range n {
			typ := ""
			if r.IntN(3) == 0 {
				typ = "  type: NodePort\n"
			}
			fmt.Fprintf(&src, "%s", service(fmt.Sprintf("s%d-%d", i, r.IntN(1<<30)), typ))
		}
		before := byKey(must(Services(objtest.Set(t, src.String()), DefaultServiceCIDR, nil)))
		newName := fmt.Sprintf("added-%d", trial)
		src.WriteString(service(newName, "  type: NodePort\n"))
		after := byKey(must(Services(objtest.Set(t, src.String()), DefaultServiceCIDR, nil)))
		firstIP := c.addr(slotHash("default/"+newName, c.size)).String()
		firstPort := int32(slotHash("default/"+newName+"/TCP/80", NodePortMax-NodePortMin+1)) + NodePortMin
		for k, s := range before {
			a := after[k]
			if s.ClusterIP != a.ClusterIP {
				if s.ClusterIP == firstIP {
					collisions++
					continue
				}
				t.Errorf("trial %d: adding %s moved %s from %s to %s", trial, newName, k, s.ClusterIP, a.ClusterIP)
			}
			for i := range s.Ports {
				if s.Ports[i].NodePort != a.Ports[i].NodePort && s.Ports[i].NodePort != firstPort {
					t.Errorf("trial %d: adding %s moved %s's nodePort from %d to %d", trial, newName, k, s.Ports[i].NodePort, a.Ports[i].NodePort)
				}
			}
		}
	}
	t.Logf("%d collisions with the new service's first choice", collisions)
}

func must(svcs []plan.Service, ds any) []plan.Service { return svcs }

// wantDiags checks that there are as many diagnostics as want, each
// containing its counterpart.
func wantDiags(t *testing.T, ds []diag.Diagnostic, want []string) {
	t.Helper()
	if len(ds) != len(want) {
		t.Fatalf("diagnostics %v, want %v", ds, want)
	}
	for i, w := range want {
		if !strings.Contains(ds[i].String(), w) {
			t.Errorf("diagnostic %q lacks %q", ds[i], w)
		}
	}
}

func TestProbeSmallRange(t *testing.T) {
	// In a range of 4, five identities leave one out, and everyone else
	// gets a distinct slot.
	got, left := probe([]string{"a", "b", "c", "d", "e"}, 4, map[uint64]string{})
	if len(got) != 4 || len(left) != 1 {
		t.Fatalf("got %v left %v", got, left)
	}
	seen := map[uint64]bool{}
	for _, s := range got {
		if seen[s] {
			t.Errorf("slot %d handed out twice", s)
		}
		seen[s] = true
	}
}

func TestNodePorts(t *testing.T) {
	src := service("a", "  type: NodePort\n") + service("b", "  type: LoadBalancer\n") +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec:\n  type: NodePort\n  selector: {app: c}\n  ports: [{port: 80, nodePort: 30080}]\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: d}\nspec:\n  type: NodePort\n  selector: {app: d}\n  ports: [{port: 80, nodePort: 30080}]\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: e}\nspec:\n  selector: {app: e}\n  ports: [{port: 80, nodePort: 30081}]\n"
	svcs, ds := Services(objtest.Set(t, src), DefaultServiceCIDR, nil)
	got := byKey(svcs)
	for _, k := range []string{"default/a", "default/b"} {
		if np := got[k].Ports[0].NodePort; np < NodePortMin || np > NodePortMax {
			t.Errorf("%s nodePort %d out of range", k, np)
		}
	}
	if got["default/c"].Ports[0].NodePort != 30080 {
		t.Errorf("explicit nodePort not honoured: %d", got["default/c"].Ports[0].NodePort)
	}
	var msgs []string
	for _, d := range ds {
		msgs = append(msgs, d.String())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"nodePort 30080 is already used by Service default/c", "nodePort is only allowed on NodePort and LoadBalancer services"} {
		if !strings.Contains(all, want) {
			t.Errorf("diagnostics\n%s\nlack %q", all, want)
		}
	}
}

func TestBind(t *testing.T) {
	pv := func(name, size, class, modes string) string {
		return fmt.Sprintf("---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {name: %s}\nspec:\n  capacity: {storage: %s}\n  accessModes: [%s]\n  storageClassName: %q\n  hostPath: {path: /data/%s}\n", name, size, modes, class, name)
	}
	pvc := func(name, size, class, modes, volume string) string {
		s := fmt.Sprintf("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s}\nspec:\n  accessModes: [%s]\n  resources: {requests: {storage: %s}}\n", name, modes, size)
		if class != "" {
			s += fmt.Sprintf("  storageClassName: %s\n", class)
		}
		if volume != "" {
			s += fmt.Sprintf("  volumeName: %s\n", volume)
		}
		return s
	}
	src := pv("big", "100Gi", "", "ReadWriteOnce") + pv("small", "1Gi", "", "ReadWriteOnce") + pv("mid", "10Gi", "", "ReadWriteOnce") +
		pv("fast", "10Gi", "ssd", "ReadWriteOnce") + pv("shared", "50Gi", "", "ReadWriteMany") +
		pvc("a", "5Gi", "", "ReadWriteOnce", "") + // smallest that fits: mid
		pvc("b", "500Mi", "", "ReadWriteOnce", "big") + // named: big, first
		pvc("c", "1Gi", "ssd", "ReadWriteOnce", "") + // class: fast
		pvc("d", "1Gi", "", "ReadWriteMany", "") + // mode: shared
		pvc("e", "1Ti", "", "ReadWriteOnce", "") // nothing fits
	got, ds := Bind(objtest.Set(t, src))
	want := map[string]string{"default/a": "mid", "default/b": "big", "default/c": "fast", "default/d": "shared"}
	for k, v := range want {
		if got[k].Volume != v {
			t.Errorf("%s bound to %q, want %q", k, got[k].Volume, v)
		}
	}
	if got["default/a"].Path != "/data/mid" {
		t.Errorf("path %q", got["default/a"].Path)
	}
	if _, ok := got["default/e"]; ok || len(ds) != 1 || !strings.Contains(ds[0].Message, "no PersistentVolume can satisfy this claim") {
		t.Errorf("unbindable claim: binding %v, diagnostics %v", got["default/e"], ds)
	}
}

func TestEndpoints(t *testing.T) {
	pod := func(name string, labels map[string]string, ports ...plan.ContainerPort) *plan.Pod {
		return &plan.Pod{Namespace: "default", Name: name, Labels: labels, Owner: plan.Owner{Kind: "Pod", Name: name},
			Spec: plan.PodSpec{Containers: []plan.Container{{Name: "c", Ports: ports}}}}
	}
	a := pod("a", map[string]string{"app": "web"}, plan.ContainerPort{Name: "http", ContainerPort: 8080, Protocol: "TCP"})
	b := pod("b", map[string]string{"app": "web"}, plan.ContainerPort{Name: "http", ContainerPort: 9090, Protocol: "TCP"})
	// c serves it from its sidecar (FindPort), never from a regular init
	// container.
	c := pod("c", map[string]string{"app": "web"})
	c.Spec.InitContainers = []plan.Container{
		{Name: "init", Ports: []plan.ContainerPort{{Name: "http", ContainerPort: 6060, Protocol: "TCP"}}},
		{Name: "side", RestartPolicy: "Always", Ports: []plan.ContainerPort{{Name: "http", ContainerPort: 7070, Protocol: "TCP"}}},
	}
	d := pod("d", map[string]string{"app": "web"})
	other := pod("x", map[string]string{"app": "db"})
	svcs := []plan.Service{{Namespace: "default", Name: "web", Selector: map[string]string{"app": "web"}, Ports: []plan.ServicePort{
		{Protocol: "TCP", Port: 80, TargetPortName: "http"}, {Protocol: "TCP", Port: 81, TargetPort: 7000}}}}
	Endpoints(svcs, []Placed{{c, "n2"}, {d, "n2"}, {other, "n1"}, {b, "n2"}, {a, "n1"}}, nil)
	got := svcs[0].Endpoints
	want := []plan.Endpoint{
		{Pod: "default/a", Node: "n1", Ports: []int32{8080, 7000}},
		{Pod: "default/b", Node: "n2", Ports: []int32{9090, 7000}},
		{Pod: "default/c", Node: "n2", Ports: []int32{7070, 7000}},
		{Pod: "default/d", Node: "n2", Ports: []int32{0, 7000}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("endpoints = %v, want %v", got, want)
	}
}

func TestSubnets(t *testing.T) {
	names := []string{"a", "b", "c"}
	got, err := Subnets("10.88.0.0/16", 24, names, map[string]string{"z": "10.88.7.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{"10.88.7.0/24": true}
	for _, n := range names {
		p, err := netip.ParsePrefix(got[n])
		if err != nil || p.Bits() != 24 || !netip.MustParsePrefix("10.88.0.0/16").Contains(p.Addr()) || seen[got[n]] {
			t.Errorf("subnet of %s = %q", n, got[n])
		}
		seen[got[n]] = true
	}
	more, _ := Subnets("10.88.0.0/16", 24, append(names, "d"), map[string]string{"z": "10.88.7.0/24"})
	for _, n := range names {
		if more[n] != got[n] && more["d"] != got[n] {
			t.Errorf("adding node d renumbered %s", n)
		}
	}
}

func TestCanaryGroups(t *testing.T) {
	p := &plan.Pod{Namespace: "default", Name: "r-1", Labels: map[string]string{"app": "r"}, Owner: plan.Owner{Kind: "Rollout", Name: "r"}}
	svcs := []plan.Service{
		{Namespace: "default", Name: "r-stable", Selector: map[string]string{"app": "r"}, Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 80}}},
		{Namespace: "default", Name: "r-canary", Selector: map[string]string{"app": "r"}, Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 80}}},
		{Namespace: "default", Name: "r", Selector: map[string]string{"app": "r"}, Ports: []plan.ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 80}}},
	}
	ro := []Rollout{{Namespace: "default", Name: "r", Strategy: plan.Strategy{Type: "Canary", Canary: &plan.Canary{StableService: "r-stable", CanaryService: "r-canary"}}}}
	Endpoints(svcs, []Placed{{p, "n1"}}, ro)
	for i, want := range []string{"stable", "canary", "canary"} {
		if got := svcs[i].Endpoints[0].Group; got != want {
			t.Errorf("service %s: group %q, want %q", svcs[i].Name, got, want)
		}
	}
}
