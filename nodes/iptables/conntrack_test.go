package iptables

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"berth.dev/berth/nodes"
)

func udpFlow(src, dst string, dport uint16, replySrc string) *netlink.ConntrackFlow {
	f := &netlink.ConntrackFlow{FamilyType: unix.AF_INET}
	f.Forward = netlink.IPTuple{Protocol: unix.IPPROTO_UDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst), SrcPort: 40000, DstPort: dport}
	f.Reverse = netlink.IPTuple{Protocol: unix.IPPROTO_UDP, SrcIP: net.ParseIP(replySrc), DstIP: net.ParseIP(src), SrcPort: 8080, DstPort: 40000}
	return f
}

func TestStaleUDP(t *testing.T) {
	rr := newRenderer(Config{Prefix: "BERTH"})
	route := func(bes ...string) *nodes.ServiceRoute {
		p := nodes.RoutePort{Protocol: "UDP", Port: 53, NodePort: 30053}
		for _, ip := range bes {
			p.Backends = append(p.Backends, nodes.Backend{IP: ip, Port: 8080, Weight: 1})
		}
		return &nodes.ServiceRoute{Namespace: "d", Name: "dns", ClusterIP: "10.96.0.12", Ports: []nodes.RoutePort{p}}
	}
	toP3 := udpFlow("10.244.0.11", "10.96.0.12", 53, "10.244.0.13")
	toP2 := udpFlow("10.244.0.11", "10.96.0.12", 53, "10.244.0.12")
	viaNodePort := udpFlow("192.168.50.2", "192.168.50.1", 30053, "10.244.0.13")
	rejected := udpFlow("10.244.0.11", "10.96.0.12", 53, "10.96.0.12")
	other := udpFlow("10.244.0.11", "10.96.0.99", 53, "10.244.0.13")
	cases := []struct {
		name     string
		old, cur *nodes.ServiceRoute
		match    []*netlink.ConntrackFlow
		keep     []*netlink.ConntrackFlow
	}{
		{"endpoint left", route("10.244.0.12", "10.244.0.13"), route("10.244.0.12"), []*netlink.ConntrackFlow{toP3, viaNodePort}, []*netlink.ConntrackFlow{toP2, other, rejected}},
		{"service removed", route("10.244.0.13"), nil, []*netlink.ConntrackFlow{toP3, viaNodePort}, []*netlink.ConntrackFlow{other}},
		{"endpoints came", route(), route("10.244.0.12"), []*netlink.ConntrackFlow{rejected}, []*netlink.ConntrackFlow{other}},
		{"new service", nil, route("10.244.0.12"), []*netlink.ConntrackFlow{rejected}, []*netlink.ConntrackFlow{other}},
		{"unchanged backends", route("10.244.0.12"), route("10.244.0.12"), nil, []*netlink.ConntrackFlow{toP2, toP3, rejected}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var old, cur *fragment
			if tc.old != nil {
				old = rr.fragment(tc.old)
			}
			if tc.cur != nil {
				cur = rr.fragment(tc.cur)
			}
			filters := staleUDP(old, cur)
			matches := func(fl *netlink.ConntrackFlow) bool {
				for _, f := range filters {
					if f.MatchConntrackFlow(fl) {
						return true
					}
				}
				return false
			}
			for _, fl := range tc.match {
				if !matches(fl) {
					t.Errorf("flow %v kept, want deleted", fl)
				}
			}
			for _, fl := range tc.keep {
				if matches(fl) {
					t.Errorf("flow %v deleted, want kept", fl)
				}
			}
		})
	}
}
