package daemon

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/nodeapi"
)

// peerFailures is how many polls in a row a node must miss to count as
// unreachable.
const peerFailures = 3

// readyPath is where a node tells the others its ready pods.
const readyPath = "/v1/ready"

// readyReply is the answer on readyPath.
type readyReply struct {
	Node      string                             `json:"node"`
	Ready     map[string]int                     `json:"ready"`
	Workloads map[string]reconciler.PeerWorkload `json:"workloads,omitempty"`
	// Summary is what `berth status --cluster` shows of the node.
	Summary *nodeapi.NodeSummary `json:"summary,omitempty"`
	// Facts are the node's revision facts (fleet.Facts.Encode).
	Facts json.RawMessage `json:"facts,omitempty"`
}

// local is what this node tells the others.
type local interface {
	LocalReady() (map[string]int, bool)
	LocalProgress() map[string]reconciler.PeerWorkload
}

// peerQuietGrace is how long a node that is up without a readiness answer
// (its daemon restarting: connection refused, or 503 until its first sync)
// keeps what it said last; then it counts as missing polls.
const peerQuietGrace = 5 * time.Minute

// peers shares this node's readiness with the other nodes of the
// inventory and learns theirs (reconciler.PeerReadiness): each node
// answers GET /v1/ready on --peer-port with its ready pods per service and
// its rollouts, and polls the others every --peer-interval.
//
//   - A node that answered before and then misses peerFailures polls in a
//     row (no answer at all: it is down or cut off) is unreachable and gets
//     no traffic until it answers again.
//   - A node that is up without an answer (connection refused: its daemon
//     restarts; 503: it has not synced yet) keeps what it said last, for
//     peerQuietGrace.
//   - A node that never answered, or answers 404 (an older berth), is left
//     to the schedule's weights: a firewall that blocks the port must not
//     cut traffic that the transit ports still carry.
type peers struct {
	cfg  *Config
	log  *slog.Logger
	self func() local // this node's reconciler (nil until it starts)
	poke func()       // what this node knows changed
	// summary, when set before the first plan, is this node for
	// `berth status --cluster`.
	summary func() nodeapi.NodeSummary
	client  *http.Client

	mu      sync.Mutex
	started bool
	addrs   map[string]string // the other nodes: name -> address
	state   map[string]*peerState
	// facts are this node's revision facts and the others' (facts.go).
	facts factsBox
}

type peerState struct {
	fails      int
	answered   bool // it answered once: its misses count
	reachable  bool
	warned     bool
	quietSince time.Time // up without an answer since
	ready      map[string]int
	workloads  map[string]reconciler.PeerWorkload
	summary    *nodeapi.NodeSummary
	lastOK     bool // the last poll got an answer
}

func newPeers(cfg *Config, self func() local, poke func()) *peers {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &peers{cfg: cfg, log: log.With("component", "peers"), self: self, poke: poke,
		client: &http.Client{Timeout: cmp.Or(cfg.PeerInterval, time.Second)}, state: map[string]*peerState{}}
}

// update takes the inventory of p: the nodes to poll. The first plan with
// other nodes starts the server and the polling, until ctx ends.
func (ps *peers) update(ctx context.Context, p *plan.Plan) {
	if ps.cfg.PeerPort <= 0 {
		return
	}
	addrs := map[string]string{}
	for _, n := range p.Nodes {
		if n.Node.Name != ps.cfg.Node && n.Node.Address != "" {
			addrs[n.Node.Name] = n.Node.Address
		}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for name := range ps.state {
		if addrs[name] == "" {
			delete(ps.state, name)
		}
	}
	ps.addrs = addrs
	if ps.started || len(addrs) == 0 {
		return
	}
	ps.started = true
	go ps.serve(ctx)
	go ps.loop(ctx)
}

// Peers is what this node knows of the others (reconciler.Options.Peers).
func (ps *peers) Peers() map[string]reconciler.PeerReadiness {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := map[string]reconciler.PeerReadiness{}
	for name, st := range ps.state {
		if st.answered {
			out[name] = reconciler.PeerReadiness{Reachable: st.reachable, Ready: st.ready, Workloads: st.workloads}
		}
	}
	return out
}

// Cluster is this node and the others, as last heard from (the node
// API's GET /v1/cluster).
func (ps *peers) Cluster() []nodeapi.NodeSummary {
	var out []nodeapi.NodeSummary
	if ps.summary != nil {
		out = append(out, ps.summary())
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(ps.addrs)) {
		sum := nodeapi.NodeSummary{Node: name}
		if st := ps.state[name]; st != nil {
			if st.summary != nil {
				sum = *st.summary
				sum.Node = name
			}
			sum.Answers = st.lastOK
		}
		out = append(out, sum)
	}
	return out
}

func (ps *peers) serve(ctx context.Context) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+readyPath, func(w http.ResponseWriter, r *http.Request) {
		l := ps.self()
		var reply readyReply
		ok := false
		if l != nil {
			reply.Ready, ok = l.LocalReady()
		}
		if !ok {
			http.Error(w, "not synced yet", http.StatusServiceUnavailable)
			return
		}
		reply.Node, reply.Workloads, reply.Facts = ps.cfg.Node, l.LocalProgress(), ps.facts.encoded()
		if ps.summary != nil {
			sum := ps.summary()
			reply.Summary = &sum
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply)
	})
	srv := &http.Server{Addr: net.JoinHostPort("", strconv.Itoa(ps.cfg.PeerPort)), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		ps.log.Error("serve readiness to the other nodes: they will send this node no traffic", "port", ps.cfg.PeerPort, "err", err)
	}
}

func (ps *peers) loop(ctx context.Context) {
	t := time.NewTicker(ps.cfg.PeerInterval)
	defer t.Stop()
	for {
		ps.pollAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollAll polls every other node once, and pokes the reconciler when
// what this node knows changed.
func (ps *peers) pollAll(ctx context.Context) {
	before := ps.Peers()
	ps.mu.Lock()
	addrs := maps.Clone(ps.addrs)
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for name, addr := range addrs {
		wg.Go(func() { ps.poll(ctx, name, addr) })
	}
	wg.Wait()
	if !reflect.DeepEqual(before, ps.Peers()) && ctx.Err() == nil {
		ps.poke()
	}
}

func (ps *peers) poll(ctx context.Context, name, addr string) {
	reply, err := ps.fetch(ctx, addr)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.addrs[name] != addr {
		return // the inventory changed meanwhile
	}
	st := ps.state[name]
	if st == nil {
		st = &peerState{}
		ps.state[name] = st
	}
	now := time.Now()
	st.lastOK = err == nil
	switch {
	case errors.Is(err, errNoReadiness):
		*st = peerState{}
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errNotSynced):
		// Up without its daemon's answer (a restart): its pods and rules
		// keep serving, so what it said last stands, for a while.
		if st.quietSince.IsZero() {
			st.quietSince = now
		}
		if now.Sub(st.quietSince) <= peerQuietGrace {
			st.fails = 0
		} else {
			ps.miss(name, addr, st, err)
		}
	case err != nil:
		st.quietSince = time.Time{}
		ps.miss(name, addr, st, err)
	default:
		if st.answered && !st.reachable {
			ps.log.Info("node answers again", "node", name)
		}
		*st = peerState{answered: true, reachable: true, lastOK: true, ready: reply.Ready, workloads: reply.Workloads, summary: reply.Summary}
		ps.facts.learn(name, reply.Facts)
	}
}

// miss counts a poll without an answer. The caller holds ps.mu.
func (ps *peers) miss(name, addr string, st *peerState, err error) {
	st.fails++
	switch {
	case st.fails < peerFailures:
	case st.answered && st.reachable:
		ps.log.Warn("node does not answer: no traffic to it until it does", "node", name, "address", addr, "err", err)
		st.reachable, st.ready, st.workloads = false, nil, nil
	case !st.answered && !st.warned:
		ps.log.Warn("node never answered its readiness polls: its share follows the schedule (check that the others reach its --peer-port)",
			"node", name, "address", addr, "port", ps.cfg.PeerPort, "err", err)
		st.warned = true
	}
}

// errNoReadiness is a node that does not tell its readiness (404);
// errNotSynced one that has not synced its routes yet (503).
var (
	errNoReadiness = errors.New("no readiness endpoint")
	errNotSynced   = errors.New("not synced yet")
)

func (ps *peers) fetch(ctx context.Context, addr string) (readyReply, error) {
	u := "http://" + net.JoinHostPort(addr, strconv.Itoa(ps.cfg.PeerPort)) + readyPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return readyReply{}, err
	}
	resp, err := ps.client.Do(req)
	if err != nil {
		return readyReply{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return readyReply{}, errNoReadiness
	case http.StatusServiceUnavailable:
		return readyReply{}, errNotSynced
	default:
		return readyReply{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var r readyReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return readyReply{}, fmt.Errorf("GET %s: %w", u, err)
	}
	return r, nil
}
