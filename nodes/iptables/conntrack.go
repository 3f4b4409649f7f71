package iptables

import (
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// UDP has no connection end: a conntrack entry keeps sending a client's
// datagrams to the endpoint it was DNATed to, after that endpoint left the
// service, until the client stays quiet for the conntrack timeout; and a
// client that was REJECTed keeps being rejected. As kube-proxy does, after
// a sync berth deletes the UDP entries of removed endpoints, and the
// entries of service ports that had no endpoint and now have some.

// staleUDP returns conntrack filters for the UDP flows that old's rules
// created and cur's rules no longer want.
func staleUDP(old, cur *fragment) []*netlink.ConntrackFilter {
	var filters []*netlink.ConntrackFilter
	add := func(dst netip.Addr, dport uint16, replySrc netip.Addr) {
		f := &netlink.ConntrackFilter{}
		_ = f.AddProtocol(unix.IPPROTO_UDP)
		if dst.IsValid() {
			_ = f.AddIP(netlink.ConntrackOrigDstIP, net.IP(dst.AsSlice()))
		}
		_ = f.AddPort(netlink.ConntrackOrigDstPort, dport)
		if replySrc.IsValid() {
			_ = f.AddIP(netlink.ConntrackReplySrcIP, net.IP(replySrc.AsSlice()))
		}
		filters = append(filters, f)
	}
	find := func(f *fragment, u udpPort) *udpPort {
		if f == nil {
			return nil
		}
		for i := range f.udp {
			if f.udp[i].port == u.port && f.udp[i].nodePort == u.nodePort && slices.Equal(f.udp[i].dests, u.dests) {
				return &f.udp[i]
			}
		}
		return nil
	}
	for _, o := range old.udpOrNil() {
		now := find(cur, o)
		for _, be := range o.backends {
			if now != nil && slices.Contains(now.backends, be) {
				continue
			}
			for _, d := range o.dests {
				add(d, o.port, be)
			}
			if o.nodePort != 0 {
				add(netip.Addr{}, o.nodePort, be)
			}
		}
	}
	if cur == nil {
		return filters
	}
	// A port that was REJECTing (or did not exist) and now has endpoints:
	// its un-DNATed entries go, so that the clients reach the endpoints.
	for _, c := range cur.udp {
		if was := find(old, c); len(c.backends) == 0 || (was != nil && len(was.backends) > 0) {
			continue
		}
		for _, d := range c.dests {
			add(d, c.port, netip.Addr{})
		}
	}
	return filters
}

// clearConntrack deletes the conntrack entries matching any filter, in the
// calling thread's network namespace.
func clearConntrack(filters []*netlink.ConntrackFilter) (uint, error) {
	if len(filters) == 0 {
		return 0, nil
	}
	custom := make([]netlink.CustomConntrackFilter, len(filters))
	for i, f := range filters {
		custom[i] = f
	}
	return netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, custom...)
}
