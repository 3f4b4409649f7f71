package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// headlessService selects the six web pods, two on each node.
const headlessService = `apiVersion: v1
kind: Service
metadata: {name: web-pods}
spec:
  clusterIP: None
  selector: {app: web}
  ports:
    - {name: http, port: 8080, targetPort: http}
`

// testHeadlessDNS: a headless Service committed while the cluster runs
// resolves, from a pod on every node through that node's cluster DNS,
// to all six ready pods, the other nodes' included (they tell theirs by
// gossip), and its named port's SRV records name each pod with its
// port; the web Service resolves to its ClusterIP everywhere.
func testHeadlessDNS(t *testing.T) {
	head, pushed := commit(t, "a headless Service", func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "web-pods.yaml"), []byte(headlessService), 0o644)
	})
	t.Cleanup(func() {
		head, _ := commit(t, "no headless Service", func(dir string) error { return os.Remove(filepath.Join(dir, "web-pods.yaml")) })
		waitConverged(t, head, time.Minute)
	})
	sts := waitConverged(t, head, time.Minute)
	var want []string // every web pod's address
	for _, n := range nodeNames {
		for _, p := range sts[n].webPods() {
			want = append(want, p.IP)
		}
	}
	slices.Sort(want)
	if len(want) != 6 {
		t.Fatalf("%d web pods with an address, want 6: %v", len(want), want)
	}
	wantSRV := make([]string, len(want))
	for i, ip := range want {
		wantSRV[i] = fmt.Sprintf("%s.web-pods.default.svc.cluster.local.:8080", strings.ReplaceAll(ip, ".", "-"))
	}
	slices.Sort(wantSRV)
	for i, n := range nodeNames {
		ns := podNetns(t, n)
		server := fmt.Sprintf("10.77.%d.1:53", i+1) // the node's pod bridge
		var got, srv []string
		var err error
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			got, err = lookup(ns, server, "web-pods.default.svc.cluster.local.", dns.TypeA)
			if err == nil {
				srv, err = lookup(ns, server, "_http._tcp.web-pods.default.svc.cluster.local.", dns.TypeSRV)
			}
			if err == nil && slices.Equal(got, want) && slices.Equal(srv, wantSRV) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("from a pod on %s: web-pods is %v, SRV %v (%v); want %v and %v", n, got, srv, err, want, wantSRV)
			}
		}
		t.Logf("from a pod on %s, %v after the push: web-pods is %v", n, time.Since(pushed).Round(time.Millisecond), got)
		if ip, err := lookup(ns, server, "web.default.svc.cluster.local.", dns.TypeA); err != nil || !slices.Equal(ip, []string{serviceIP}) {
			t.Errorf("from a pod on %s: web is %v (%v), want %s", n, ip, err, serviceIP)
		}
	}
}

// lookup asks server a question from the network namespace at netns and
// returns the answers' values, sorted: addresses, or SRV as target:port.
func lookup(netns, server, name string, qtype uint16) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	nc, err := dialIn(netns)(ctx, "udp", server)
	if err != nil {
		return nil, err
	}
	conn := &dns.Conn{Conn: nc, UDPSize: 4096} // as the EDNS0 size asked
	defer conn.Close()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, false)
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if err := conn.WriteMsg(m); err != nil {
		return nil, err
	}
	r, err := conn.ReadMsg()
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s: %s", name, dns.RcodeToString[r.Rcode])
	}
	var out []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.SRV:
			out = append(out, fmt.Sprintf("%s:%d", rr.Target, rr.Port))
		}
	}
	slices.Sort(out)
	return out, nil
}
