// Package address assigns what a revision addresses by value: Service
// ClusterIPs and NodePorts, and PersistentVolumeClaim bindings; and it
// resolves each Service's endpoints once the pods are placed.
//
// Every assignment is a pure function of the repository. An address is
// derived from the identity of its owner (a hash), so it does not depend
// on which other objects exist: adding or removing a Service moves no
// other Service, except in the rare case that the new one's first choice
// is the address another one holds (probability about n/2^20 in the
// default /12 for n services; write spec.clusterIP to pin an address).
package address

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
)

// Defaults of the address ranges.
const (
	DefaultServiceCIDR = "10.96.0.0/12"
	NodePortMin        = 30000
	NodePortMax        = 32767
)

// slotHash is the first-choice slot of an identity in a range of size.
func slotHash(identity string, size uint64) uint64 {
	sum := sha256.Sum256([]byte(identity))
	return binary.BigEndian.Uint64(sum[:8]) % size
}

// probe gives each identity (sorted, unique) a free slot in [0, size):
// in round k every identity still waiting tries its first choice plus k;
// within a round, identities take slots in sorted order. An identity
// therefore only loses its first choice to one whose first choice it is
// too (or which reached it in an earlier round), which keeps the result
// independent of unrelated identities. taken holds pre-assigned slots
// and is filled in. Identities left without a slot (range full) are
// returned.
func probe(ids []string, size uint64, taken map[uint64]string) (map[string]uint64, []string) {
	first := make(map[string]uint64, len(ids))
	for _, id := range ids {
		first[id] = slotHash(id, size)
	}
	out := make(map[string]uint64, len(ids))
	pending := ids
	for k := uint64(0); len(pending) > 0 && k < size; k++ {
		var next []string
		for _, id := range pending {
			s := (first[id] + k) % size
			if _, ok := taken[s]; ok {
				next = append(next, id)
				continue
			}
			taken[s] = id
			out[id] = s
		}
		pending = next
	}
	return out, pending
}

// cidr is a range of IPv4 or IPv6 addresses.
type cidr struct {
	prefix netip.Prefix
	size   uint64 // usable addresses, capped
}

func parseCIDR(s string) (cidr, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return cidr{}, fmt.Errorf("service CIDR %q: %w", s, err)
	}
	p = p.Masked()
	bits := p.Addr().BitLen() - p.Bits()
	size := uint64(1) << min(bits, 62)
	if size < 4 {
		return cidr{}, fmt.Errorf("service CIDR %q is too small", s)
	}
	// The network address and the first host (kubernetes.default in a
	// cluster) are never handed out; nor is the IPv4 broadcast address.
	return cidr{prefix: p, size: size - 3}, nil
}

// addr is the slot-th usable address.
func (c cidr) addr(slot uint64) netip.Addr {
	return addOffset(c.prefix.Addr(), slot+2)
}

// slot is the inverse of addr; ok is false outside the usable range.
func (c cidr) slot(a netip.Addr) (uint64, bool) {
	if !c.prefix.Contains(a) {
		return 0, false
	}
	base := new(big.Int).SetBytes(c.prefix.Addr().AsSlice())
	off := new(big.Int).Sub(new(big.Int).SetBytes(a.AsSlice()), base)
	if !off.IsUint64() || off.Uint64() < 2 || off.Uint64()-2 >= c.size {
		return 0, false
	}
	return off.Uint64() - 2, true
}

func addOffset(a netip.Addr, off uint64) netip.Addr {
	b := a.AsSlice()
	n := new(big.Int).SetBytes(b)
	n.Add(n, new(big.Int).SetUint64(off))
	out := n.FillBytes(make([]byte, len(b)))
	r, _ := netip.AddrFromSlice(out)
	return r
}

// Subnets assigns each name (sorted, unique) a /bits subnet of the pod
// CIDR, by the same hash-and-probe rule as ClusterIPs, so adding a node
// does not renumber the others. Names in fixed already hold a subnet.
func Subnets(podCIDR string, bits int, names []string, fixed map[string]string) (map[string]string, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w", podCIDR, err)
	}
	p = p.Masked()
	if bits < p.Bits() {
		bits = p.Bits()
	}
	size := uint64(1) << min(bits-p.Bits(), 62)
	step := uint64(1) << (p.Addr().BitLen() - bits)
	taken := map[uint64]string{}
	for name, s := range fixed {
		if q, err := netip.ParsePrefix(s); err == nil && p.Contains(q.Addr()) {
			off := new(big.Int).Sub(new(big.Int).SetBytes(q.Masked().Addr().AsSlice()), new(big.Int).SetBytes(p.Addr().AsSlice()))
			if off.IsUint64() {
				taken[off.Uint64()/step] = name
			}
		}
	}
	ids := slices.Clone(names)
	slices.Sort(ids)
	got, left := probe(ids, size, taken)
	if len(left) > 0 {
		return nil, fmt.Errorf("pod CIDR %s has no free /%d subnet for %v", podCIDR, bits, left)
	}
	out := make(map[string]string, len(got))
	for id, s := range got {
		out[id] = netip.PrefixFrom(addOffset(p.Addr(), s*step), bits).String()
	}
	return out, nil
}
