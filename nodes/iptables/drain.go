package iptables

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Draining: a pod leaves the service rules before it is stopped, but the
// connections the rules sent it just before (a request in flight, a SYN
// DNATed a moment earlier) are in conntrack and still reach it. Stopping
// it at once cuts them: "connection reset by peer", "unexpected EOF".
// Drain waits until those connections are over, as Kubernetes lets a
// terminating endpoint finish what it serves. A connection is over when
// its conntrack entry is closing or closed, or has seen no packet for
// drainQuiet: an idle keep-alive connection would hold the stop until its
// deadline, and its client opens a new one when it finds it closed. (A
// request the pod takes longer than that to answer is the pod's to finish
// after SIGTERM, as in Kubernetes.)
// Connections of other nodes' clients reach the pod through this node's
// transit ports, so they are in this node's conntrack too.

// drainQuiet is how long a connection must have been silent to count as
// over (conntrack counts in seconds).
const drainQuiet = 3 * time.Second

// drainPoll is how often Drain looks again.
const drainPoll = 100 * time.Millisecond

// tcpTimeouts are the conntrack timeouts (sysctls of the network
// namespace) of the TCP states in which a connection still carries data;
// an entry's timeout is set back to its state's value on every packet.
var tcpTimeouts = map[uint8]string{
	1: "nf_conntrack_tcp_timeout_syn_sent",
	2: "nf_conntrack_tcp_timeout_syn_recv",
	3: "nf_conntrack_tcp_timeout_established",
	5: "nf_conntrack_tcp_timeout_close_wait",
}

// Drain waits until no TCP connection served by one of ips (the pods'
// addresses) is active, or until until or ctx ends. It returns how many
// were still active then.
func (r *Router) Drain(ctx context.Context, ips []string, until time.Time) (int, error) {
	addrs := map[netip.Addr]bool{}
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && !isLocal(a) {
			addrs[a.Unmap()] = true
		}
	}
	if len(addrs) == 0 {
		return 0, nil
	}
	max, err := readTimeouts()
	if os.IsNotExist(err) {
		return 0, nil // no conntrack module: no connection is tracked
	}
	if err != nil {
		return 0, err
	}
	for {
		flows, err := netlink.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
		if err != nil {
			return 0, fmt.Errorf("list conntrack: %w", err)
		}
		n := activeFlows(flows, addrs, max)
		if n == 0 || !time.Now().Before(until) {
			return n, nil
		}
		t := time.NewTimer(min(drainPoll, time.Until(until)))
		select {
		case <-ctx.Done():
			t.Stop()
			return n, ctx.Err()
		case <-t.C:
		}
	}
}

// activeFlows counts the TCP flows answered by one of addrs that still
// carry data: in a state of max, with a packet less than drainQuiet ago
// (the entry's timeout is within drainQuiet of its state's maximum).
func activeFlows(flows []*netlink.ConntrackFlow, addrs map[netip.Addr]bool, max map[uint8]uint32) int {
	n := 0
	for _, f := range flows {
		if f.Forward.Protocol != unix.IPPROTO_TCP {
			continue
		}
		a, ok := netip.AddrFromSlice(f.Reverse.SrcIP)
		if !ok || !addrs[a.Unmap()] {
			continue
		}
		tcp, ok := f.ProtoInfo.(*netlink.ProtoInfoTCP)
		if !ok {
			continue
		}
		m, ok := max[tcp.State]
		if !ok {
			continue // closing or closed
		}
		if m-min(f.TimeOut, m) < uint32(drainQuiet/time.Second) {
			n++
		}
	}
	return n
}

// isLocal reports whether a is an address of this node: a hostNetwork
// pod's, whose connections are the node's own (never waited for).
func isLocal(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if b, ok := netip.AddrFromSlice(n.IP); ok && b.Unmap() == a.Unmap() {
				return true
			}
		}
	}
	return false
}

func readTimeouts() (map[uint8]uint32, error) {
	out := map[uint8]uint32{}
	for state, name := range tcpTimeouts {
		b, err := os.ReadFile("/proc/sys/net/netfilter/" + name)
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("conntrack timeout %s: %w", name, err)
		}
		out[state] = uint32(v)
	}
	return out, nil
}
