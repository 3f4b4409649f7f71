package reconciler

// Keys and fingerprints of the NetworkPolicy evaluation: what lets a
// pass reuse the last result and share rules between pods.

import (
	"cmp"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// polID names a set of policies by their keys, which stay the same from
// one plan to the next.
func (e *evaluator) polID(pols []int) string {
	var b strings.Builder
	for _, i := range pols {
		b.WriteString(e.pols[i].p.Key())
		b.WriteByte(',')
	}
	return b.String()
}

// labelsSig identifies a namespace and a label set.
func labelsSig(ns string, labels map[string]string) string {
	if len(labels) == 1 {
		for k, v := range labels {
			return ns + "\x00" + k + "\x00" + v
		}
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(ns)
	for _, k := range keys {
		b.WriteString("\x00" + k + "\x00" + labels[k])
	}
	return b.String()
}

func polKey(pols []int) string {
	var b strings.Builder
	for _, i := range pols {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(',')
	}
	return b.String()
}

func portKey(ps []plan.ContainerPort) string {
	var b strings.Builder
	for _, p := range ps {
		if p.Name != "" {
			b.WriteString(p.Name + "/" + cmp.Or(p.Protocol, "TCP") + "=" + strconv.Itoa(int(p.ContainerPort)) + ",")
		}
	}
	return b.String()
}

func rangesKey(rs []nodes.PortRange) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Protocol + strconv.Itoa(int(r.From)) + "-" + strconv.Itoa(int(r.To)) + ",")
	}
	return b.String()
}

// firewallInputs fingerprints what Firewall reads besides the plan
// (named by its revision): this node's pods and what the other nodes
// told it, so that a pass that changed neither reuses the last result.
func firewallInputs(d *Desired, observed nodes.NodeState) uint64 {
	h := fnv.New64a()
	str := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	labels := func(l map[string]string) {
		// Map order is random: add the entries' own hashes up.
		var sum uint64
		for k, v := range l {
			e := fnv.New64a()
			e.Write([]byte(k))
			e.Write([]byte{0})
			e.Write([]byte(v))
			sum += e.Sum64()
		}
		str(strconv.FormatUint(sum, 16))
	}
	str(d.Revision)
	str(d.Node)
	for i := range observed.Pods {
		p := &observed.Pods[i]
		str(p.Namespace)
		str(p.Name)
		str(p.IP)
		str(p.Hash)
		labels(p.Labels)
	}
	for _, name := range slices.Sorted(maps.Keys(d.Peers)) {
		p := d.Peers[name]
		str(name)
		str(strconv.FormatBool(p.Reachable))
		for _, pp := range p.Pods {
			str(pp.Namespace)
			str(pp.Name)
			str(pp.IP)
			labels(pp.Labels)
		}
	}
	return h.Sum64()
}
