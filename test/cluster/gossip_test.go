package cluster_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"berth.dev/berth/nodes/gossip"
)

// testImpostor: a host on the cluster network that holds the key but is
// not in the inventory at that address — here it says it is n2 and has
// no ready web pod, which would take n2's share — is refused as a
// member: the nodes keep n2's real state and count the refusal.
func testImpostor(t *testing.T) {
	keys, err := gossip.ReadKeyFile(filepath.Join(base, "peer.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := status(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	var svcs []string
	for _, svc := range s.Services {
		svcs = append(svcs, svc.Namespace+"/"+svc.Name)
	}
	before := refusals(t, "n1")
	self := gossip.Member{Name: "n2", Addr: "192.168.77.1"}
	imp, err := gossip.New(gossip.Config{Self: self, Port: 10260, Keys: keys},
		[]gossip.Member{self, {Name: "n1", Addr: "192.168.77.11"}, {Name: "n3", Addr: "192.168.77.13"}})
	if err != nil {
		t.Fatal(err)
	}
	defer imp.Close()
	imp.SetTable(gossip.NewTable(svcs))
	imp.Publish(gossip.Local{Ready: map[string]int{"shop/none": 1}})
	time.Sleep(5 * time.Second)
	for _, n := range []string{"n1", "n3"} {
		s, err := status(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if p := s.Rec.Peers["n2"]; !p.Reachable || p.Ready["default/web"] != 2 {
			t.Errorf("%s knows n2 as %+v: the impostor's word was taken", n, p)
		}
	}
	if after := refusals(t, "n1"); after <= before {
		t.Errorf("n1 counted no refusal (%v before, %v after)", before, after)
	}
}

// refusals reads berth_gossip_refused_total from node's metrics.
func refusals(t *testing.T, node string) float64 {
	t.Helper()
	sock := filepath.Join(runDir, node, "berth.sock")
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://node/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^berth_gossip_refused_total (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no berth_gossip_refused_total in %s's metrics", node)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}
