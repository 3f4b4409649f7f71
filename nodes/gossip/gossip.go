// Package gossip is how the nodes of an inventory tell each other what
// Git cannot: the pods each one has ready per Service (for a headless
// Service, their names and addresses, which cluster DNS answers), its
// rollouts, and a summary for `berth status --cluster`. It runs on
// hashicorp/memberlist: SWIM membership and failure detection, encrypted
// and authenticated with a shared keyring; the inventory decides who may
// be a member, whatever a node says.
//
// A node's state is versioned. What changes goes out as deltas through
// memberlist's broadcast queue, piggybacked on gossip; a node that
// missed one (or joined late) fetches the owner's snapshot directly, and
// the periodic push/pull compares digests to repair the rest. Services
// travel as indexes into a Table every node derives from the same plan.
package gossip

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Workload is one workload's rollout on a node.
type Workload struct {
	Revision string
	// Done: every pod of Revision there is available.
	Done bool
	// Available: the node has an available pod of the workload, of any
	// revision (DaemonSets count unavailable nodes across the inventory).
	Available bool
	// Ordinals are a StatefulSet's ordinals the node runs, opaque here
	// (reconciler.EncodeOrdinals), at most maxOrdinals bytes.
	Ordinals string
}

// Summary is a node as `berth status --cluster` shows it.
type Summary struct {
	Applied, PlanHash string
	Ready, Total      int
	Converged         bool
	// Health is the applied revision's health there; Suspended and
	// Pinned the operator's commands it follows.
	Health, Pinned string
	Suspended      bool
}

// Pod is one of a node's pods as NetworkPolicies select it: its address
// (allocated on the node, so no plan knows it) and its labels.
type Pod struct {
	IP     string
	Labels map[string]string
}

func (p Pod) equal(q Pod) bool { return p.IP == q.IP && maps.Equal(p.Labels, q.Labels) }

// Local is what this node tells the others.
type Local struct {
	Ready map[string]int // ready pods by Service key (namespace/name)
	// Headless are the ready pods of headless Services by Service key:
	// the others answer cluster DNS with their addresses.
	Headless  map[string][]PodAddress
	Workloads map[string]Workload
	// Pods by key (namespace/name); only while the plan has
	// NetworkPolicies (none: nothing goes on the wire).
	Pods    map[string]Pod
	Summary Summary
	// Facts are the node's revision facts, opaque here (reconciler/fleet
	// encodes and decodes them), at most maxFacts bytes. They go out
	// whole when they change, and with every snapshot.
	Facts []byte
}

// PodAddress is a ready pod of a headless Service: its name (in the
// Service's namespace) and its address.
type PodAddress struct {
	Name string
	IP   netip.Addr
}

// Member is an inventory entry: a node's name and address.
type Member struct{ Name, Addr string }

// Member states as Peer.State says them.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect" // this node's probes failed; not yet declared failed
	StateFailed  = "failed"  // SWIM declared it failed, or it left
	StateUnknown = "unknown" // never seen: not running berth, or not reachable since this node started
)

// Peer is another node of the inventory, as this node knows it.
type Peer struct {
	Name, Addr string
	State      string
	// Reachable: it is alive, or it failed while its host still refuses
	// connections on the peer port (its daemon is down; its pods and rules
	// keep serving) for up to Timing.QuietGrace.
	Reachable bool
	// Known: this node has its whole state (Ready, Workloads, Summary).
	Known     bool
	Ready     map[string]int
	Headless  map[string][]PodAddress
	Workloads map[string]Workload
	Pods      map[string]Pod
	Summary   Summary
	Facts     []byte
}

// Stats are the gossip layer's counters.
type Stats struct {
	// Alive, Suspect, Failed and Unknown count the other inventory nodes
	// by state.
	Alive, Suspect, Failed, Unknown int
	BytesIn, BytesOut               uint64
	// Refused counts nodes refused as members (not in the inventory, or
	// not at its address); Dropped messages that did not decode or came
	// from no inventory node.
	Refused, Dropped uint64
	// Queued is the broadcast queue's length.
	Queued int
	// What this node sent of its own state (before memberlist's framing
	// and encryption): Deltas it queued for gossip; Repairs, the deltas
	// it sent again to a node that missed them; Snapshots, its whole
	// state sent to a node that asked; PushPulls, the push/pull states
	// (digest and its snapshot; memberlist's member list not counted).
	Deltas, DeltaBytes, Repairs, Snapshots, SnapshotBytes, PushPulls, PushPullBytes uint64
}

// Config is one node's gossip settings.
type Config struct {
	// Self is this node; memberlist binds to its address and Port (UDP
	// and TCP), the port every node of the inventory uses.
	Self Member
	Port int
	// Keys is the keyring: the first key encrypts, every key decrypts.
	Keys   [][]byte
	Timing Timing
	Logger *slog.Logger
	// OnChange is called when what Peers returns may have changed, at
	// most every Timing.Notify, never concurrently.
	OnChange func()
	// OnApply sees every version of another node's state this node
	// reaches (measurements); it runs under the Cluster's lock.
	OnApply func(owner string, version uint64)
	// Dial replaces the host check's TCP dial (tests).
	Dial func(network, addr string, timeout time.Duration) (net.Conn, error)
}

// Cluster is this node's membership in the gossip ring.
type Cluster struct {
	cfg     Config
	t       Timing
	log     *slog.Logger
	ml      *memberlist.Memberlist
	net     *transport
	queue   *memberlist.TransmitLimitedQueue
	ring    *memberlist.Keyring
	inv     atomic.Pointer[inventory]
	alive   atomic.Int64 // members memberlist counts alive, this node included
	refused atomic.Uint64
	dropped atomic.Uint64
	sent    sentCounters
	sends   chan send
	stop    chan struct{}
	wg      sync.WaitGroup
	joining atomic.Bool

	mu      sync.Mutex
	pub     *publisher
	reps    *replicas
	members map[string]*member
	// onMember sees member state changes (the simulation's detection
	// times); set and called under mu.
	onMember func(name, state string)
	// aliveNames lists the alive members (heads go to one of them),
	// rebuilt when a member event set aliveDirty.
	aliveNames []string
	aliveDirty bool
	changed    bool
	ownMoved   time.Time // this node's last flush that sent something
	serveTok   float64   // snapshot answers left (a token bucket)
	servedAt   time.Time
}

// sentCounters count what this node sent of its own state (Stats).
type sentCounters struct {
	deltas, deltaBytes, repairs, snapshots, snapshotBytes, pushPulls, pushPullBytes atomic.Uint64
}

// inventory is who may be a member: name -> address (immutable, swapped
// whole).
type inventory map[string]net.IP

type send struct {
	to  Member
	msg []byte
}

// New joins the gossip ring as cfg.Self, with the other members of
// inventory as its seeds, and returns once memberlist listens.
func New(cfg Config, inv []Member) (*Cluster, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("gossip needs a key (--peer-key-file): without one any host on the network could answer for a node")
	}
	ip := net.ParseIP(cfg.Self.Addr)
	if ip == nil {
		return nil, fmt.Errorf("node %s: address %q in the inventory is not an IP address", cfg.Self.Name, cfg.Self.Addr)
	}
	t := cfg.Timing.withDefaults()
	c := &Cluster{cfg: cfg, t: t, log: cmpLogger(cfg.Logger), sends: make(chan send, 1024), stop: make(chan struct{}),
		members: map[string]*member{}, serveTok: float64(t.ServeBurst)}
	c.setInventory(inv)
	c.pub = newPublisher(cfg.Self.Name, uint64(time.Now().UnixNano()), t.PacketSize-400)
	c.reps = newReplicas(cfg.Self.Name, c.allowed, t.GapWait, t.Retry)
	c.reps.onApply = cfg.OnApply
	// At least as many sends as for 10 nodes: in a small cluster a delta
	// then reaches every node in one or two gossip rounds, so none is
	// left to the repair.
	c.queue = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return max(int(c.alive.Load()), 10) }, RetransmitMult: t.RetransmitMult}

	ring, err := memberlist.NewKeyring(cfg.Keys, cfg.Keys[0])
	if err != nil {
		return nil, fmt.Errorf("peer keyring: %w", err)
	}
	c.ring = ring
	logw := &mlLog{log: c.log, suspect: c.suspected}
	logger := log.New(logw, "", 0)
	tr, err := newTransport(cfg.Self.Addr, cfg.Port, c.log)
	if err != nil {
		return nil, fmt.Errorf("listen for the other nodes on %s: %w (is it this node's address, and is the port free?)",
			net.JoinHostPort(cfg.Self.Addr, strconv.Itoa(cfg.Port)), err)
	}
	c.net = tr
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Self.Name
	mc.BindAddr, mc.BindPort = cfg.Self.Addr, cfg.Port
	mc.AdvertiseAddr, mc.AdvertisePort = cfg.Self.Addr, cfg.Port
	mc.Transport = c.net
	mc.Keyring = ring
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	mc.EnableCompression = false // deltas are compact already; LZW costs CPU on every packet
	mc.Logger = logger
	t.apply(mc)
	mc.Delegate = (*delegate)(c)
	mc.Events = (*events)(c)
	mc.Alive = (*admission)(c)
	mc.Merge = (*admission)(c)
	mc.Ping = (*events)(c)
	ml, err := memberlist.Create(mc)
	if err != nil {
		c.net.Shutdown()
		return nil, fmt.Errorf("start gossip on %s:%d: %w", cfg.Self.Addr, cfg.Port, err)
	}
	c.ml = ml
	c.wg.Add(3)
	go c.sender()
	go c.loop()
	go c.reconnect(true)
	return c, nil
}

func cmpLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// SetInventory changes who may be a member (a new plan). A node that
// left the inventory is forgotten; memberlist refuses it from now on.
//
// A node put back in the inventory whose daemon ran all along is alive
// to memberlist, which therefore tells of no join: it is taken from
// memberlist's view, or it would stay unknown here.
func (c *Cluster) SetInventory(inv []Member) {
	c.setInventory(inv)
	var live []string
	if c.ml != nil {
		for _, n := range c.ml.Members() {
			live = append(live, n.Name)
		}
	}
	c.mu.Lock()
	for _, name := range live {
		if name != c.cfg.Self.Name && c.allowed(name) && c.members[name] == nil {
			*c.member(name) = member{alive: true, since: time.Now()}
			c.aliveDirty = true
			if c.onMember != nil {
				c.onMember(name, StateAlive)
			}
		}
	}
	for name := range c.reps.owners {
		if !c.allowed(name) {
			c.reps.drop(name)
		}
	}
	for name := range c.members {
		if !c.allowed(name) {
			delete(c.members, name)
		}
	}
	c.changed = true
	c.mu.Unlock()
}

func (c *Cluster) setInventory(members []Member) {
	inv := inventory{}
	for _, m := range members {
		if ip := net.ParseIP(m.Addr); ip != nil {
			inv[m.Name] = ip
		}
	}
	c.inv.Store(&inv)
}

func (c *Cluster) allowed(name string) bool {
	_, ok := (*c.inv.Load())[name]
	return ok
}

// SetTable makes t the table of this node's plan: its counts are sent in
// it, and the others' counts are read with it.
func (c *Cluster) SetTable(t *Table) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reps.current != nil && c.reps.current.ID == t.ID {
		return
	}
	c.pub.setTable(t)
	if c.reps.setTable(t) {
		c.changed = true
	}
}

// Publish makes l what this node tells; the changes go out with the next
// flush (Timing.Flush).
func (c *Cluster) Publish(l Local) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pub.setReady(l.Ready, true)
	c.pub.setHeadless(l.Headless)
	c.pub.setWorkloads(l.Workloads)
	c.pub.setPods(l.Pods)
	c.pub.setSummary(l.Summary)
	c.pub.setFacts(l.Facts)
}

// SetReady changes some of this node's ready counts, leaving the others
// (cheaper than Publish for a few changes among thousands of Services).
// It returns the version that will carry them.
func (c *Cluster) SetReady(changes map[string]int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pub.setReady(changes, false)
	return c.pub.version + 1
}

// Peers is every other node of the inventory, by name order. A peer's
// Ready map is shared with the next calls until its counts change (the
// daemon asks on every reconcile; at 1,000 nodes and 2,000 Services a
// fresh map per peer took 0.5 s): read it, never modify it.
func (c *Cluster) Peers() []Peer {
	inv := *c.inv.Load()
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	window := c.t.suspicion(int(c.alive.Load()))
	out := make([]Peer, 0, len(inv))
	for _, name := range slices.Sorted(maps.Keys(inv)) {
		if name == c.cfg.Self.Name {
			continue
		}
		p := Peer{Name: name, Addr: inv[name].String(), State: StateUnknown}
		if m := c.members[name]; m != nil {
			p.State, p.Reachable = m.state(now, window), m.reachable(now, c.t)
		}
		if ready, ok := c.reps.ready(name); ok && p.State != StateUnknown {
			p.Known, p.Ready = true, ready
			p.Workloads, p.Summary, p.Facts = c.reps.state(name)
			p.Headless = c.reps.headless(name)
			p.Pods = c.reps.pods(name)
		}
		out = append(out, p)
	}
	return out
}

// Stats returns the counters.
func (c *Cluster) Stats() Stats {
	s := Stats{BytesIn: c.net.in.Load(), BytesOut: c.net.out.Load(), Refused: c.refused.Load(), Dropped: c.dropped.Load(), Queued: c.queue.NumQueued(),
		Deltas: c.sent.deltas.Load(), DeltaBytes: c.sent.deltaBytes.Load(), Repairs: c.sent.repairs.Load(),
		Snapshots: c.sent.snapshots.Load(), SnapshotBytes: c.sent.snapshotBytes.Load(),
		PushPulls: c.sent.pushPulls.Load(), PushPullBytes: c.sent.pushPullBytes.Load()}
	for _, p := range c.Peers() {
		switch p.State {
		case StateAlive:
			s.Alive++
		case StateSuspect:
			s.Suspect++
		case StateFailed:
			s.Failed++
		default:
			s.Unknown++
		}
	}
	return s
}

// SetKeys replaces the keyring (the key file changed): new keys are
// installed first, then the primary switches, then old keys go.
func (c *Cluster) SetKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return errors.New("no key")
	}
	ring := c.ring // memberlist reads the same keyring; it locks itself
	for _, k := range keys {
		if err := ring.AddKey(k); err != nil {
			return fmt.Errorf("peer keyring: %w", err)
		}
	}
	if err := ring.UseKey(keys[0]); err != nil {
		return fmt.Errorf("peer keyring: %w", err)
	}
	for _, have := range ring.GetKeys() {
		if !slices.ContainsFunc(keys, func(k []byte) bool { return string(k) == string(have) }) {
			if err := ring.RemoveKey(have); err != nil {
				return fmt.Errorf("peer keyring: %w", err)
			}
		}
	}
	return nil
}

// Close leaves the ring (the others learn at once that this daemon
// stops; its pods keep serving) and stops.
func (c *Cluster) Close() error {
	select {
	case <-c.stop:
		return nil
	default:
	}
	err := c.ml.Leave(time.Second)
	close(c.stop)
	c.wg.Wait()
	if e := c.ml.Shutdown(); err == nil {
		err = e
	}
	return err
}

// Kill stops without leaving, as a crash would (simulations).
func (c *Cluster) Kill() error {
	close(c.stop)
	c.wg.Wait()
	return c.ml.Shutdown()
}

// sender sends direct messages (snapshot requests and answers) over TCP,
// a few at a time, off memberlist's receive path.
func (c *Cluster) sender() {
	defer c.wg.Done()
	sem := make(chan struct{}, 8)
	for {
		select {
		case <-c.stop:
			return
		case s := <-c.sends:
			ip := (*c.inv.Load())[s.to.Name]
			if ip == nil {
				continue
			}
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				n := &memberlist.Node{Name: s.to.Name, Addr: ip, Port: uint16(c.cfg.Port)}
				if err := c.ml.SendReliable(n, s.msg); err != nil {
					c.log.Debug("send to another node", "node", s.to.Name, "err", err)
				}
			}()
		}
	}
}

func (c *Cluster) sendTo(name string, msg []byte) {
	select {
	case c.sends <- send{to: Member{Name: name}, msg: msg}:
	default: // full: the next round asks again
	}
}

// loop flushes this node's changes, asks for the snapshots it misses,
// and tells the daemon what changed.
func (c *Cluster) loop() {
	defer c.wg.Done()
	tick := time.NewTicker(c.t.Flush)
	defer tick.Stop()
	var notified, headsAt time.Time
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		c.mu.Lock()
		out := c.pub.flush(now)
		if len(out) > 0 {
			c.ownMoved = now
		}
		due := c.reps.due(now)
		var heads []byte
		if now.Sub(headsAt) >= c.t.Heads {
			headsAt = now
			heads = c.heads(now)
		}
		notify := c.changed && now.Sub(notified) >= c.t.Notify
		if notify {
			c.changed = false
		}
		c.checkHosts(now)
		c.mu.Unlock()
		for _, b := range out {
			c.sent.deltas.Add(1)
			c.sent.deltaBytes.Add(uint64(len(b)))
			c.queue.QueueBroadcast(broadcast(b))
		}
		if n := c.queue.NumQueued(); n > c.t.MaxQueue {
			c.queue.Prune(c.t.MaxQueue)
		}
		for _, q := range due {
			c.sendTo(q.owner, encodeRequest(q))
		}
		if heads != nil {
			c.sendHeads(heads)
		}
		if notify && c.cfg.OnChange != nil {
			notified = now
			c.cfg.OnChange()
		}
	}
}

// heads are this node's and the recently moved owners' versions, as
// much as fits a packet (nil: nothing moved). The caller holds c.mu.
func (c *Cluster) heads(now time.Time) []byte {
	limit := (c.t.PacketSize - 200) / 24
	hs := c.reps.heads(now, c.t.HeadsWindow, limit)
	if now.Sub(c.ownMoved) <= c.t.HeadsWindow && c.pub.started {
		hs = append(hs, digestEntry{owner: c.cfg.Self.Name, epoch: c.pub.epoch, version: c.pub.version})
	}
	if len(hs) == 0 {
		return nil
	}
	return encodeHeads(hs)
}

// sendHeads sends the heads to one random alive member, over UDP.
func (c *Cluster) sendHeads(b []byte) {
	inv := *c.inv.Load()
	c.mu.Lock()
	if c.aliveDirty {
		c.aliveNames = c.aliveNames[:0]
		for name, m := range c.members {
			if m.alive {
				c.aliveNames = append(c.aliveNames, name)
			}
		}
		c.aliveDirty = false
	}
	var to string
	if len(c.aliveNames) > 0 {
		to = c.aliveNames[rand.IntN(len(c.aliveNames))]
	}
	c.mu.Unlock()
	if ip := inv[to]; ip != nil {
		if err := c.ml.SendBestEffort(&memberlist.Node{Name: to, Addr: ip, Port: uint16(c.cfg.Port)}, b); err != nil {
			c.log.Debug("send heads", "node", to, "err", err)
		}
	}
}

// broadcast is one delta in memberlist's queue. Deltas never replace
// each other (each is one version), so it is a UniqueBroadcast.
type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}
func (b broadcast) UniqueBroadcast()                      {}
