package iptables

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestActiveFlows(t *testing.T) {
	pod := netip.MustParseAddr("10.88.0.5")
	max := map[uint8]uint32{1: 120, 2: 60, 3: 432000, 5: 60}
	flow := func(proto uint8, replySrc string, state uint8, timeout uint32) *netlink.ConntrackFlow {
		return &netlink.ConntrackFlow{
			Forward:   netlink.IPTuple{Protocol: proto, SrcIP: net.ParseIP("10.88.0.9"), DstIP: net.ParseIP("10.96.0.10")},
			Reverse:   netlink.IPTuple{Protocol: proto, SrcIP: net.ParseIP(replySrc), DstIP: net.ParseIP("10.88.0.9")},
			TimeOut:   timeout,
			ProtoInfo: &netlink.ProtoInfoTCP{State: state},
		}
	}
	for _, tc := range []struct {
		name string
		f    *netlink.ConntrackFlow
		want int
	}{
		{"request in flight", flow(unix.IPPROTO_TCP, "10.88.0.5", 3, 432000), 1},
		{"SYN just DNATed to the pod", flow(unix.IPPROTO_TCP, "10.88.0.5", 1, 120), 1},
		{"peer closed, pod still answering", flow(unix.IPPROTO_TCP, "10.88.0.5", 5, 60), 1},
		{"answer being computed", flow(unix.IPPROTO_TCP, "10.88.0.5", 3, 431998), 1},
		{"idle keep-alive", flow(unix.IPPROTO_TCP, "10.88.0.5", 3, 431990), 0},
		{"time wait", flow(unix.IPPROTO_TCP, "10.88.0.5", 7, 120), 0},
		{"another pod's", flow(unix.IPPROTO_TCP, "10.88.0.6", 3, 432000), 0},
		{"UDP", &netlink.ConntrackFlow{Forward: netlink.IPTuple{Protocol: unix.IPPROTO_UDP}, Reverse: netlink.IPTuple{SrcIP: net.ParseIP("10.88.0.5")}}, 0},
	} {
		if got := activeFlows([]*netlink.ConntrackFlow{tc.f}, map[netip.Addr]bool{pod: true}, max); got != tc.want {
			t.Errorf("%s: %d active, want %d", tc.name, got, tc.want)
		}
	}
}
