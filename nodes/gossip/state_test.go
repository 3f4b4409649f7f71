package gossip

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// pair is one owner publishing and one node receiving, by hand.
type pair struct {
	t   *testing.T
	pub *publisher
	rep *replicas
	now time.Time
}

func newPair(t *testing.T, table *Table) *pair {
	p := &pair{t: t, pub: newPublisher("n2", 7, 1000), rep: newReplicas("n1", func(n string) bool { return n != "stranger" }, time.Second, 3*time.Second), now: t0}
	p.pub.setTable(table)
	p.rep.setTable(table)
	return p
}

// flush publishes and decodes the deltas, as the wire would.
func (p *pair) flush() []*delta {
	p.t.Helper()
	var out []*delta
	for _, b := range p.pub.flush(p.now) {
		d, err := decodeDelta(b)
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func (p *pair) deliver(ds ...*delta) {
	p.t.Helper()
	for _, d := range ds {
		p.rep.delta(d, p.now)
	}
}

func (p *pair) want(what string, ready map[string]int) {
	p.t.Helper()
	got, ok := p.rep.ready("n2")
	if ready == nil {
		if ok {
			p.t.Fatalf("%s: n2 known as %v, want unknown", what, got)
		}
		return
	}
	if !ok || !reflect.DeepEqual(got, ready) {
		p.t.Fatalf("%s: n2 ready %v (known %v), want %v", what, got, ok, ready)
	}
}

func (p *pair) snapshot() *snapshot {
	p.t.Helper()
	s, err := decodeSnapshot(p.pub.snapshot())
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

var web = NewTable([]string{"default/web", "default/db", "shop/cart"})

func TestDeltasInOrderAndOutOfOrder(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2}, true)
	p.deliver(p.flush()...)
	p.want("first version (a reset)", map[string]int{"default/web": 2})

	p.pub.setReady(map[string]int{"default/web": 1, "shop/cart": 3}, true)
	v2 := p.flush()
	p.pub.setReady(map[string]int{"shop/cart": 3}, true)
	v3 := p.flush()
	p.deliver(v3...)
	p.want("v3 before v2 waits", map[string]int{"default/web": 2})
	if due := p.rep.due(p.now); len(due) != 0 {
		t.Fatalf("a gap asks for a snapshot at once: %v", due)
	}
	p.deliver(v2...)
	p.want("v2 then v3", map[string]int{"shop/cart": 3})
	p.deliver(v2...)
	p.deliver(v3...)
	p.want("duplicates change nothing", map[string]int{"shop/cart": 3})
	if fresh, _ := p.rep.delta(v2[0], p.now); fresh {
		t.Error("a duplicate is fresh: it would be gossiped again")
	}
}

func TestGapFetchesSnapshot(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2}, true)
	p.deliver(p.flush()...)
	p.pub.setReady(map[string]int{"default/web": 3}, true)
	p.flush() // lost
	p.pub.setReady(map[string]int{"default/web": 3, "default/db": 1}, true)
	p.deliver(p.flush()...)
	p.want("stuck behind the lost version", map[string]int{"default/web": 2})
	p.now = p.now.Add(500 * time.Millisecond)
	if due := p.rep.due(p.now); len(due) != 0 {
		t.Fatalf("asked before the gap wait: %v", due)
	}
	p.now = p.now.Add(time.Second)
	if due := p.rep.due(p.now); len(due) != 1 || due[0] != (request{from: "n1", owner: "n2", epoch: 7, have: 1}) {
		t.Fatalf("due after the gap wait = %+v, want n2 from version 1", due)
	}
	if due := p.rep.due(p.now.Add(time.Second)); len(due) != 0 {
		t.Fatalf("asked again before the retry: %v", due)
	}
	// The owner answers with the deltas that follow version 1.
	ds, ok := p.pub.since(request{epoch: 7, have: 1})
	if !ok || len(ds) != 2 {
		t.Fatalf("since(1): %d deltas, %v", len(ds), ok)
	}
	for _, b := range ds {
		d, err := decodeDelta(b)
		if err != nil {
			t.Fatal(err)
		}
		p.deliver(d)
	}
	p.want("after the missing deltas", map[string]int{"default/web": 3, "default/db": 1})
	if _, ok := p.pub.since(request{epoch: 6, have: 1}); ok {
		t.Error("deltas of another incarnation")
	}
	if due := p.rep.due(p.now.Add(time.Minute)); len(due) != 0 {
		t.Fatalf("still due after the snapshot: %v", due)
	}
}

// A replica marked behind that has what it wanted (caught up without a
// drain) asks nothing: it would otherwise ask every retry, and be sent
// the same deltas each time.
func TestCaughtUpAsksNothing(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2}, true)
	p.deliver(p.flush()...)
	r := p.rep.owners["n2"]
	r.want, r.behind, r.fetchNow = r.version, p.now, true
	if due := p.rep.due(p.now.Add(time.Minute)); len(due) != 0 {
		t.Fatalf("a replica that has its wanted version asks: %+v", due)
	}
	if !r.behind.IsZero() || r.fetchNow {
		t.Error("still marked behind")
	}
	p.rep.learn([]digestEntry{{owner: "n2", epoch: 7, version: r.version + 1}}, p.now)
	if due := p.rep.due(p.now.Add(time.Minute)); len(due) != 1 {
		t.Fatalf("a replica behind a known version does not ask: %+v", due)
	}
}

func TestLateJoinerFetches(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2}, true)
	p.flush() // the reset, before this node listened
	p.pub.setReady(map[string]int{"default/web": 1}, true)
	p.deliver(p.flush()...)
	p.want("no base", nil)
	if due := p.rep.due(p.now); len(due) != 1 || due[0].have != 0 {
		t.Fatalf("a node without a base asks at once, from nothing; due = %+v", due)
	}
	p.rep.snapshot(p.snapshot(), p.now)
	p.want("snapshot", map[string]int{"default/web": 1})
}

func TestNewIncarnation(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2}, true)
	p.deliver(p.flush()...)
	for range 3 {
		p.pub.setReady(map[string]int{"default/web": 1}, true)
		p.deliver(p.flush()...)
		p.pub.setReady(map[string]int{"default/web": 2}, true)
		p.deliver(p.flush()...)
	}
	// The daemon restarts: a new epoch, versions from 1 again.
	old := p.pub
	p.pub = newPublisher("n2", 8, 1000)
	p.pub.setTable(web)
	p.pub.setReady(map[string]int{"shop/cart": 1}, true)
	p.deliver(p.flush()...)
	p.want("new incarnation", map[string]int{"shop/cart": 1})
	old.setReady(map[string]int{"default/web": 5}, true)
	p.deliver(p.flush()...)
	p.deliver(func() []*delta { p2 := *p; p2.pub = old; return p2.flush() }()...)
	p.want("the old incarnation is ignored", map[string]int{"shop/cart": 1})
}

func TestTableChangeRemaps(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2, "shop/cart": 1}, true)
	p.deliver(p.flush()...)
	// A commit adds a Service before the others, and removes one: every
	// index moves.
	next := NewTable([]string{"a/first", "default/web", "shop/cart"})
	p.pub.setTable(next)
	p.pub.setReady(map[string]int{"default/web": 2, "shop/cart": 1, "a/first": 4}, true)
	ds := p.flush()
	if len(ds) != 1 || len(ds[0].entries) != 1 {
		t.Fatalf("a table change sends only the new Service's count: %+v", ds)
	}
	p.deliver(ds...)
	p.want("before this node has the table", map[string]int{"default/web": 2, "shop/cart": 1})
	p.rep.setTable(next)
	p.want("remapped", map[string]int{"a/first": 4, "default/web": 2, "shop/cart": 1})
}

func TestSnapshotWaitsForItsTable(t *testing.T) {
	p := newPair(t, web)
	next := NewTable([]string{"x/y"})
	p.pub.setTable(next)
	p.pub.setReady(map[string]int{"x/y": 2}, true)
	p.flush()
	p.rep.snapshot(p.snapshot(), p.now)
	p.want("snapshot in an unknown table", nil)
	p.rep.setTable(next)
	p.want("the table came", map[string]int{"x/y": 2})
}

func TestBigChangeIsFetched(t *testing.T) {
	keys := make([]string, 5000)
	for i := range keys {
		keys[i] = fmt.Sprintf("ns/svc-%04d", i)
	}
	big := NewTable(keys)
	p := newPair(t, big)
	p.pub.setReady(map[string]int{keys[0]: 1}, true)
	p.deliver(p.flush()...)
	all := map[string]int{}
	for i, k := range keys {
		all[k] = 1 + i%300 // some above 255
	}
	p.pub.setReady(all, true)
	ds := p.flush()
	if len(ds) != 1 || ds[0].flags&flagFetch == 0 {
		t.Fatalf("5000 changes: %d deltas, flags %v; want one with flagFetch", len(ds), ds[0].flags)
	}
	p.deliver(ds...)
	if due := p.rep.due(p.now); len(due) != 1 {
		t.Fatalf("flagFetch does not fetch at once: %v", due)
	}
	p.rep.snapshot(p.snapshot(), p.now)
	p.want("fetched", all)

	// A medium change is chunked into several deltas that each fit.
	for i, k := range keys[:600] {
		all[k] = 2 + i%3
	}
	p.pub.setReady(all, true)
	ds = p.flush()
	if len(ds) < 2 || len(ds) > maxChunks {
		t.Fatalf("600 changes in %d deltas", len(ds))
	}
	for _, b := range p.pub.flush(p.now) {
		t.Fatalf("nothing changed, yet %d bytes", len(b))
	}
	p.deliver(ds...)
	p.want("chunked", all)
}

func TestWorkloadsAndSummary(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(nil, true)
	p.pub.setWorkloads(map[string]Workload{"DaemonSet/default/agent": {Revision: "a", Done: true, Available: true}})
	p.pub.setSummary(Summary{Applied: "abc", PlanHash: "h", Ready: 2, Total: 2, Converged: true})
	p.deliver(p.flush()...)
	ws, sum, _ := p.rep.state("n2")
	if ws["DaemonSet/default/agent"].Revision != "a" || sum.Applied != "abc" || !sum.Converged {
		t.Fatalf("state %v %+v", ws, sum)
	}
	p.pub.setWorkloads(map[string]Workload{"DaemonSet/default/agent": {Revision: "b"}})
	p.pub.setSummary(Summary{Applied: "abc", PlanHash: "h", Ready: 1, Total: 2, Converged: true})
	p.now = p.now.Add(time.Second)
	p.deliver(p.flush()...)
	ws, sum, _ = p.rep.state("n2")
	if ws["DaemonSet/default/agent"] != (Workload{Revision: "b"}) || sum.Ready != 2 {
		t.Fatalf("after a second: %v %+v (pod counts wait %v)", ws, sum, summaryEvery)
	}
	p.pub.setSummary(Summary{Applied: "def", PlanHash: "h", Ready: 1, Total: 2})
	p.deliver(p.flush()...)
	if _, sum, _ = p.rep.state("n2"); sum.Applied != "def" || sum.Ready != 1 {
		t.Fatalf("a new revision goes out at once: %+v", sum)
	}
	p.now = p.now.Add(summaryEvery)
	p.pub.setWorkloads(nil)
	p.pub.setSummary(Summary{Applied: "def", PlanHash: "h", Ready: 2, Total: 2})
	p.deliver(p.flush()...)
	ws, sum, _ = p.rep.state("n2")
	if len(ws) != 0 || sum.Ready != 2 {
		t.Fatalf("later: %v %+v", ws, sum)
	}
}

// A workload's word over one packet (a StatefulSet with hundreds of
// ordinals on this node) goes with the snapshot, as a big headless list
// does, not as a delta no packet can carry.
func TestBigWorkloadWordIsFetched(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(nil, true)
	p.deliver(p.flush()...)
	big := Workload{Revision: "a", Ordinals: strings.Repeat("x", 2*p.pub.limit)}
	p.pub.setWorkloads(map[string]Workload{"StatefulSet/default/db": big})
	ds := p.flush()
	if len(ds) != 1 || ds[0].flags&flagFetch == 0 {
		t.Fatalf("a %d-byte word: %d deltas, want one with flagFetch", len(big.Ordinals), len(ds))
	}
	p.deliver(ds...)
	p.rep.snapshot(p.snapshot(), p.now)
	if ws, _, _ := p.rep.state("n2"); ws["StatefulSet/default/db"] != big {
		t.Fatalf("the word did not come with the snapshot: %d workloads", len(ws))
	}
}

// A node's pods (addresses and labels, for NetworkPolicies) reach the
// others: all at first, then what changed and what went.
func TestPods(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(nil, true)
	pods := map[string]Pod{
		"default/web-1": {IP: "10.88.1.5", Labels: map[string]string{"app": "web"}},
		"default/web-2": {IP: "10.88.1.6", Labels: map[string]string{"app": "web", "tier": "front"}},
	}
	p.pub.setPods(pods)
	p.deliver(p.flush()...)
	if got := p.rep.pods("n2"); !reflect.DeepEqual(got, pods) {
		t.Fatalf("pods %v, want %v", got, pods)
	}
	p.pub.setPods(map[string]Pod{
		"default/web-1": {IP: "10.88.1.5", Labels: map[string]string{"app": "web", "v": "2"}},
		"default/web-3": {IP: "10.88.1.7"},
	})
	ds := p.flush()
	if len(ds) != 1 || len(ds[0].pods) != 3 {
		t.Fatalf("deltas %+v, want one with a changed, a new and a gone pod", ds)
	}
	p.deliver(ds...)
	got := p.rep.pods("n2")
	if len(got) != 2 || got["default/web-1"].Labels["v"] != "2" || got["default/web-3"].IP != "10.88.1.7" {
		t.Fatalf("pods %v", got)
	}
	if ds := p.flush(); len(ds) != 0 {
		t.Errorf("nothing changed, yet %d deltas", len(ds))
	}
	// A node that joins late gets them from the snapshot.
	late := newReplicas("n3", func(string) bool { return true }, time.Second, time.Second)
	late.setTable(web)
	s, err := decodeSnapshot(p.pub.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	late.snapshot(s, p.now)
	if got := late.pods("n2"); !reflect.DeepEqual(got, p.rep.pods("n2")) {
		t.Errorf("from the snapshot %v, want %v", got, p.rep.pods("n2"))
	}
}

// TestFacts: a node's revision facts go out whole when they change, in
// the delta when they fit a packet, else through the snapshot; the
// summary carries the operator's state.
func TestFacts(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(nil, true)
	p.pub.setSummary(Summary{Applied: "abc", Health: "failed", Pinned: "def", Suspended: true})
	p.pub.setFacts([]byte(`{"failed":["abc"]}`))
	p.deliver(p.flush()...)
	_, sum, facts := p.rep.state("n2")
	if string(facts) != `{"failed":["abc"]}` || sum.Health != "failed" || sum.Pinned != "def" || !sum.Suspended {
		t.Fatalf("first: %q %+v", facts, sum)
	}
	if ds := p.flush(); len(ds) != 0 {
		t.Fatalf("unchanged facts sent again: %d deltas", len(ds))
	}
	big := []byte(strings.Repeat("x", 2048))
	p.pub.setFacts(big)
	ds := p.pub.flush(p.now)
	if len(ds) != 1 {
		t.Fatalf("%d deltas", len(ds))
	}
	if d, err := decodeDelta(ds[0]); err != nil || d.flags&flagFetch == 0 {
		t.Fatalf("facts over a packet not announced for a fetch: %+v %v", d, err)
	}
	if len(ds[0]) > p.pub.limit {
		t.Fatalf("delta of %d bytes over the limit %d", len(ds[0]), p.pub.limit)
	}
	s, err := decodeSnapshot(p.pub.snapshot())
	if err != nil || !bytes.Equal(s.facts, big) {
		t.Fatalf("snapshot facts: %v", err)
	}
	p.pub.setFacts(make([]byte, maxFacts+1))
	if p.pub.facts != nil {
		t.Fatal("facts over maxFacts kept")
	}
}

func TestStrangersAndSelfIgnored(t *testing.T) {
	p := newPair(t, web)
	p.pub.name = "stranger"
	p.pub.setReady(map[string]int{"default/web": 9}, true)
	for _, d := range p.flush() {
		if fresh, _ := p.rep.delta(d, p.now); fresh {
			t.Error("a delta of a node outside the inventory is gossiped on")
		}
	}
	if len(p.rep.owners) != 0 {
		t.Errorf("state kept for a stranger: %v", slices.Collect(maps.Keys(p.rep.owners)))
	}
	p.pub.name = "n1"
	p.pub.epoch++
	p.pub.started = false
	p.deliver(p.flush()...)
	if len(p.rep.owners) != 0 {
		t.Error("this node's own state came back as another's")
	}
}

func TestDigestRepairs(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2}, true)
	p.deliver(p.flush()...)
	p.pub.setReady(map[string]int{"default/web": 1}, true)
	p.flush() // lost, and nothing follows it
	p.rep.learn([]digestEntry{{owner: "n2", epoch: 7, version: p.pub.version}}, p.now)
	if due := p.rep.due(p.now); len(due) != 0 {
		t.Fatalf("a digest fetches before gossip had its chance: %v", due)
	}
	if due := p.rep.due(p.now.Add(2 * time.Second)); len(due) != 1 {
		t.Fatalf("a digest ahead does not fetch after the gap wait: %v", due)
	}
}

func pods(names ...string) []PodAddress {
	out := make([]PodAddress, len(names))
	for i, n := range names {
		out[i] = PodAddress{Name: n, IP: netip.AddrFrom4([4]byte{10, 88, 1, byte(i + 2)})}
	}
	return out
}

// TestHeadlessPods: the ready pods of headless Services travel with the
// counts: in the first version, as changes (a list replaces the one
// before; an empty one removes it), through a table change (by key), and
// in snapshots; a list too big for a packet is fetched.
func TestHeadlessPods(t *testing.T) {
	p := newPair(t, web)
	wantHeadless := func(what string, want map[string][]PodAddress) {
		t.Helper()
		if got := p.rep.headless("n2"); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: headless %v, want %v", what, got, want)
		}
	}
	p.pub.setReady(map[string]int{"default/db": 2}, true)
	p.pub.setHeadless(map[string][]PodAddress{"default/db": {pods("db-1", "db-0")[1], pods("db-1", "db-0")[0]}})
	p.deliver(p.flush()...)
	wantHeadless("first version", map[string][]PodAddress{"default/db": {pods("db-1", "db-0")[1], pods("db-1", "db-0")[0]}})

	p.pub.setHeadless(map[string][]PodAddress{"default/db": pods("db-0"), "shop/cart": pods("cart-a")})
	ds := p.flush()
	if len(ds) != 1 || len(ds[0].headless) != 2 || len(ds[0].entries) != 0 {
		t.Fatalf("a change of two lists: %+v", ds)
	}
	p.pub.setHeadless(map[string][]PodAddress{"default/db": pods("db-0"), "shop/cart": pods("cart-a")})
	if ds := p.flush(); len(ds) != 0 {
		t.Fatalf("the same lists again: %+v", ds)
	}
	p.deliver(ds...)
	wantHeadless("changed", map[string][]PodAddress{"default/db": pods("db-0"), "shop/cart": pods("cart-a")})

	// A new table moves every index; the lists stay with their keys, and
	// a Service gone from the table is forgotten.
	next := NewTable([]string{"a/first", "default/db"})
	p.pub.setTable(next)
	p.pub.setHeadless(map[string][]PodAddress{"default/db": pods("db-0"), "shop/cart": pods("cart-a")})
	p.deliver(p.flush()...)
	p.rep.setTable(next)
	wantHeadless("new table", map[string][]PodAddress{"default/db": pods("db-0")})

	p.pub.setHeadless(nil)
	p.deliver(p.flush()...)
	wantHeadless("none ready", nil)

	// 200 ready pods of one Service do not fit a packet: fetched.
	var many []string
	for i := range 200 {
		many = append(many, fmt.Sprintf("db-%03d", i))
	}
	p.pub.setHeadless(map[string][]PodAddress{"default/db": pods(many...)})
	ds = p.flush()
	if len(ds) != 1 || ds[0].flags&flagFetch == 0 {
		t.Fatalf("a list over a packet: %d deltas, flags %v; want one with flagFetch", len(ds), ds[0].flags)
	}
	p.deliver(ds...)
	p.rep.snapshot(p.snapshot(), p.now)
	wantHeadless("fetched", map[string][]PodAddress{"default/db": pods(many...)})
}

func manyLabels(n int) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprint("k", i)] = "v"
	}
	return out
}

// TestPodsAndHeadless: the pods NetworkPolicies select and the ready pods
// of headless Services travel together, in deltas (either alone, or
// both) and in snapshots.
func TestPodsAndHeadless(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/db": 1}, true)
	client := map[string]Pod{"default/client-1": {IP: "10.88.1.9", Labels: map[string]string{"app": "client"}}}
	db := map[string][]PodAddress{"default/db": pods("db-0")}
	p.pub.setPods(client)
	p.pub.setHeadless(db)
	p.deliver(p.flush()...)
	if got := p.rep.pods("n2"); !reflect.DeepEqual(got, client) {
		t.Fatalf("first version: pods %v, want %v", got, client)
	}
	if got := p.rep.headless("n2"); !reflect.DeepEqual(got, db) {
		t.Fatalf("first version: headless %v, want %v", got, db)
	}
	// The headless list alone changes (an empty pod list goes before it),
	// then the pods alone.
	p.pub.setHeadless(nil)
	p.deliver(p.flush()...)
	client["default/client-2"] = Pod{IP: "10.88.1.10"}
	p.pub.setPods(client)
	p.deliver(p.flush()...)
	if got := p.rep.pods("n2"); !reflect.DeepEqual(got, client) {
		t.Fatalf("pods %v, want %v", got, client)
	}
	if got := p.rep.headless("n2"); len(got) != 0 {
		t.Fatalf("headless %v, want none", got)
	}
	p.pub.setHeadless(db)
	p.deliver(p.flush()...)
	late := newReplicas("n3", func(string) bool { return true }, time.Second, time.Second)
	late.setTable(web)
	s, err := decodeSnapshot(p.pub.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	late.snapshot(s, p.now)
	if got := late.pods("n2"); !reflect.DeepEqual(got, client) {
		t.Errorf("from the snapshot: pods %v, want %v", got, client)
	}
	if got := late.headless("n2"); !reflect.DeepEqual(got, db) {
		t.Errorf("from the snapshot: headless %v, want %v", got, db)
	}
}

// ready's map is made once per version of an owner's counts, and made
// again when they change.
func TestReadyMapReused(t *testing.T) {
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 2}, true)
	p.deliver(p.flush()...)
	a, _ := p.rep.ready("n2")
	b, _ := p.rep.ready("n2")
	if reflect.ValueOf(a).Pointer() != reflect.ValueOf(b).Pointer() {
		t.Error("a second map for the same counts")
	}
	p.pub.setReady(map[string]int{"default/web": 3}, true)
	p.deliver(p.flush()...)
	p.want("after a delta", map[string]int{"default/web": 3})
	if a["default/web"] != 2 {
		t.Error("the map handed out before changed under its reader")
	}
	p.rep.snapshot(p.snapshot(), p.now) // same version: ignored
	p.pub.setReady(map[string]int{"default/db": 1}, true)
	p.flush()
	p.rep.snapshot(p.snapshot(), p.now)
	p.want("after a snapshot", map[string]int{"default/db": 1})
}
