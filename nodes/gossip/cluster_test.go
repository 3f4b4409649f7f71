package gossip

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/testneed"
)

// ring is n members on loopback addresses 127.0.0.10+i, one port.
type ring struct {
	t       *testing.T
	port    int
	key     []byte
	members []Member
	nodes   []*Cluster
	// down are the addresses whose host "does not answer" (the host check
	// times out instead of being refused).
	mu   sync.Mutex
	down map[string]bool
}

func loopback(i int) string { return fmt.Sprintf("127.0.%d.%d", 10+i/200, 10+i%200) }

// freePort finds a port free for UDP and TCP on every address.
func freePort(t testing.TB, n int) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", loopback(0)+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := true
		for i := range n {
			addr := net.JoinHostPort(loopback(i), strconv.Itoa(port))
			tl, err1 := net.Listen("tcp", addr)
			ul, err2 := net.ListenPacket("udp", addr)
			if tl != nil {
				tl.Close()
			}
			if ul != nil {
				ul.Close()
			}
			if err1 != nil || err2 != nil {
				ok = false
				break
			}
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func newRing(t *testing.T, n int) *ring {
	r := &ring{t: t, port: freePort(t, n+3), key: make([]byte, 32), down: map[string]bool{}}
	rand.Read(r.key)
	for i := range n {
		r.members = append(r.members, Member{Name: fmt.Sprintf("m%02d", i), Addr: loopback(i)})
	}
	for _, m := range r.members {
		r.nodes = append(r.nodes, r.start(m, r.members, r.key))
	}
	t.Cleanup(func() {
		for _, c := range r.nodes {
			if c != nil {
				c.Close()
			}
		}
	})
	return r
}

func (r *ring) start(self Member, inv []Member, key []byte) *Cluster {
	r.t.Helper()
	c, err := New(Config{Self: self, Port: r.port, Keys: [][]byte{key}, Dial: r.dial}, inv)
	if err != nil {
		r.t.Fatal(err)
	}
	c.SetTable(web)
	return c
}

func (r *ring) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	r.mu.Lock()
	down := r.down[host]
	r.mu.Unlock()
	if down {
		time.Sleep(timeout)
		return nil, errors.New("i/o timeout")
	}
	return net.DialTimeout(network, addr, timeout)
}

// eventually waits until ok holds on every running member but skip.
func (r *ring) eventually(what string, timeout time.Duration, ok func(i int, c *Cluster) bool) time.Duration {
	r.t.Helper()
	start := time.Now()
	for {
		var late []string
		for i, c := range r.nodes {
			if c != nil && !ok(i, c) {
				late = append(late, r.members[i].Name)
			}
		}
		if len(late) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			r.t.Fatalf("%s: not on %s after %v", what, strings.Join(late, ", "), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func peer(c *Cluster, name string) Peer {
	for _, p := range c.Peers() {
		if p.Name == name {
			return p
		}
	}
	return Peer{}
}

// TestRing: 20 members find each other and agree on every member's ready
// pods; a change reaches all; nodes outside the inventory, impostors and
// nodes without the key are refused; a member that dies loses its share.
func TestRing(t *testing.T) {
	testneed.Long(t, "20 memberlist instances")
	const n = 20
	r := newRing(t, n)
	for i, c := range r.nodes {
		c.Publish(Local{Ready: map[string]int{"default/web": 1 + i%3}, Summary: Summary{Applied: "rev1"}})
	}
	took := r.eventually("everyone knows everyone", 30*time.Second, func(i int, c *Cluster) bool {
		for _, p := range c.Peers() {
			j, _ := strconv.Atoi(strings.TrimPrefix(p.Name, "m"))
			if p.State != StateAlive || !p.Known || p.Ready["default/web"] != 1+j%3 || p.Summary.Applied != "rev1" {
				return false
			}
		}
		return true
	})
	t.Logf("%d members know each other's state after %v", n, took.Round(time.Millisecond))

	r.nodes[7].Publish(Local{Ready: map[string]int{"default/web": 3, "shop/cart": 2}})
	took = r.eventually("a change reaches everyone", 10*time.Second, func(i int, c *Cluster) bool {
		p := peer(c, "m07")
		return i == 7 || p.Ready["default/web"] == 3 && p.Ready["shop/cart"] == 2
	})
	t.Logf("one change reached %d members after %v", n-1, took.Round(time.Millisecond))

	// A node with the key but not in the inventory; one pretending to be
	// m03 from another address; one with another key.
	stranger := r.start(Member{Name: "stranger", Addr: loopback(n)}, append(r.members, Member{Name: "stranger", Addr: loopback(n)}), r.key)
	impostor := r.start(Member{Name: "m03", Addr: loopback(n + 1)}, []Member{{Name: "m03", Addr: loopback(n + 1)}, r.members[0]}, r.key)
	other := make([]byte, 32)
	rand.Read(other)
	keyless := r.start(Member{Name: "m04", Addr: loopback(n + 2)}, []Member{{Name: "m04", Addr: loopback(n + 2)}, r.members[0]}, other)
	defer stranger.Close()
	defer impostor.Close()
	defer keyless.Close()
	for _, c := range []*Cluster{stranger, impostor, keyless} {
		c.Publish(Local{Ready: map[string]int{"default/web": 99}})
		if _, err := c.ml.Join([]string{net.JoinHostPort(loopback(0), strconv.Itoa(r.port))}); err == nil && c == keyless {
			t.Error("a node with another key joined")
		}
	}
	time.Sleep(3 * time.Second)
	refused := uint64(0)
	for i, c := range r.nodes {
		refused += c.Stats().Refused
		for _, p := range c.Peers() {
			if p.Ready["default/web"] == 99 {
				t.Errorf("%s believes %s has 99 ready pods (from a stranger, an impostor or a keyless node)", r.members[i].Name, p.Name)
			}
		}
		for _, m := range c.ml.Members() {
			if m.Name == "stranger" || m.Addr.String() == loopback(n+1) || m.Addr.String() == loopback(n+2) {
				t.Errorf("%s lists %s at %s as a member", r.members[i].Name, m.Name, m.Addr)
			}
		}
	}
	if refused == 0 {
		t.Error("no member counted a refusal")
	}

	// m11 dies with its host (the host check times out): everyone sees it
	// failed, with no share, in about the SWIM detection time.
	r.mu.Lock()
	r.down[loopback(11)] = true
	r.mu.Unlock()
	start := time.Now()
	r.nodes[11].Kill()
	r.nodes[11] = nil
	took = r.eventually("a dead member is failed", 30*time.Second, func(i int, c *Cluster) bool {
		p := peer(c, "m11")
		return p.State == StateFailed && !p.Reachable
	})
	t.Logf("a killed member (host down) lost its share on all %d others after %v", n-1, time.Since(start).Round(time.Millisecond))
	_ = took

	// m12's daemon stops but its host answers (refuses the port): it keeps
	// its share.
	r.nodes[12].Close()
	r.nodes[12] = nil
	r.eventually("a stopped daemon is failed", 30*time.Second, func(i int, c *Cluster) bool {
		return peer(c, "m12").State == StateFailed
	})
	time.Sleep(2 * LAN().DialTimeout)
	for i, c := range r.nodes {
		if c != nil {
			if p := peer(c, "m12"); !p.Reachable || p.Ready["default/web"] != 1 {
				t.Errorf("%s: m12's daemon stopped, its host refuses: %+v, want its last state kept", r.members[i].Name, p)
			}
		}
	}
}

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k1 := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	k2 := "MDEyMzQ1Njc4OWFiY2RlZg=="                     // 16 bytes
	keys, err := ReadKeyFile(write("ok", "# primary first\n"+k1+"\n\n"+k2+"\n", 0o600))
	if err != nil || len(keys) != 2 || len(keys[0]) != 32 {
		t.Fatalf("keys %d, %v", len(keys), err)
	}
	for name, c := range map[string]struct {
		body string
		mode os.FileMode
		want string
	}{
		"readable": {k1, 0o644, "chmod 600"},
		"empty":    {"# nothing\n", 0o600, "has no key"},
		"bad":      {"not base64!", 0o600, ":1: not a base64 key"},
		"short":    {"YWJj", 0o600, ":1: a key is 16, 24 or 32 bytes"},
		"twice":    {k1 + "\n" + k1, 0o600, ":2: the same key twice"},
	} {
		_, err := ReadKeyFile(write(name, c.body, c.mode))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestKeyRotation: the three steps of docs/multinode.md (add the new key
// second, make it first, drop the old one) keep every member alive and
// every change flowing; afterwards a node with only the old key cannot
// join.
func TestKeyRotation(t *testing.T) {
	const n = 3
	r := newRing(t, n)
	old, next := r.key, make([]byte, 32)
	rand.Read(next)
	version := 0
	flows := func(step string) {
		t.Helper()
		version++
		r.nodes[version%n].Publish(Local{Ready: map[string]int{"default/web": version}})
		r.eventually(step, 20*time.Second, func(i int, c *Cluster) bool {
			for _, p := range c.Peers() {
				if p.State != StateAlive {
					return false
				}
			}
			return i == version%n || peer(c, r.members[version%n].Name).Ready["default/web"] == version
		})
	}
	flows("before the rotation")
	for _, step := range []struct {
		name string
		keys [][]byte
	}{
		{"the new key second", [][]byte{old, next}},
		{"the new key first", [][]byte{next, old}},
		{"the old key gone", [][]byte{next}},
	} {
		for i, c := range r.nodes {
			if err := c.SetKeys(step.keys); err != nil {
				t.Fatalf("%s on %s: %v", step.name, r.members[i].Name, err)
			}
			if got := c.ring.GetPrimaryKey(); string(got) != string(step.keys[0]) {
				t.Fatalf("%s on %s: the primary key is not the file's first", step.name, r.members[i].Name)
			}
		}
		flows(step.name)
	}
	if got := len(r.nodes[0].ring.GetKeys()); got != 1 {
		t.Errorf("%d keys installed after the old one was removed, want 1", got)
	}
	// m03 of the inventory, with the old key only: refused by encryption.
	inv := append(slices.Clone(r.members), Member{Name: "m03", Addr: loopback(n)})
	for _, c := range r.nodes {
		c.SetInventory(inv)
	}
	late := r.start(inv[n], inv, old)
	defer late.Close()
	if _, err := late.ml.Join([]string{net.JoinHostPort(loopback(0), strconv.Itoa(r.port))}); err == nil {
		t.Error("a node with the removed key joined")
	}
	time.Sleep(2 * LAN().Reconnect) // the members try m03 too
	for i, c := range r.nodes {
		if p := peer(c, "m03"); p.State == StateAlive {
			t.Errorf("%s sees m03 (old key only) alive", r.members[i].Name)
		}
	}
}
