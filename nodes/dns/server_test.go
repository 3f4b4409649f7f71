package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// upstream is a tiny resolver on 127.0.0.1 that answers example.test.
// with 192.0.2.10 and everything else with NXDOMAIN, and counts queries.
func upstream(t testing.TB) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	pc, ln, err := listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		n.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		if q := r.Question[0]; strings.EqualFold(q.Name, "example.test.") && q.Qtype == dns.TypeA {
			m.Answer = []dns.RR{&dns.A{Hdr: hdr(q.Name, dns.TypeA, 60), A: net.ParseIP("192.0.2.10")}}
		} else {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go func() { _ = s.ActivateAndServe() }()
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return pc.LocalAddr().String(), &n
}

// start runs a server on 127.0.0.1 with the test zone's Services.
func start(t testing.TB, opts Options) *Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	s := New(opts)
	s.SetServices([]plan.Service{
		{Namespace: "default", Name: "db", ClusterIP: "None", Ports: []plan.ServicePort{{Name: "sql", Protocol: "TCP", Port: 5432}}},
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", Ports: []plan.ServicePort{{Name: "http", Protocol: "TCP", Port: 80}}},
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = s.Close()
	})
	return s
}

func ask(t testing.TB, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

func TestServer(t *testing.T) {
	up, count := upstream(t)
	s := start(t, Options{Upstreams: []string{"127.0.0.1:1", up}, ForwardTimeout: 300 * time.Millisecond})
	for _, network := range []string{"udp", "tcp"} {
		r := ask(t, s.Addr(), network, "web.default.svc.cluster.local.", dns.TypeA)
		if !r.Authoritative || r.Rcode != dns.RcodeSuccess || records(r.Answer) != "10.96.0.10" || r.Answer[0].Header().Ttl != DefaultTTL {
			t.Errorf("%s: web = %v", network, r)
		}
		r = ask(t, s.Addr(), network, "missing.default.svc.cluster.local.", dns.TypeA)
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("%s: missing = %v, want NXDOMAIN with the SOA", network, r)
		}
		// Forwarded, past an upstream that does not answer.
		r = ask(t, s.Addr(), network, "example.test.", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || records(r.Answer) != "192.0.2.10" || r.Authoritative {
			t.Errorf("%s: example.test = %v", network, r)
		}
		r = ask(t, s.Addr(), network, "nothing.test.", dns.TypeA)
		if r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: nothing.test = %v", network, r)
		}
	}
	if count.Load() != 4 {
		t.Errorf("upstream saw %d queries, want 4 (cluster names never leave the node)", count.Load())
	}

	// A Service of the next plan answers at once.
	s.SetServices([]plan.Service{{Namespace: "default", Name: "late", ClusterIP: "10.96.7.7"}})
	if r := ask(t, s.Addr(), "udp", "late.default.svc.cluster.local.", dns.TypeA); records(r.Answer) != "10.96.7.7" {
		t.Errorf("late = %v", r)
	}
}

// TestServerTruncates: a headless Service with more endpoints than a UDP
// answer holds is truncated over UDP and whole over TCP.
func TestServerTruncates(t *testing.T) {
	s := start(t, Options{})
	var ready []nodes.ReadyPod
	for i := range 100 {
		ready = append(ready, nodes.ReadyPod{Pod: fmt.Sprintf("default/db-%d", i), IP: fmt.Sprintf("10.88.%d.%d", i/250, 1+i%250)})
	}
	s.SetRoutes([]nodes.ServiceRoute{{Namespace: "default", Name: "db", ClusterIP: "None", Ready: ready}})
	r := ask(t, s.Addr(), "udp", "db.default.svc.cluster.local.", dns.TypeA)
	if !r.Truncated || len(r.Answer) >= 100 {
		t.Errorf("UDP answer of %d records, truncated %v", len(r.Answer), r.Truncated)
	}
	r = ask(t, s.Addr(), "tcp", "db.default.svc.cluster.local.", dns.TypeA)
	if r.Truncated || len(r.Answer) != 100 {
		t.Errorf("TCP answer of %d records, truncated %v", len(r.Answer), r.Truncated)
	}
}

// TestServerRefuses: clients outside Allow are refused, and so is an
// upstream flood past MaxForwards (SERVFAIL at once).
func TestServerRefuses(t *testing.T) {
	s := start(t, Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.88.0.0/16")}})
	if r := ask(t, s.Addr(), "udp", "web.default.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("a client outside the pod network got %v", r)
	}
	// No upstream answers: SERVFAIL, not silence.
	s2 := start(t, Options{Upstreams: []string{"127.0.0.1:1"}, ForwardTimeout: 200 * time.Millisecond})
	if r := ask(t, s2.Addr(), "udp", "example.test.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("no upstream: %v", r)
	}
}

// BenchmarkQueries measures answered queries per second over UDP: the
// cluster zone (a Service of 10,000 in the table) and, for comparison,
// forwarded names.
func BenchmarkQueries(b *testing.B) {
	up, _ := upstream(b)
	s := New(Options{Addr: "127.0.0.1:0", Upstreams: []string{up}})
	var svcs []plan.Service
	for i := range 10_000 {
		svcs = append(svcs, plan.Service{Namespace: "default", Name: fmt.Sprintf("app-%05d", i), ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, 1+i%250),
			Ports: []plan.ServicePort{{Name: "http", Protocol: "TCP", Port: 80}}})
	}
	s.SetServices(svcs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, q string }{{"cluster", "app-04242.default.svc.cluster.local."}, {"forwarded", "example.test."}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(8)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				conn, err := net.Dial("udp", s.Addr())
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				co := &dns.Conn{Conn: conn}
				m := new(dns.Msg)
				m.SetQuestion(bc.q, dns.TypeA)
				for pb.Next() {
					_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
					if err := co.WriteMsg(m); err != nil {
						b.Error(err)
						return
					}
					r, err := co.ReadMsg()
					if err != nil || len(r.Answer) != 1 {
						b.Errorf("answer %v, %v", r, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
		})
	}
}
