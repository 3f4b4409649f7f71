package gossip

// Decoding the wire format wire.go encodes: every count and length is
// checked against its budget before anything is allocated.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// decoder reads what encoder wrote, within the budgets.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and checks it against max.
func (d *decoder) count(what string, max int) int {
	v := d.uvarint()
	if v > uint64(max) {
		d.fail(fmt.Errorf("%s: %d over the limit of %d", what, v, max))
		return 0
	}
	return int(v)
}

func (d *decoder) fixed64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) str(what string, max int) string {
	n := d.count(what, max)
	if d.err != nil || len(d.b) < n {
		d.fail(errShort)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) header() header {
	return header{owner: d.str("node name", maxName), epoch: d.uvarint(), version: d.uvarint(), table: d.fixed64()}
}

func (d *decoder) entries() []entry {
	n := d.count("services", maxServices)
	if d.err != nil || n > len(d.b)/2 { // each entry takes two bytes at least
		d.fail(errShort)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]entry, 0, n)
	var next uint64
	for range n {
		idx := next + d.uvarint()
		c := d.uvarint()
		if idx >= maxServices || c > maxCount {
			d.fail(fmt.Errorf("service entry %d=%d out of range", idx, c))
			return nil
		}
		out = append(out, entry{index: uint32(idx), count: uint32(c)})
		next = idx + 1
	}
	return out
}

func (d *decoder) workloads() []workloadEntry {
	n := d.count("workloads", maxWorkloads)
	if d.err != nil || n > len(d.b)/3 {
		d.fail(errShort)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]workloadEntry, 0, n)
	for range n {
		w := workloadEntry{key: d.str("workload key", maxKey)}
		w.w.Revision = d.str("revision", maxRevision)
		bits := d.byte()
		w.w.Done, w.w.Available, w.gone = bits&1 != 0, bits&2 != 0, bits&4 != 0
		if bits&8 != 0 {
			w.w.Ordinals = d.str("ordinals", maxOrdinals)
		}
		out = append(out, w)
	}
	return out
}

// pods reads what encoder.pods wrote: nothing when the message ends,
// unless headless (a delta's flagHeadless) says the list is there. An
// empty list is written only before headless lists.
func (d *decoder) pods(headless bool) []podEntry {
	if d.err != nil || (len(d.b) == 0 && !headless) {
		return nil
	}
	n := d.count("pods", maxPods)
	if d.err != nil || n > len(d.b)/2 || (n == 0 && len(d.b) == 0) {
		d.fail(errShort)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]podEntry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		p := podEntry{key: d.str("pod key", maxKey)}
		if d.byte() == 1 {
			p.gone = true
			out = append(out, p)
			continue
		}
		p.pod.IP = d.str("pod address", maxIP)
		labels := d.count("pod labels", maxLabels)
		if labels > 0 {
			p.pod.Labels = make(map[string]string, labels)
		}
		for range labels {
			k := d.str("label key", maxLabel)
			p.pod.Labels[k] = d.str("label value", maxLabel)
		}
		out = append(out, p)
	}
	return out
}

func (d *decoder) summary() Summary {
	s := Summary{Applied: d.str("applied revision", maxRevision), PlanHash: d.str("plan hash", maxRevision)}
	s.Ready, s.Total = d.count("ready pods", maxCount), d.count("pods", maxCount)
	bits := d.byte()
	s.Converged, s.Suspended = bits&1 != 0, bits&2 != 0
	s.Health, s.Pinned = d.str("health", maxRevision), d.str("pinned revision", maxRevision)
	return s
}

func (d *decoder) headless() []headlessEntry {
	n := d.count("headless services", maxServices)
	if d.err != nil || n > len(d.b)/2 { // an index and a length at least
		d.fail(errShort)
		return nil
	}
	var out []headlessEntry
	for range n {
		h := headlessEntry{}
		idx := d.uvarint()
		if idx >= maxServices {
			d.fail(fmt.Errorf("headless service %d out of range", idx))
			return nil
		}
		h.index = uint32(idx)
		m := d.count("ready pods", maxCount)
		if d.err != nil || m > len(d.b)/7 { // a name of one byte and an IPv4 address at least
			d.fail(errShort)
			return nil
		}
		for range m {
			name := d.str("pod name", maxName)
			l := int(d.byte())
			if d.err != nil || (l != 4 && l != 16) || len(d.b) < l {
				d.fail(fmt.Errorf("pod %q: an address of %d bytes", name, l))
				return nil
			}
			ip, _ := netip.AddrFromSlice(d.b[:l])
			d.b = d.b[l:]
			h.pods = append(h.pods, PodAddress{Name: name, IP: ip})
		}
		out = append(out, h)
	}
	return out
}

// facts reads a node's revision facts (nil when empty).
func (d *decoder) facts() []byte {
	if s := d.str("facts", maxFacts); s != "" {
		return []byte(s)
	}
	return nil
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail(fmt.Errorf("%d bytes after the message", len(d.b)))
	}
	return d.err
}

func decodeDelta(b []byte) (*delta, error) {
	d := decoder{b: b}
	if d.byte() != kindDelta {
		return nil, errors.New("not a delta")
	}
	m := &delta{header: d.header(), flags: d.byte()}
	m.entries = d.entries()
	m.workloads = d.workloads()
	if m.flags&flagSummary != 0 {
		m.summary = d.summary()
	}
	if m.flags&flagFacts != 0 {
		m.facts = d.facts()
	}
	m.pods = d.pods(m.flags&flagHeadless != 0)
	if m.flags&flagHeadless != 0 {
		m.headless = d.headless()
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	return m, nil
}

func decodeSnapshot(b []byte) (*snapshot, error) {
	d := decoder{b: b}
	if d.byte() != kindSnapshot {
		return nil, errors.New("not a snapshot")
	}
	s := &snapshot{header: d.header()}
	s.entries = d.entries()
	s.workloads = d.workloads()
	s.summary = d.summary()
	s.facts = d.facts()
	s.pods = d.pods(false)
	if d.err == nil && len(d.b) > 0 {
		// Trailing sections are written only when not empty.
		if s.headless = d.headless(); d.err == nil && len(s.headless) == 0 {
			d.fail(errors.New("an empty list of headless services"))
		}
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return s, nil
}

func decodeRequest(b []byte) (request, error) {
	d := decoder{b: b}
	if d.byte() != kindRequest {
		return request{}, errors.New("not a request")
	}
	r := request{from: d.str("node name", maxName), owner: d.str("node name", maxName), epoch: d.uvarint(), have: d.uvarint()}
	r.snapshot = r.epoch == 0
	if err := d.end(); err != nil {
		return request{}, fmt.Errorf("request: %w", err)
	}
	return r, nil
}

// decodeBatch splits a batch into its deltas (each still to decode).
func decodeBatch(b []byte) ([][]byte, error) {
	d := decoder{b: b}
	if d.byte() != kindBatch {
		return nil, errors.New("not a batch")
	}
	n := d.count("deltas", historyLen)
	var out [][]byte
	for i := 0; i < n && d.err == nil; i++ {
		l := d.count("delta", maxMessage)
		if d.err == nil && len(d.b) < l {
			d.fail(errShort)
		}
		if d.err == nil {
			out = append(out, d.b[:l])
			d.b = d.b[l:]
		}
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	return out, nil
}

func decodeHeads(b []byte) ([]digestEntry, error) {
	d := decoder{b: b}
	if d.byte() != kindHeads {
		return nil, errors.New("not heads")
	}
	heads := d.digest()
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	return heads, nil
}

func (d *decoder) digest() []digestEntry {
	n := d.count("digest", maxServices)
	if d.err == nil && n > len(d.b)/3 {
		d.fail(errShort)
	}
	var out []digestEntry
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, digestEntry{owner: d.str("node name", maxName), epoch: d.uvarint(), version: d.uvarint()})
	}
	return out
}

func decodeState(b []byte) ([]digestEntry, *snapshot, error) {
	d := decoder{b: b}
	if d.byte() != kindState {
		return nil, nil, errors.New("not a push/pull state")
	}
	digest := d.digest()
	own := d.count("snapshot", maxMessage)
	if d.err != nil || len(d.b) != own {
		return nil, nil, fmt.Errorf("push/pull state: %w", cmpErr(d.err, errShort))
	}
	if own == 0 {
		return digest, nil, nil
	}
	s, err := decodeSnapshot(d.b)
	if err != nil {
		return nil, nil, fmt.Errorf("push/pull state: %w", err)
	}
	return digest, s, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
