package e2e_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// deploy makes a node and a repository holding a, pushes it, starts the
// daemon on the bare repository with args and waits until a serves
// through its ClusterIP. It returns the ClusterIP URL.
func deploy(t *testing.T, n *node, r *repo, a app, args ...string) string {
	t.Helper()
	r.write("app.yaml", a.yaml())
	rev := r.commit("deploy " + a.Image)
	r.push()
	if len(args) == 0 {
		args = []string{"--repo", r.bare}
	}
	n.start(args...)
	st := n.waitApplied(rev, 60*time.Second)
	ip := st.clusterIP(a.Name)
	if ip == "" {
		t.Fatalf("service %s has no ClusterIP in status: %+v", a.Name, st.Services)
	}
	url := "http://" + net.JoinHostPort(ip, "80") + "/"
	version := a.Image[strings.LastIndex(a.Image, ":")+1:]
	n.waitFor(60*time.Second, a.Name+" answering on its ClusterIP", func() (bool, string) { return serves(url, version) })
	return url
}

// TestPushDeploys: a push to the bare repository runs the app, which
// answers on its ClusterIP and on its NodePort from the host.
func TestPushDeploys(t *testing.T) {
	t.Parallel()
	n := newNode(t, 1)
	r := newRepo(t, n.dir)
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 2, NodePort: n.nodePort()}
	start := time.Now()
	url := deploy(t, n, r, a)
	t.Logf("serving on %s %.1fs after the daemon started", url, time.Since(start).Seconds())

	pods := n.waitRolled("hello", a.Image, 2, 30*time.Second)
	names := map[string]bool{}
	for _, p := range pods {
		names[p.Name] = true
	}
	// The service balances over both pods; each answers with its name. A
	// pod joins the endpoints at the reconciler's next pass after it is
	// ready (within a quarter second), so sample for a few seconds.
	seen := map[string]bool{}
	for deadline := time.Now().Add(5 * time.Second); len(seen) < 2 && time.Now().Before(deadline); {
		body, err := get(url)
		if err != nil {
			t.Fatalf("ClusterIP: %v", err)
		}
		for name := range names {
			if strings.Contains(body, name) {
				seen[name] = true
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("ClusterIP answers came from %v, want both pods %v", seen, names)
	}
	nodePort := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(a.NodePort)) + "/"
	if ok, body := serves(nodePort, "v1"); !ok {
		t.Errorf("NodePort %s: %s", nodePort, body)
	}
	out, err := n.berth("get", "services")
	if err != nil || !strings.Contains(out, fmt.Sprintf("80:%d/TCP", a.NodePort)) {
		t.Errorf("berth get services: %v\n%s", err, out)
	}
}
