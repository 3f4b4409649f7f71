package gossip

import (
	"reflect"
	"testing"
	"time"
)

// serve answers q as the owner's Cluster does (answer): the deltas that
// follow the asker's version while the history has them, else the
// snapshot; the request goes through the wire first.
func (p *pair) serve(q request) {
	p.t.Helper()
	q, err := decodeRequest(encodeRequest(q))
	if err != nil {
		p.t.Fatal(err)
	}
	ds, ok := p.pub.since(q)
	if !ok {
		p.rep.snapshot(p.snapshot(), p.now)
		return
	}
	for _, b := range ds {
		d, err := decodeDelta(b)
		if err != nil {
			p.t.Fatal(err)
		}
		p.deliver(d)
	}
}

// repair lets the repair run for a while: every due request is served.
func (p *pair) repair(d time.Duration) {
	p.t.Helper()
	for end := p.now.Add(d); p.now.Before(end); p.now = p.now.Add(100 * time.Millisecond) {
		for _, q := range p.rep.due(p.now) {
			p.serve(q)
		}
	}
}

func (p *pair) wantHeadless(what string, want map[string][]PodAddress) {
	p.t.Helper()
	if got := p.rep.headless("n2"); !reflect.DeepEqual(got, want) {
		p.t.Fatalf("%s: headless %v, want %v", what, got, want)
	}
}

// TestDeltaInATableNeverComing: a delta in a table this node does not
// have and will not get (the plan of a commit it skipped, or one it
// reverted and forgot) cannot apply, and the deltas after it wait
// behind it; the owner's history sends the same deltas again. Only the
// owner's snapshot repairs that: the node asks for it as soon as a later
// delta is in a table it has, instead of waiting for push/pull (tens of
// seconds, while another node's pods of a new headless Service do not
// resolve).
func TestDeltaInATableNeverComing(t *testing.T) {
	withPods := NewTable([]string{"default/web", "default/db", "default/web-pods", "shop/cart"})
	stateful := NewTable([]string{"default/web", "default/db", "default/db-0", "shop/cart"})
	for _, tc := range []struct {
		name string
		// plans moves both through the plans before the last: the
		// owner publishes a change in each; the delta of the second
		// arrives only after this node left (or skipped) its table.
		owner, node []*Table
	}{
		// A commit adds the headless Service web-pods, the next one
		// removes it: this node forgets the table of the first before
		// the owner's delta in it arrives.
		{"reverted", []*Table{withPods, web}, []*Table{withPods, web}},
		// Two commits land within one poll of this node: it never
		// compiles the first one's plan.
		{"skipped", []*Table{withPods, stateful}, []*Table{stateful}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, web)
			p.pub.setReady(map[string]int{"default/web": 1}, true)
			p.pub.setHeadless(map[string][]PodAddress{"default/db": pods("db-0")})
			p.deliver(p.flush()...)
			p.wantHeadless("first version", map[string][]PodAddress{"default/db": pods("db-0")})

			var late []*delta
			for i, tb := range tc.owner {
				p.pub.setTable(tb)
				p.pub.setSummary(Summary{Applied: tb.Keys[2]})
				ds := p.flush()
				if i == 0 {
					late = ds // in flight while this node moves on
				} else {
					p.deliver(ds...)
				}
			}
			for _, tb := range tc.node {
				p.rep.setTable(tb)
			}
			p.deliver(late...)
			// The owner's StatefulSet's second ordinal is ready.
			p.pub.setHeadless(map[string][]PodAddress{"default/db": pods("db-0", "db-1")})
			p.deliver(p.flush()...)
			p.repair(5 * time.Second)
			p.wantHeadless("after 5 s of repair", map[string][]PodAddress{"default/db": pods("db-0", "db-1")})
			if due := p.rep.due(p.now.Add(time.Minute)); len(due) != 0 {
				t.Fatalf("still asking after the repair: %+v", due)
			}
		})
	}
}

// TestLaggingNodeAsksForDeltas: a node whose plan is behind the owner's
// waits for its own plan to read the owner's deltas in its table; it
// asks for the deltas (small) when the gap lasts, not for the snapshot:
// after every commit most nodes are briefly behind some others.
func TestLaggingNodeAsksForDeltas(t *testing.T) {
	next := NewTable([]string{"default/web", "default/db", "default/db-0"})
	p := newPair(t, web)
	p.pub.setReady(map[string]int{"default/web": 1}, true)
	p.deliver(p.flush()...)
	p.pub.setTable(next)
	p.pub.setHeadless(map[string][]PodAddress{"default/db": pods("db-0")})
	p.deliver(p.flush()...)
	p.pub.setHeadless(map[string][]PodAddress{"default/db": pods("db-0", "db-1")})
	p.deliver(p.flush()...)
	p.now = p.now.Add(2 * time.Second)
	due := p.rep.due(p.now)
	if len(due) != 1 || due[0].snapshot || due[0].have != 1 {
		t.Fatalf("a node behind on its plan asks %+v, want the deltas after version 1", due)
	}
	p.rep.setTable(next)
	p.wantHeadless("its plan came", map[string][]PodAddress{"default/db": pods("db-0", "db-1")})
}
