package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/reconciler"
)

// peerServer answers readyPath on addr:port (a loopback address of its
// own, so that several "nodes" share the port as real nodes do).
func peerServer(t *testing.T, addr string, port int, h http.HandlerFunc) func() {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on %s:%d: %v", addr, port, err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	return func() { _ = srv.Close() }
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestPeersPoll: a node that answers is weighed by what it has ready; one
// that answers 404 (an older berth) is left to the schedule; one that
// stops answering is unreachable after peerFailures polls, and reachable
// again when it answers. The reconciler is poked on every change only.
func TestPeersPoll(t *testing.T) {
	port := freePort(t)
	web := map[string]int{"default/web": 2}
	agent := map[string]reconciler.PeerWorkload{"DaemonSet/default/agent": {Revision: "b", Done: true}}
	pods := []reconciler.PeerPod{{Namespace: "default", Name: "web-1", IP: "10.88.1.5", Labels: map[string]string{"app": "web"}}}
	answer := func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(readyReply{Node: "n2", Ready: web, Workloads: agent, Pods: pods})
	}
	stop := peerServer(t, "127.0.0.2", port, answer)
	defer peerServer(t, "127.0.0.3", port, http.NotFound)()

	pokes := 0
	ps := newPeers(&Config{Node: "n1", PeerPort: port, PeerInterval: time.Second}, func() local { return nil }, func() { pokes++ })
	ps.addrs = map[string]string{"n2": "127.0.0.2", "n3": "127.0.0.3"}
	ctx := context.Background()
	step := func(what string, wantPokes int, want map[string]reconciler.PeerReadiness) {
		t.Helper()
		ps.pollAll(ctx)
		if got := ps.Peers(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: peers %+v, want %+v", what, got, want)
		}
		if pokes != wantPokes {
			t.Fatalf("%s: %d pokes, want %d", what, pokes, wantPokes)
		}
	}
	up := map[string]reconciler.PeerReadiness{"n2": {Reachable: true, Ready: web, Workloads: agent, Pods: pods}}
	step("first poll", 1, up)
	step("nothing changed", 1, up)
	// Its daemon stops: connections are refused, its pods still serve.
	stop()
	for range peerFailures + 1 {
		step("daemon stopped", 1, up)
	}
	// Cut off: nothing answers (a listener that never accepts stands in
	// for a node that is gone; each poll times out).
	ps.client.Timeout = 50 * time.Millisecond
	mute, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	conns := hold(mute)
	step("one missed poll", 1, up)
	step("two missed polls", 1, up)
	step("three missed polls", 2, map[string]reconciler.PeerReadiness{"n2": {}})
	step("still down", 2, map[string]reconciler.PeerReadiness{"n2": {}})
	mute.Close()
	conns()
	defer peerServer(t, "127.0.0.2", port, answer)()
	step("back", 3, up)

	// Its daemon restarted and has not synced yet (503): what it said
	// last stands.
	sync503 := peerServer(t, "127.0.0.4", port, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not synced yet", http.StatusServiceUnavailable)
	})
	defer sync503()
	ps.mu.Lock()
	ps.addrs["n4"] = "127.0.0.4"
	ps.state["n4"] = &peerState{answered: true, reachable: true, ready: web}
	ps.mu.Unlock()
	withN4 := map[string]reconciler.PeerReadiness{"n2": up["n2"], "n4": {Reachable: true, Ready: web}}
	for range peerFailures + 1 {
		step("n4 not synced yet", 3, withN4)
	}
	// Quiet for longer than the grace: its polls count as missed.
	ps.mu.Lock()
	ps.state["n4"].quietSince = time.Now().Add(-peerQuietGrace - time.Second)
	ps.mu.Unlock()
	step("n4 quiet too long, one miss", 3, withN4)
	step("n4 quiet too long, two misses", 3, withN4)
	step("n4 quiet too long, three misses", 4, map[string]reconciler.PeerReadiness{"n2": up["n2"], "n4": {}})
}

// TestPeersNeverAnswered: a node that never answered (its port blocked by
// a firewall, say) is left to the schedule, not cut off.
func TestPeersNeverAnswered(t *testing.T) {
	port := freePort(t)
	ps := newPeers(&Config{Node: "n1", PeerPort: port, PeerInterval: 50 * time.Millisecond}, func() local { return nil }, func() {})
	ps.addrs = map[string]string{"n2": "127.0.0.2"}
	for range peerFailures + 2 {
		ps.pollAll(context.Background())
	}
	if got := ps.Peers(); len(got) != 0 {
		t.Errorf("peers %+v, want none known (the schedule decides)", got)
	}
}

// TestPeersServeNotSynced: a node answers 503 until its routes are synced.
func TestPeersServeNotSynced(t *testing.T) {
	port := freePort(t)
	ps := newPeers(&Config{Node: "n1", PeerPort: port}, func() local { return nil }, func() {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ps.serve(ctx)
	var err error
	for range 50 {
		if _, err = ps.fetch(ctx, "127.0.0.1"); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !errors.Is(err, errNotSynced) {
		t.Errorf("fetch before the first sync: %v, want errNotSynced", err)
	}
}

// hold accepts connections on l and never answers, until the returned
// func closes them.
func hold(l net.Listener) func() {
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
}

// TestPeersServe: a node answers with its own ready pods.
func TestPeersServe(t *testing.T) {
	port := freePort(t)
	ps := newPeers(&Config{Node: "n1", PeerPort: port}, func() local { return fixedLocal{} }, func() {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ps.serve(ctx)
	var got readyReply
	var err error
	for range 50 {
		if got, err = ps.fetch(ctx, "127.0.0.1"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || got.Node != "n1" || got.Ready["default/web"] != 3 || !got.Workloads["DaemonSet/default/agent"].Done {
		t.Fatalf("fetch = %+v, %v", got, err)
	}
	// Its pods' addresses and labels, which the others' NetworkPolicies
	// select.
	if len(got.Pods) != 1 || got.Pods[0].IP != "10.88.0.5" || got.Pods[0].Labels["app"] != "web" {
		t.Errorf("pods %+v", got.Pods)
	}
}

// fixedLocal is a node with three ready web pods and its agent rolled.
type fixedLocal struct{}

func (fixedLocal) LocalReady() (map[string]int, bool) { return map[string]int{"default/web": 3}, true }

func (fixedLocal) LocalPods() []reconciler.PeerPod {
	return []reconciler.PeerPod{{Namespace: "default", Name: "web-1", IP: "10.88.0.5", Labels: map[string]string{"app": "web"}}}
}

func (fixedLocal) LocalProgress() map[string]reconciler.PeerWorkload {
	return map[string]reconciler.PeerWorkload{"DaemonSet/default/agent": {Revision: "b", Done: true}}
}
