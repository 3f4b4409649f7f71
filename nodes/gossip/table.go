package gossip

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// Table is the cluster's Services in one order: the index of a ready
// count on the wire. Every node derives the same table from the same
// plan, so a count travels as two or three bytes instead of its
// Service's name; the ID (a hash of the keys) says which table an index
// refers to.
type Table struct {
	ID    uint64
	Keys  []string // sorted, unique
	index map[string]int
}

// NewTable makes the table of keys (namespace/name), in any order.
func NewTable(keys []string) *Table {
	k := slices.Clone(keys)
	slices.Sort(k)
	k = slices.Compact(k)
	h := sha256.New()
	for _, s := range k {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	t := &Table{ID: binary.BigEndian.Uint64(h.Sum(nil)), Keys: k, index: make(map[string]int, len(k))}
	for i, s := range k {
		t.index[s] = i
	}
	return t
}

// Index is key's index, or -1.
func (t *Table) Index(key string) int {
	if i, ok := t.index[key]; ok {
		return i
	}
	return -1
}

// counts is one owner's ready counts in a table's order: a byte each,
// with the rare count of 255 or more kept aside.
type counts struct {
	v   []uint8
	big map[int]uint32
}

func newCounts(n int) counts { return counts{v: make([]uint8, n)} }

func (c *counts) get(i int) uint32 {
	if c.v[i] == 255 {
		return c.big[i]
	}
	return uint32(c.v[i])
}

func (c *counts) set(i int, n uint32) {
	if n < 255 {
		c.v[i] = uint8(n)
		delete(c.big, i)
		return
	}
	c.v[i] = 255
	if c.big == nil {
		c.big = map[int]uint32{}
	}
	c.big[i] = n
}

// remap moves c from table from to table to, by key: a Service in both
// keeps its count, a new one starts at 0. Both key lists are sorted, so
// this is one merge walk.
func (c *counts) remap(from, to *Table) counts {
	out := newCounts(len(to.Keys))
	i, j := 0, 0
	for i < len(from.Keys) && j < len(to.Keys) {
		switch a, b := from.Keys[i], to.Keys[j]; {
		case a == b:
			out.set(j, c.get(i))
			i++
			j++
		case a < b:
			i++
		default:
			j++
		}
	}
	return out
}

// nonZero lists the non-zero counts as entries.
func (c *counts) nonZero() []entry {
	var out []entry
	for i, v := range c.v {
		if v != 0 {
			out = append(out, entry{index: uint32(i), count: c.get(i)})
		}
	}
	return out
}
