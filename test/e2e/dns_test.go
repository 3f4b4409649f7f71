package e2e_test

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsApp is a web Deployment behind a ClusterIP Service, a db Deployment
// of two behind a headless Service, a client pod that resolves names in a
// loop with a libc-style resolver (test/e2e/resolve), and a pod without
// Service links.
const dnsApp = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: hello
        image: HELLO
        ports: [{name: http, containerPort: 8000}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: hello
        image: HELLO
        ports: [{name: http, containerPort: 8000}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 8000, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: resolve
    image: RESOLVE
    command: [resolve, -every, 50ms, web, web.default, web.default.svc.cluster.local, db, external.test, late, srv:http.tcp.web]
---
apiVersion: v1
kind: Pod
metadata: {name: nolinks}
spec:
  enableServiceLinks: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: resolve
    image: RESOLVE
    command: [resolve, -every, 1h, web]
`

const lateService = `apiVersion: v1
kind: Service
metadata: {name: late}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: http}]
`

// externalResolver is the node's upstream in this test: a resolver on
// 127.0.0.1 that knows external.test (no internet needed).
func externalResolver(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case strings.EqualFold(q.Name, "external.test.") && q.Qtype == dns.TypeA:
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.ParseIP("192.0.2.77")}}
		case strings.EqualFold(q.Name, "external.test."):
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestClusterDNS: pods resolve Services through the node's cluster DNS
// with their resolv.conf (search path, ndots:5): a Service by its short,
// namespaced and full names, a headless Service as its ready pods, SRV
// for a named port, an external name through the node's upstream; a
// Service committed later resolves in the running pod, which is not
// restarted; a pod with enableServiceLinks: false has no Service
// variables.
func TestClusterDNS(t *testing.T) {
	t.Parallel()
	n := newNode(t, 14)
	up := externalResolver(t)
	r := newRepo(t, n.dir)
	r.write("app.yaml", strings.NewReplacer("HELLO", helloImage["v1"], "RESOLVE", resolveImage).Replace(dnsApp))
	rev := r.commit("dns")
	r.push()
	n.start("--repo", r.bare, "--dns-upstream", up)
	st := n.waitApplied(rev, 60*time.Second)
	webIP := st.clusterIP("web")
	if webIP == "" {
		t.Fatalf("web has no ClusterIP: %+v", st.Services)
	}
	podNet := netip.MustParsePrefix(n.podCIDR())

	// answers is the client's latest answer for each name, and when.
	answers := func() (map[string]string, map[string]time.Time, string) {
		out, err := podLog(n, "client")
		if err != nil {
			return nil, nil, err.Error()
		}
		got, at := map[string]string{}, map[string]time.Time{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			ts, err := time.Parse(time.RFC3339Nano, f[0])
			if err != nil {
				continue
			}
			got[f[1]], at[f[1]] = f[2], ts
		}
		return got, at, out
	}
	want := map[string]func(string) bool{
		"web":                           func(a string) bool { return a == webIP },
		"web.default":                   func(a string) bool { return a == webIP },
		"web.default.svc.cluster.local": func(a string) bool { return a == webIP },
		"external.test":                 func(a string) bool { return a == "192.0.2.77" },
		"srv:http.tcp.web":              func(a string) bool { return a == "web.default.svc.cluster.local.:80" },
		"late":                          func(a string) bool { return a == "error" },
		"db": func(a string) bool {
			ips := strings.Split(a, ",")
			for _, ip := range ips {
				if p, err := netip.ParseAddr(ip); err != nil || !podNet.Contains(p) {
					return false
				}
			}
			return len(ips) == 2
		},
	}
	n.waitFor(60*time.Second, "the client pod to resolve every name", func() (bool, string) {
		got, _, out := answers()
		for name, ok := range want {
			if !ok(got[name]) {
				return false, "name " + name + " is " + got[name] + "; log:\n" + out
			}
		}
		return true, ""
	})

	// Service variables: the client has web's (db is headless: none);
	// nolinks has none at all.
	for pod, links := range map[string]string{"client": "links 1", "nolinks": "links 0"} {
		out, err := podLog(n, pod)
		if err != nil || !strings.HasPrefix(out, links+"\n") {
			t.Errorf("%s started with %q, want %q first (err %v)", pod, out, links, err)
		}
	}

	before := clientPod(t, n)
	r.write("late.yaml", lateService)
	pushed := time.Now()
	rev = r.commit("a late Service")
	r.push()
	var took time.Duration
	n.waitFor(30*time.Second, "the running client to resolve the late Service", func() (bool, string) {
		got, at, _ := answers()
		if a := got["late"]; a != "error" && a != "" {
			took = at["late"].Sub(pushed)
			return true, ""
		}
		return false, "late is " + got["late"]
	})
	n.waitApplied(rev, 30*time.Second)
	lateIP := n.mustStatus().clusterIP("late")
	if got, _, _ := answers(); got["late"] != lateIP {
		t.Errorf("late resolves to %s, want its ClusterIP %s", got["late"], lateIP)
	}
	t.Logf("commit to resolving in a running pod: %v (git commit and push included, fsnotify)", took.Round(time.Millisecond))
	after := clientPod(t, n)
	if after.StartedAt != before.StartedAt || len(after.Containers) != 1 || after.Containers[0].RestartCount != 0 {
		t.Errorf("the client pod was restarted or replaced by a new Service: %+v -> %+v", before, after)
	}
	if out, _ := podLog(n, "client"); strings.Count(out, "links ") != 1 {
		t.Errorf("the client's container started more than once:\n%s", out)
	}
}

func clientPod(t *testing.T, n *node) pod {
	t.Helper()
	for _, p := range n.mustStatus().Pods {
		if p.Name == "client" {
			return p
		}
	}
	t.Fatal("no client pod in status")
	return pod{}
}

// podLog is `berth logs POD` (the pod after the flags).
func podLog(n *node, name string) (string, error) {
	out, err := exec.Command(berthBin, "logs", "--api", n.api, name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("berth logs %s: %w: %s", name, err, out)
	}
	return string(out), nil
}
