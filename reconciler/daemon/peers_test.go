package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/gossip"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/fleet"
	"berth.dev/berth/reconciler/nodeapi"
)

// fakeRing is a membership with fixed peers; it records what it is told.
type fakeRing struct {
	mu        sync.Mutex
	peers     []gossip.Peer
	published []gossip.Local
	inv       []gossip.Member
	table     *gossip.Table
	keys      [][]byte
	closed    bool
}

func (f *fakeRing) SetInventory(inv []gossip.Member) { f.mu.Lock(); f.inv = inv; f.mu.Unlock() }
func (f *fakeRing) SetTable(t *gossip.Table)         { f.mu.Lock(); f.table = t; f.mu.Unlock() }
func (f *fakeRing) Publish(l gossip.Local) {
	f.mu.Lock()
	f.published = append(f.published, l)
	f.mu.Unlock()
}
func (f *fakeRing) Peers() []gossip.Peer     { return f.peers }
func (f *fakeRing) Stats() gossip.Stats      { return gossip.Stats{Alive: 1} }
func (f *fakeRing) SetKeys(k [][]byte) error { f.mu.Lock(); f.keys = k; f.mu.Unlock(); return nil }
func (f *fakeRing) Close() error             { f.mu.Lock(); f.closed = true; f.mu.Unlock(); return nil }
func (f *fakeRing) last() (gossip.Local, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.published[len(f.published)-1], len(f.published)
}

func twoNodes(addr1, addr2 string) *plan.Plan {
	return &plan.Plan{
		Nodes:    []plan.NodePlan{{Node: plan.Node{Name: "n1", Address: addr1}}, {Node: plan.Node{Name: "n2", Address: addr2}}, {Node: plan.Node{Name: "n3"}}},
		Services: []plan.Service{{Namespace: "default", Name: "web"}, {Namespace: "shop", Name: "cart"}},
	}
}

func keyFile(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	p := filepath.Join(t.TempDir(), "peer.key")
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPeersReadiness: a node weighs another by what it told over gossip;
// a failed node gets nothing; one never seen, or alive without its state
// yet, is left to the schedule.
func TestPeersReadiness(t *testing.T) {
	agent := map[string]gossip.Workload{"DaemonSet/default/agent": {Revision: "b", Done: true, Available: true}}
	ring := &fakeRing{peers: []gossip.Peer{
		{Name: "n2", State: gossip.StateAlive, Reachable: true, Known: true, Ready: map[string]int{"default/web": 2}, Workloads: agent,
			Summary: gossip.Summary{Applied: "abc", PlanHash: "h", Ready: 2, Total: 2, Converged: true}},
		{Name: "n3", State: gossip.StateFailed},
		{Name: "n4", State: gossip.StateUnknown},
		{Name: "n5", State: gossip.StateAlive, Reachable: true},
		{Name: "n6", State: gossip.StateFailed, Reachable: true, Known: true, Ready: map[string]int{"default/web": 1}},
	}}
	ps := newPeers(&Config{Node: "n1", PeerPort: 1}, func() local { return nil }, func() {})
	ps.ring = ring
	want := map[string]reconciler.PeerReadiness{
		"n2": {Reachable: true, Ready: map[string]int{"default/web": 2}, Workloads: map[string]reconciler.PeerWorkload{"DaemonSet/default/agent": {Revision: "b", Done: true, Available: true}}},
		"n3": {},
		"n6": {Reachable: true, Ready: map[string]int{"default/web": 1}, Workloads: map[string]reconciler.PeerWorkload{}},
	}
	if got := ps.Peers(); !reflect.DeepEqual(got, want) {
		t.Errorf("Peers() = %+v\nwant %+v", got, want)
	}
	ps.summary = func() nodeapi.NodeSummary { return nodeapi.NodeSummary{Node: "n1", Answers: true, Applied: "abc"} }
	var rows []string
	for _, s := range ps.Cluster() {
		rows = append(rows, s.Node+" "+s.State+" "+strconv.FormatBool(s.Answers)+" "+s.Applied)
	}
	if got := strings.Join(rows, "; "); got != "n1 alive true abc; n2 alive true abc; n3 failed false ; n4 unknown false ; n5 alive true ; n6 failed false " {
		t.Errorf("Cluster() = %s", got)
	}
}

// TestPeerFacts: the revision facts other nodes gossip, decoded; garbage
// tells nothing, and a node's facts stay after it fails.
func TestPeerFacts(t *testing.T) {
	good := fleet.Facts{Failed: []fleet.Failure{{Revision: "r2", Reason: "progress deadline exceeded"}}}.Encode()
	ring := &fakeRing{peers: []gossip.Peer{
		{Name: "n2", State: gossip.StateAlive, Reachable: true, Known: true, Facts: good},
		{Name: "n3", State: gossip.StateAlive, Reachable: true, Known: true, Facts: []byte("{not json")},
		{Name: "n4", State: gossip.StateAlive, Reachable: true, Known: true, Facts: make([]byte, fleet.MaxBytes+1)},
	}}
	ps := newPeers(&Config{Node: "n1", PeerPort: 1}, func() local { return nil }, func() {})
	ps.ring = ring
	got := ps.PeerFacts()
	if len(got) != 1 || len(got["n2"].Failed) != 1 || got["n2"].Failed[0].Revision != "r2" {
		t.Fatalf("PeerFacts() = %+v", got)
	}
	ring.peers = []gossip.Peer{{Name: "n2", State: gossip.StateFailed}}
	if got := ps.PeerFacts(); len(got["n2"].Failed) != 1 {
		t.Fatalf("a failed node's facts forgotten: %+v", got)
	}
}

// TestPeersStartNeedsKey: without --peer-key-file the node does not
// gossip (the others weigh it by the schedule), and says so.
func TestPeersStartNeedsKey(t *testing.T) {
	var logs strings.Builder
	cfg := &Config{Node: "n1", PeerPort: 10260, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ps := newPeers(cfg, func() local { return nil }, func() {})
	ps.update(context.Background(), twoNodes("127.0.0.2", "127.0.0.3"))
	if ps.ring != nil || !strings.Contains(logs.String(), "peer-key-file") {
		t.Fatalf("started without a key; log: %s", logs.String())
	}
	if rows := ps.Cluster(); len(rows) != 1 || rows[0].State != gossip.StateUnknown {
		t.Errorf("Cluster() without gossip = %+v, want n2 unknown", rows)
	}
}

// TestPeersPublish: the node joins with its inventory entry, the plan's
// Services as the table, and publishes its readiness once synced.
func TestPeersPublish(t *testing.T) {
	ring := &fakeRing{}
	var joined gossip.Config
	var inv []gossip.Member
	cfg := &Config{Node: "n1", PeerPort: 10260, PeerKeyFile: keyFile(t)}
	ps := newPeers(cfg, func() local { return fixedLocal{} }, func() {})
	ps.join = func(c gossip.Config, i []gossip.Member) (membership, error) { joined, inv = c, i; return ring, nil }
	ps.PublishFacts(fleet.Facts{Healthy: []string{"abc"}})
	ctx, cancel := context.WithCancel(context.Background())
	ps.update(ctx, twoNodes("127.0.0.2", "127.0.0.3"))
	if joined.Self != (gossip.Member{Name: "n1", Addr: "127.0.0.2"}) || joined.Port != 10260 || len(joined.Keys) != 1 ||
		!reflect.DeepEqual(inv, []gossip.Member{{Name: "n1", Addr: "127.0.0.2"}, {Name: "n2", Addr: "127.0.0.3"}}) {
		t.Fatalf("joined as %+v with %v", joined, inv)
	}
	if ring.table == nil || !reflect.DeepEqual(ring.table.Keys, []string{"default/web", "shop/cart"}) {
		t.Fatalf("table %+v", ring.table)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ring.mu.Lock()
		n := len(ring.published)
		ring.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing published")
		}
		time.Sleep(10 * time.Millisecond)
	}
	l, _ := ring.last()
	if l.Ready["default/web"] != 3 || !l.Workloads["DaemonSet/default/agent"].Done || l.Pods["default/web-1"].IP != "10.88.0.5" ||
		!reflect.DeepEqual(l.Headless, map[string][]gossip.PodAddress{"shop/cart": {{Name: "cart-0", IP: netip.MustParseAddr("10.88.2.5")}}}) {
		t.Errorf("published %+v", l)
	}
	if f, ok := fleet.Decode(l.Facts); !ok || !reflect.DeepEqual(f.Healthy, []string{"abc"}) {
		t.Errorf("published facts %q", l.Facts)
	}
	cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ring.mu.Lock()
		closed := ring.closed
		ring.mu.Unlock()
		if closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ring was not left when the daemon stopped")
		}
	}
}

// TestPeersOverGossip: two daemons' peers on loopback addresses, with a
// key, learn each other's ready pods over memberlist.
func TestPeersOverGossip(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	key := keyFile(t)
	p := twoNodes("127.0.0.2", "127.0.0.3")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var nodes []*peers
	for _, name := range []string{"n1", "n2"} {
		ps := newPeers(&Config{Node: name, PeerPort: port, PeerKeyFile: key, PeerInterval: 200 * time.Millisecond},
			func() local { return fixedLocal{} }, func() {})
		ps.update(ctx, p)
		if ps.ring == nil {
			t.Fatalf("%s did not join", name)
		}
		nodes = append(nodes, ps)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := nodes[0].Peers()["n2"]
		// With the pods NetworkPolicies select by address and labels, and
		// the ready pods of headless Services.
		if got.Reachable && got.Ready["default/web"] == 3 && got.Workloads["DaemonSet/default/agent"].Done &&
			len(got.Pods) == 1 && got.Pods[0].IP == "10.88.0.5" && got.Pods[0].Labels["app"] == "web" &&
			got.Headless["shop/cart"]["cart-0"] == "10.88.2.5" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1 knows n2 as %+v", got)
		}
	}
	// /metrics tells what n2 sent of its own state, and its bytes.
	reg := prometheus.NewRegistry()
	newPeerMetrics(reg, nodes[1])
	sent := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "berth_gossip_state_sent_bytes_total" || mf.GetName() == "berth_gossip_state_sent_total" {
				sent[mf.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if sent["berth_gossip_state_sent_total/delta"]+sent["berth_gossip_state_sent_total/snapshot"]+sent["berth_gossip_state_sent_total/pushpull"] == 0 ||
		sent["berth_gossip_state_sent_bytes_total/delta"]+sent["berth_gossip_state_sent_bytes_total/snapshot"]+sent["berth_gossip_state_sent_bytes_total/pushpull"] == 0 {
		t.Errorf("n2 told n1 its state, yet its metrics say it sent nothing: %v", sent)
	}
}

// fixedLocal is a node with three ready web pods, a ready pod of the
// cart Service (headless, say), and its agent rolled.
type fixedLocal struct{}

func (fixedLocal) LocalReady() (map[string]int, bool) { return map[string]int{"default/web": 3}, true }
func (fixedLocal) LocalHeadless() map[string]map[string]string {
	return map[string]map[string]string{"shop/cart": {"cart-0": "10.88.2.5"}}
}
func (fixedLocal) LocalPods() []reconciler.PeerPod {
	return []reconciler.PeerPod{{Namespace: "default", Name: "web-1", IP: "10.88.0.5", Labels: map[string]string{"app": "web"}}}
}
func (fixedLocal) LocalProgress() map[string]reconciler.PeerWorkload {
	return map[string]reconciler.PeerWorkload{"DaemonSet/default/agent": {Revision: "b", Done: true, Available: true}}
}

// TestPeersReloadKeys: a changed key file is installed without a restart
// (a rotation); a broken one is refused and the node keeps its keys.
func TestPeersReloadKeys(t *testing.T) {
	var logs strings.Builder
	path := keyFile(t)
	cfg := &Config{Node: "n1", PeerPort: 10260, PeerKeyFile: path, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ps := newPeers(cfg, func() local { return nil }, func() {})
	ring := &fakeRing{}
	st, _ := os.Stat(path)
	mod := st.ModTime()
	if got := ps.reloadKeys(ring, mod); !got.Equal(mod) || ring.keys != nil {
		t.Fatalf("an unchanged file was reloaded: %v", ring.keys)
	}
	old, _ := os.ReadFile(path)
	k := make([]byte, 16)
	rand.Read(k)
	write := func(body string) time.Time {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		mod = mod.Add(time.Second) // mtimes can be coarse
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
		return mod
	}
	m := write(base64.StdEncoding.EncodeToString(k) + "\n" + string(old))
	if got := ps.reloadKeys(ring, time.Time{}); !got.Equal(m) || len(ring.keys) != 2 || string(ring.keys[0]) != string(k) {
		t.Fatalf("after adding a key first: %d keys installed", len(ring.keys))
	}
	write("not a key\n")
	ps.reloadKeys(ring, m)
	if len(ring.keys) != 2 || !strings.Contains(logs.String(), "keeps its keys") {
		t.Errorf("a broken key file: %d keys installed; log: %s", len(ring.keys), logs.String())
	}
	if strings.Contains(logs.String(), strings.TrimSpace(string(old))) {
		t.Errorf("the log shows a key: %s", logs.String())
	}
}
