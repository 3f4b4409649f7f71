package gossip

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestWireRoundTrip(t *testing.T) {
	d := &delta{header: header{owner: "n1", epoch: 1 << 60, version: 300, table: 42}, flags: flagSummary | flagReset,
		entries:   []entry{{0, 1}, {1, 0}, {700, 65536}},
		workloads: []workloadEntry{{key: "DaemonSet/a/b", w: Workload{Revision: "r", Done: true}}, {key: "x", gone: true}},
		summary:   Summary{Applied: "a", PlanHash: "p", Ready: 3, Total: 4, Converged: true, Health: "healthy", Pinned: "b", Suspended: true},
		pods:      []podEntry{{key: "ns/p", pod: Pod{IP: "10.0.0.1", Labels: map[string]string{"a": "b", "c": ""}}}, {key: "ns/q", gone: true}, {key: "ns/r", pod: Pod{IP: "10.0.0.2"}}},
		facts:     []byte(`{"healthy":["a"]}`)}
	d.flags |= flagFacts
	got, err := decodeDelta(encodeDelta(d))
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("delta round trip: %+v, %v", got, err)
	}
	d.flags |= flagHeadless
	d.headless = []headlessEntry{{index: 1, pods: pods("db-0", "db-1")}, {index: 2},
		{index: 9, pods: []PodAddress{{Name: "v6", IP: netip.MustParseAddr("fd00::5")}}}}
	got, err = decodeDelta(encodeDelta(d))
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("delta round trip with headless pods: %+v, %v", got, err)
	}
	// Each optional section alone before the headless lists: facts
	// without pods, neither, pods without facts.
	for _, c := range []struct {
		facts bool
		pods  []podEntry
	}{{true, nil}, {false, nil}, {false, d.pods}} {
		o := *d
		o.pods, o.facts, o.flags = c.pods, nil, d.flags&^flagFacts
		if c.facts {
			o.facts, o.flags = d.facts, o.flags|flagFacts
		}
		got, err = decodeDelta(encodeDelta(&o))
		if err != nil || !reflect.DeepEqual(got, &o) {
			t.Fatalf("delta round trip with headless pods (facts %v, %d pods): %+v, %v", c.facts, len(c.pods), got, err)
		}
	}
	s := &snapshot{header: d.header, entries: d.entries[:1], summary: d.summary, facts: d.facts}
	gs, err := decodeSnapshot(encodeSnapshot(s))
	if err != nil || !reflect.DeepEqual(gs, s) {
		t.Fatalf("snapshot round trip: %+v, %v", gs, err)
	}
	s.headless = d.headless[:1]
	gs, err = decodeSnapshot(encodeSnapshot(s))
	if err != nil || !reflect.DeepEqual(gs, s) {
		t.Fatalf("snapshot round trip with headless pods: %+v, %v", gs, err)
	}
	// The pods NetworkPolicies select come before the headless lists.
	s.pods = []podEntry{{key: "default/web-1", pod: Pod{IP: "10.88.0.5", Labels: map[string]string{"app": "web"}}}}
	gs, err = decodeSnapshot(encodeSnapshot(s))
	if err != nil || !reflect.DeepEqual(gs, s) {
		t.Fatalf("snapshot round trip with pods and headless pods: %+v, %v", gs, err)
	}
	s.facts = nil // written empty in a snapshot, read back as none
	gs, err = decodeSnapshot(encodeSnapshot(s))
	if err != nil || !reflect.DeepEqual(gs, s) {
		t.Fatalf("snapshot round trip without facts, with pods and headless pods: %+v, %v", gs, err)
	}
	s.facts = d.facts
	d.pods = append(s.pods, podEntry{key: "default/web-2", gone: true})
	got, err = decodeDelta(encodeDelta(d))
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("delta round trip with pods and headless pods: %+v, %v", got, err)
	}
	s.headless, s.pods = nil, nil
	dg := []digestEntry{{"n1", 1, 2}, {"n3", 5, 9}}
	gd, gsn, err := decodeState(encodeState(dg, encodeSnapshot(s)))
	if err != nil || !reflect.DeepEqual(gd, dg) || !reflect.DeepEqual(gsn, s) {
		t.Fatalf("state round trip: %v %+v %v", gd, gsn, err)
	}
	for _, q := range []request{{from: "n1", owner: "n2", epoch: 5, have: 9}, {from: "n1", owner: "n2", snapshot: true}} {
		gq, err := decodeRequest(encodeRequest(q))
		if err != nil || gq != q {
			t.Fatalf("request round trip: %+v %v", gq, err)
		}
	}
	batch, err := decodeBatch(encodeBatch([][]byte{{1, 2}, {3}}))
	if err != nil || !reflect.DeepEqual(batch, [][]byte{{1, 2}, {3}}) {
		t.Fatalf("batch round trip: %v %v", batch, err)
	}
	heads, err := decodeHeads(encodeHeads(dg))
	if err != nil || !reflect.DeepEqual(heads, dg) {
		t.Fatalf("heads round trip: %v %v", heads, err)
	}
}

func TestWireBudgets(t *testing.T) {
	long := make([]byte, maxName+1)
	for i := range long {
		long[i] = 'a'
	}
	// headlessDelta is a delta whose headless lists are body: what
	// encodeDelta writes for none (an empty pod list, no lists) with the
	// count of lists cut off.
	headlessDelta := func(body ...byte) []byte {
		b := encodeDelta(&delta{header: header{owner: "n"}, flags: flagHeadless})
		return append(b[:len(b)-1], body...)
	}
	if _, err := decodeDelta(headlessDelta(1, 0, 1, 1, 'p', 4, 10, 0, 0, 1)); err != nil {
		t.Fatalf("a valid headless list: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":              nil,
		"long name":          encodeDelta(&delta{header: header{owner: string(long)}}),
		"count too big":      encodeDelta(&delta{header: header{owner: "n"}, entries: []entry{{1, maxCount + 1}}}),
		"trailing":           append(encodeDelta(&delta{header: header{owner: "n"}}), 0),
		"truncated":          encodeDelta(&delta{header: header{owner: "n"}, entries: []entry{{1, 2}}})[:20],
		"huge entry list":    {kindDelta, 1, 'n', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f},
		"address of 5 bytes": headlessDelta(1, 0, 1, 1, 'p', 5, 1, 2, 3, 4, 5),
		"huge pod list":      headlessDelta(1, 0, 0xff, 0xff, 0x03),
		"too many labels":    encodeDelta(&delta{header: header{owner: "n"}, pods: []podEntry{{key: "a/b", pod: Pod{IP: "10.0.0.1", Labels: manyLabels(maxLabels + 1)}}}}),
		"long address":       encodeDelta(&delta{header: header{owner: "n"}, pods: []podEntry{{key: "a/b", pod: Pod{IP: string(long)}}}}),
		"empty pod list":     append(encodeDelta(&delta{header: header{owner: "n"}}), 0),
	} {
		if _, err := decodeDelta(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// A snapshot's facts are always written; the pod list and the
	// headless lists after them only when not empty (the pod list empty
	// only when headless lists follow).
	snap := func(s *snapshot) []byte { s.header = header{owner: "n"}; return encodeSnapshot(s) }
	if _, err := decodeSnapshot(snap(&snapshot{headless: []headlessEntry{{index: 1, pods: pods("a")}}})); err != nil {
		t.Fatalf("a snapshot with headless lists and no pods: %v", err)
	}
	for name, b := range map[string][]byte{
		"long facts":          snap(&snapshot{facts: make([]byte, maxFacts+1)}),
		"empty pod list":      append(snap(&snapshot{}), 0),
		"empty headless list": append(snap(&snapshot{}), 0, 0),
		"trailing":            append(snap(&snapshot{pods: []podEntry{{key: "a/b", gone: true}}, headless: []headlessEntry{{index: 1, pods: pods("a")}}}), 0),
	} {
		if _, err := decodeSnapshot(b); err == nil {
			t.Errorf("snapshot %s: decoded", name)
		}
	}
	if _, err := decodeDelta(encodeDelta(&delta{header: header{owner: "n"}, flags: flagFacts, facts: make([]byte, maxFacts+1)})); err == nil {
		t.Error("a delta with facts past maxFacts decoded")
	}
}

// noHeadless is a delta with flagHeadless up to its list of headless
// Services (which a test appends).
func noHeadless() []byte {
	b := encodeDelta(&delta{header: header{owner: "n"}, flags: flagHeadless})
	if _, err := decodeDelta(b); err != nil {
		panic(err)
	}
	return b[:len(b)-1]
}

func FuzzDecode(f *testing.F) {
	f.Add(encodeDelta(&delta{header: header{owner: "n1", version: 1}, entries: []entry{{3, 4}}}))
	f.Add(encodeSnapshot(&snapshot{header: header{owner: "n1", version: 1}}))
	f.Add(encodeDelta(&delta{header: header{owner: "n1", version: 1}, flags: flagHeadless | flagReset, headless: []headlessEntry{{index: 1, pods: pods("a")}}}))
	f.Add(encodeSnapshot(&snapshot{header: header{owner: "n1", version: 1}, facts: []byte("{}"),
		pods: []podEntry{{key: "a/b", pod: Pod{IP: "10.0.0.1"}}}, headless: []headlessEntry{{index: 1, pods: pods("a")}}}))
	f.Add(encodeDelta(&delta{header: header{owner: "n1", version: 1}, flags: flagFacts | flagHeadless, facts: []byte("{}"), headless: []headlessEntry{{index: 2}}}))
	f.Add(encodeState([]digestEntry{{"a", 1, 1}}, nil))
	f.Add(encodeRequest(request{from: "a", owner: "b"}))
	f.Add(encodeBatch([][]byte{{kindDelta}}))
	f.Add(encodeHeads([]digestEntry{{"a", 1, 1}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Nothing panics or allocates past the input's size times a constant.
		_, _ = decodeDelta(b)
		_, _ = decodeSnapshot(b)
		_, _, _ = decodeState(b)
		_, _ = decodeRequest(b)
		_, _ = decodeBatch(b)
		_, _ = decodeHeads(b)
		rs := newReplicas("me", func(string) bool { return true }, time.Second, time.Second)
		rs.setTable(web)
		if d, err := decodeDelta(b); err == nil {
			rs.delta(d, t0)
		}
		if s, err := decodeSnapshot(b); err == nil {
			rs.snapshot(s, t0)
		}
	})
}
